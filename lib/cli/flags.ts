/**
 * One spec for a command line: the flags `node:util`'s `parseArgs` reads, the
 * checks and unit conversions of their values, and the `--help` text, all from
 * the same table, so the help cannot drift from what is accepted.
 *
 * @module
 */
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";

/** Thrown for a command line that cannot be used; the message says what was expected. */
export class UsageError extends Error {
  /** @param message What was wrong and what to type instead, on one line. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** One flag: how its value is read and how the help describes it. */
export interface Flag<T> {
  /** The value's name in the help (`N`, `FILE`); a flag without one is a switch. */
  readonly value?: string;
  /** What the flag does; the help wraps it. */
  readonly description: string;
  /** The value when the flag is not given. */
  readonly default: T;
  /** How the help shows the default; no default is shown without it. */
  readonly defaultText?: string;
  /** What the help says the flag accepts (`1 to 1024`); a number flag with a `max` says its range. */
  readonly accepts?: string;
  /** For a flag whose value may be left out (`--dashboard [PORT]`): the text it reads then. */
  readonly bare?: string;
  /**
   * Reads the value's text (a switch reads `""`).
   *
   * @throws {UsageError} For a value it cannot take; the message names `flag`.
   */
  readonly parse: (text: string, flag: string) => T;
}

/** A command's flags, by name without the dashes. */
export type Flags = Record<string, Flag<unknown>>;

/** The value of each flag of `F`, or its default. */
export type FlagValues<F extends Flags> = {
  -readonly [K in keyof F]: F[K] extends Flag<infer T> ? T : never;
};

/** A command: its name in messages, its usage line and its flags. `--help` and `-h` are added. */
export interface CommandSpec<F extends Flags> {
  /** Starts every message, e.g. `threadcount lessons`. */
  readonly name: string;
  /** The help's first line, after `Usage: `, e.g. `deno task lessons [flags]`. */
  readonly usage: string;
  /** Paragraphs between the usage line and the flags, as written. */
  readonly about?: string;
  /** Text after the flags (exit codes, examples), as written. */
  readonly epilogue?: string;
  /** The flags, in the order the help lists them. */
  readonly flags: F;
  /** Whether arguments that are not flags are accepted; they are refused otherwise. */
  readonly positionals?: boolean;
}

/** What a command line asked for. */
export interface CommandLine<F extends Flags> {
  /** Each flag's value, or its default. */
  flags: FlagValues<F>;
  /** Arguments that are not flags (always empty unless the spec accepts them). */
  positionals: string[];
  /** `--help` or `-h` was given. */
  help: boolean;
}

/** Options of {@linkcode integerFlag}, {@linkcode secondsFlag} and {@linkcode megabytesFlag}. */
export interface NumberFlagOptions<D> {
  /** The value's name in the help (`N`, `SECONDS` and `MB` unless given). */
  value?: string;
  /** What the flag does. */
  description: string;
  /** The value when the flag is not given, in the unit the code uses (ms, bytes). */
  default?: D;
  /** How the help shows the default (for one that is not a plain number). */
  defaultText?: string;
  /** The text read when the flag is given with no value; without it, a value is required. */
  bare?: string;
  /** The smallest value accepted, in the unit typed. Defaults to 0. */
  min?: number;
  /** The largest value accepted, in the unit typed; shown in the help when given. */
  max?: number;
}

/** The help's width, in columns. */
const HELP_WIDTH = 100;
/** Exit code for a command line that cannot be used. */
const USAGE_EXIT_CODE = 2;
/** The longest timer JavaScript keeps, in seconds: a longer timeout would fire at once. */
const MAX_TIMER_SECONDS = 2_147_483;

/**
 * A switch: `true` when given, `false` otherwise.
 *
 * @param description What it turns on.
 * @returns The flag.
 *
 * @example
 * ```ts
 * import { booleanFlag, parseCommandLine } from "./flags.ts";
 * import assert from "node:assert/strict";
 *
 * const command = { name: "demo", usage: "demo", flags: { quick: booleanFlag("a shorter run") } };
 * assert.equal(parseCommandLine(command, ["--quick"]).flags.quick, true);
 * assert.equal(parseCommandLine(command, []).flags.quick, false);
 * ```
 */
export function booleanFlag(description: string): Flag<boolean> {
  return { description, default: false, parse: () => true };
}

/**
 * A flag whose value is text, not empty.
 *
 * @param options Its value's name, description and default.
 * @returns The flag.
 *
 * @example
 * ```ts
 * import { parseCommandLine, stringFlag } from "./flags.ts";
 * import assert from "node:assert/strict";
 *
 * const trace = stringFlag({ value: "FILE", description: "where to write a trace" });
 * const command = { name: "demo", usage: "demo", flags: { trace } };
 * assert.equal(parseCommandLine(command, ["--trace", "run.json"]).flags.trace, "run.json");
 * assert.equal(parseCommandLine(command, []).flags.trace, undefined);
 * ```
 */
export function stringFlag<D extends string | undefined = undefined>(
  options: { value: string; description: string; default?: D },
): Flag<string | D> {
  const { value, description } = options;
  return {
    value,
    description,
    default: options.default as D,
    defaultText: options.default,
    parse: (text, flag) => {
      if (text === "") throw new UsageError(`${flag} needs a value: ${flag} ${value}`);
      return text;
    },
  };
}

/**
 * A flag whose value is a whole number in a range.
 *
 * @param options Its value's name, description, default and range.
 * @returns The flag.
 * @throws {RangeError} When `min` is above `max`.
 *
 * @example
 * ```ts
 * import { integerFlag, parseCommandLine, UsageError } from "./flags.ts";
 * import assert from "node:assert/strict";
 *
 * const workers = integerFlag({ description: "Worker threads", default: 2, min: 1, max: 64 });
 * const command = { name: "demo", usage: "demo", flags: { workers } };
 * assert.equal(parseCommandLine(command, ["--workers", "8"]).flags.workers, 8);
 * assert.throws(() => parseCommandLine(command, ["--workers", "0"]), UsageError);
 * ```
 */
export function integerFlag<D extends number | undefined = undefined>(
  options: NumberFlagOptions<D>,
): Flag<number | D> {
  return numberFlag(options, WHOLE);
}

/**
 * A flag typed in seconds, fractions allowed, read as whole milliseconds.
 *
 * @param options Its description, default (in ms) and range (in seconds).
 * @returns The flag.
 * @throws {RangeError} When `min` is above `max`.
 *
 * @example
 * ```ts
 * import { parseCommandLine, secondsFlag } from "./flags.ts";
 * import assert from "node:assert/strict";
 *
 * const grace = secondsFlag({ description: "time to finish", default: 10_000 });
 * const command = { name: "demo", usage: "demo", flags: { grace } };
 * assert.equal(parseCommandLine(command, ["--grace", "0.5"]).flags.grace, 500);
 * assert.equal(parseCommandLine(command, []).flags.grace, 10_000);
 * ```
 */
export function secondsFlag<D extends number | undefined = undefined>(
  options: NumberFlagOptions<D>,
): Flag<number | D> {
  return numberFlag(options, SECONDS);
}

/**
 * A flag typed in whole megabytes (MiB), read as bytes.
 *
 * @param options Its description, default (in bytes) and range (in MiB).
 * @returns The flag.
 * @throws {RangeError} When `min` is above `max`.
 *
 * @example
 * ```ts
 * import { megabytesFlag, parseCommandLine } from "./flags.ts";
 * import assert from "node:assert/strict";
 *
 * const most = megabytesFlag({ description: "largest trace", min: 1, max: 1024 });
 * const command = { name: "demo", usage: "demo", flags: { "trace-max-mb": most } };
 * assert.equal(parseCommandLine(command, ["--trace-max-mb", "2"]).flags["trace-max-mb"], 2 ** 21);
 * ```
 */
export function megabytesFlag<D extends number | undefined = undefined>(
  options: NumberFlagOptions<D>,
): Flag<number | D> {
  return numberFlag(options, MEGABYTES);
}

/**
 * Reads a command line against its spec.
 *
 * A value may follow its flag (`--seed -5`, even when it starts with a dash) or
 * join it (`--seed=-5`); the last of a repeated flag wins.
 *
 * @param command The spec.
 * @param args The arguments, e.g. `Deno.args`.
 * @returns Each flag's value, the positionals, and whether help was asked for (then
 *   every flag has its default).
 * @throws {UsageError} For an unknown flag, a missing or bad value, or an unexpected argument.
 *
 * @example
 * ```ts
 * import { integerFlag, parseCommandLine } from "./flags.ts";
 * import assert from "node:assert/strict";
 *
 * const command = {
 *   name: "demo",
 *   usage: "demo [flags]",
 *   flags: { increments: integerFlag({ description: "increments", default: 40, min: 1 }) },
 * };
 * const line = parseCommandLine(command, ["--increments=4"]);
 * assert.equal(line.flags.increments, 4);
 * assert.equal(parseCommandLine(command, ["-h"]).help, true);
 * ```
 */
export function parseCommandLine<F extends Flags>(
  command: CommandSpec<F>,
  args: readonly string[],
): CommandLine<F> {
  const { flags } = command;
  if (Object.hasOwn(flags, "help")) {
    throw new TypeError("'flags' must not have 'help': every command has it already");
  }
  const options: ParseArgsOptionsConfig = { help: { type: "boolean", short: "h" } };
  for (const [name, flag] of Object.entries(flags)) {
    options[name] = { type: flag.value === undefined ? "boolean" : "string" };
  }
  const joined = joinValues(args, flags);
  let parsed;
  try {
    parsed = parseArgs({
      args: joined,
      options,
      strict: true,
      allowPositionals: command.positionals ?? false,
    });
  } catch (error) {
    // node:util's advice (about `--`) does not fit these commands: keep its first sentence.
    throw new UsageError(`${(error as Error).message.split(/\.\s/)[0]}; see --help`);
  }
  const help = parsed.values.help === true;
  const values: Record<string, unknown> = {};
  for (const [name, flag] of Object.entries(flags)) {
    const given = parsed.values[name];
    // With --help, the values are not read: a bad one must not hide the help.
    values[name] = given === undefined || help
      ? flag.default
      : flag.parse(given === true ? "" : String(given), `--${name}`);
  }
  return { flags: values as FlagValues<F>, positionals: parsed.positionals, help };
}

/**
 * The `--help` text of a command: its usage line, what it says about itself,
 * and a line or more for each flag, with its default.
 *
 * @param command The spec.
 * @returns The text, with no newline at the end.
 *
 * @example
 * ```ts
 * import { booleanFlag, helpText } from "./flags.ts";
 * import assert from "node:assert/strict";
 *
 * const text = helpText({
 *   name: "bench",
 *   usage: "deno task bench [flags]",
 *   flags: { quick: booleanFlag("a shorter run") },
 * });
 * assert.match(text, /^Usage: deno task bench \[flags\]\n/);
 * assert.match(text, /\n {2}--quick +a shorter run\n/);
 * ```
 */
export function helpText<F extends Flags>(command: CommandSpec<F>): string {
  const rows: [string, string][] = Object.entries(command.flags).map(([name, flag]) => {
    const value = flag.value === undefined
      ? ""
      : flag.bare === undefined
      ? ` ${flag.value}`
      : ` [${flag.value}]`;
    const notes = [flag.accepts, flag.defaultText && `default ${flag.defaultText}`]
      .filter((note) => note);
    const said = notes.length === 0 ? "" : ` (${notes.join("; ")})`;
    return [`--${name}${value}`, flag.description + said];
  });
  rows.push(["-h, --help", "show this text"]);
  const column = Math.max(...rows.map(([left]) => left.length)) + 4;
  const lines = [`Usage: ${command.usage}`, ""];
  if (command.about !== undefined) lines.push(command.about, "");
  for (const [left, description] of rows) {
    const wrapped = wrap(description, HELP_WIDTH - column);
    lines.push(`  ${left.padEnd(column - 2)}${wrapped[0]}`);
    for (const line of wrapped.slice(1)) lines.push(" ".repeat(column) + line);
  }
  if (command.epilogue !== undefined) lines.push("", command.epilogue);
  return lines.join("\n");
}

/**
 * Reads an entry point's command line: on `--help`, prints the help and exits
 * 0; on a command line that cannot be used, prints `name: message` on one
 * line of stderr and exits 2.
 *
 * @param command The spec.
 * @param args The arguments, e.g. `Deno.args`.
 * @returns Each flag's value and the positionals, when the command is to run.
 * @throws Whatever a flag's parser throws other than {@linkcode UsageError}.
 *
 * @example
 * ```ts
 * import { booleanFlag, readCommandLine } from "./flags.ts";
 * import assert from "node:assert/strict";
 *
 * const command = { name: "demo", usage: "demo", flags: { quick: booleanFlag("shorter") } };
 * const { flags } = readCommandLine(command, ["--quick"]);
 * assert.equal(flags.quick, true);
 * ```
 */
export function readCommandLine<F extends Flags>(
  command: CommandSpec<F>,
  args: readonly string[],
): CommandLine<F> {
  let line;
  try {
    line = parseCommandLine(command, args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`${command.name}: ${error.message}`);
    Deno.exit(USAGE_EXIT_CODE);
  }
  if (line.help) {
    console.log(helpText(command));
    Deno.exit(0);
  }
  return line;
}

/** How a kind of number is typed, and how it converts to the unit the code uses. */
interface NumberKind {
  /** The value's name in the help, unless the flag names it. */
  value: string;
  /** What the value must be, as an error message says it. */
  what: string;
  /** The text a value may have. */
  pattern: RegExp;
  /** Code units per typed unit. */
  scale: number;
  /** The largest value, in typed units, when the flag sets none. */
  max: number;
}

const WHOLE: NumberKind = {
  value: "N",
  what: "a whole number",
  pattern: /^[+-]?\d+$/,
  scale: 1,
  max: Number.MAX_SAFE_INTEGER,
};
const SECONDS: NumberKind = {
  value: "SECONDS",
  what: "a number of seconds",
  pattern: /^[+-]?(\d+\.?\d*|\.\d+)$/,
  scale: 1000,
  max: MAX_TIMER_SECONDS,
};
const MEGABYTES: NumberKind = {
  value: "MB",
  what: "a whole number of MB",
  pattern: /^[+-]?\d+$/,
  scale: 2 ** 20,
  max: Math.floor(Number.MAX_SAFE_INTEGER / 2 ** 20),
};

function numberFlag<D extends number | undefined>(
  options: NumberFlagOptions<D>,
  kind: NumberKind,
): Flag<number | D> {
  const { min = 0, max = kind.max } = options;
  if (!(min <= max)) {
    throw new RangeError(`'min' must be at most 'max': received ${min} and ${max}`);
  }
  const fallback = options.default === undefined ? undefined : options.default / kind.scale;
  return {
    value: options.value ?? kind.value,
    description: options.description,
    default: options.default as D,
    defaultText: options.defaultText ?? (fallback === undefined ? undefined : String(fallback)),
    // A range with no upper bound of its own goes without saying in the help.
    accepts: options.max === undefined ? undefined : `${min} to ${max}`,
    bare: options.bare,
    parse: (text, flag) => {
      const typed = Number(text);
      if (!kind.pattern.test(text.trim()) || !(typed >= min && typed <= max)) {
        throw new UsageError(
          `${flag} must be ${kind.what} from ${min} to ${max}: received ${JSON.stringify(text)}`,
        );
      }
      return Math.round(typed * kind.scale);
    },
  };
}

/**
 * Joins each flag that takes a value to the argument after it (`--seed -5` to
 * `--seed=-5`), which parseArgs would otherwise take for a flag; a flag whose
 * value may be left out takes the next argument only when it is not a flag.
 */
function joinValues(args: readonly string[], flags: Flags): string[] {
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      joined.push(...args.slice(i));
      break;
    }
    const flag = arg.startsWith("--") && Object.hasOwn(flags, arg.slice(2))
      ? flags[arg.slice(2)]
      : undefined;
    const next = args[i + 1];
    if (flag?.value === undefined) {
      joined.push(arg);
    } else if (flag.bare !== undefined && (next === undefined || /^-(?!\d)/.test(next))) {
      joined.push(`${arg}=${flag.bare}`);
    } else if (next === undefined) {
      throw new UsageError(`${arg} needs a value: ${arg} ${flag.value}`);
    } else {
      joined.push(`${arg}=${next}`);
      i++;
    }
  }
  return joined;
}

/** Splits text into lines of at most `width` columns, at spaces (a longer word stays whole). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/)) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  lines.push(line);
  return lines;
}
