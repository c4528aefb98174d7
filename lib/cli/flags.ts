/**
 * One spec for a command line: the flags `node:util`'s `parseArgs` reads, the
 * checks of their values and of how they go together, and the `--help` text
 * and the docs' flag table (`flag_docs.ts`), all from the same table, so that
 * neither can drift from what is accepted. Number flags are in `number_flags.ts`.
 *
 * @module
 */
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import { codeSpan, helpText } from "./flag_docs.ts";

/** Thrown for a command line that cannot be used; the message says what was expected. */
export class UsageError extends Error {
  /** @param message What was wrong and what to type instead, on one line. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** One flag: how its value is read and how the help and the docs describe it. */
export interface Flag<T> {
  /** The value's name in the help (`N`, `FILE`); a flag without one is a switch. */
  readonly value?: string;
  /**
   * What the flag does, in Markdown: the docs' table shows it as written, the
   * help wraps it and shows code spans without their backticks.
   */
  readonly description: string;
  /** The value when the flag is not given. */
  readonly default: T;
  /** How the help and the docs show the default, in Markdown; none is shown without it. */
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
  /**
   * Checks how the flags go together (`--quiet` with `--verbose`), once each
   * has been read; not run for `--help`.
   *
   * @throws {UsageError} For flags that do not go together.
   */
  check?(flags: FlagValues<F>): void;
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

/** Exit code for a command line that cannot be used. */
const USAGE_EXIT_CODE = 2;

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

/** Options of {@linkcode stringFlag}. */
export interface StringFlagOptions<D> {
  /** The value's name in the help (`FILE`). */
  value: string;
  /** What the flag does. */
  description: string;
  /** The value when the flag is not given. */
  default?: D;
  /** How the help shows the default; the default itself, as code, unless given. */
  defaultText?: string;
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
  options: StringFlagOptions<D>,
): Flag<string | D> {
  const { value, description } = options;
  return {
    value,
    description,
    default: options.default as D,
    defaultText: options.defaultText ?? codeSpan(options.default),
    parse: (text, flag) => {
      if (text === "") throw new UsageError(`${flag} needs a value: ${flag} ${value}`);
      return text;
    },
  };
}

/** Options of {@linkcode choiceFlag}. */
export interface ChoiceFlagOptions<T extends string> {
  /** The names it accepts, in the order the help lists them. */
  choices: readonly T[];
  /** What the flag does. */
  description: string;
  /** The choice when the flag is not given. */
  default: T;
}

/**
 * A flag whose value is one of a few names, in any letter case; the help
 * names its value by them (`--model pool|per-increment`).
 *
 * @param options The names, the description and the default.
 * @returns The flag.
 * @throws {RangeError} When the default is not one of the choices.
 *
 * @example
 * ```ts
 * import { choiceFlag, parseCommandLine } from "./flags.ts";
 * import assert from "node:assert/strict";
 *
 * const model = choiceFlag({ choices: ["pool", "per-increment"], description: "how", default: "pool" });
 * const command = { name: "demo", usage: "demo", flags: { model } };
 * assert.equal(parseCommandLine(command, ["--model", "Per-Increment"]).flags.model, "per-increment");
 * assert.equal(model.value, "pool|per-increment");
 * ```
 */
export function choiceFlag<T extends string>(options: ChoiceFlagOptions<T>): Flag<T> {
  const { choices, description } = options;
  if (!choices.includes(options.default)) {
    throw new RangeError(
      `'default' must be one of the choices: received ${JSON.stringify(options.default)}`,
    );
  }
  const listed = `${choices.slice(0, -1).join(", ")} or ${choices.at(-1)}`;
  return {
    value: choices.join("|"),
    description,
    default: options.default,
    defaultText: codeSpan(options.default),
    parse: (text, flag) => {
      const choice = choices.find((name) => name.toLowerCase() === text.toLowerCase());
      if (choice === undefined) {
        throw new UsageError(`${flag} must be ${listed}: received ${JSON.stringify(text)}`);
      }
      return choice;
    },
  };
}

/**
 * Reads a command line against its spec.
 *
 * A value may follow its flag (`--seed -5`, even when it starts with a dash) or
 * join it (`--seed=-5`); the last of a repeated flag wins. A negative number
 * that is no flag's value (`-5`) is an argument, not a flag.
 *
 * @param command The spec.
 * @param args The arguments, e.g. `Deno.args`.
 * @returns Each flag's value, the positionals, and whether help was asked for (then
 *   every flag has its default).
 * @throws {UsageError} For an unknown flag, a missing or bad value, an unexpected argument,
 *   or flags that the spec's `check` refuses together.
 *
 * @example
 * ```ts
 * import { parseCommandLine } from "./flags.ts";
 * import { integerFlag } from "./number_flags.ts";
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
  const { flagArgs, positionals } = splitArgs(args, flags);
  let parsed;
  try {
    parsed = parseArgs({ args: flagArgs, options, strict: true, allowPositionals: false });
  } catch (error) {
    // node:util's advice (about `--`) does not fit these commands: keep its first sentence.
    throw new UsageError(`${(error as Error).message.split(/\.\s/)[0]}; see --help`);
  }
  const help = parsed.values.help === true;
  if (!help && !command.positionals && positionals.length > 0) {
    throw new UsageError(`Unexpected argument '${positionals[0]}'; see --help`);
  }
  const values: Record<string, unknown> = {};
  for (const [name, flag] of Object.entries(flags)) {
    const given = parsed.values[name];
    // With --help, the values are not read: a bad one must not hide the help.
    values[name] = given === undefined || help
      ? flag.default
      : flag.parse(given === true ? "" : String(given), `--${name}`);
  }
  if (!help) command.check?.(values as FlagValues<F>);
  return { flags: values as FlagValues<F>, positionals, help };
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

/**
 * Parts the arguments into what parseArgs reads (each value joined to its
 * flag, `--seed -5` to `--seed=-5`, which parseArgs would otherwise take for a
 * flag) and the positionals, in order: arguments that do not start with a
 * dash, negative numbers, `-` alone, and everything after `--`. A flag whose
 * value may be left out takes the next argument only when it is not a flag.
 */
function splitArgs(
  args: readonly string[],
  flags: Flags,
): { flagArgs: string[]; positionals: string[] } {
  const flagArgs: string[] = [];
  const positionals: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      positionals.push(...args.slice(i + 1));
      break;
    }
    const flag = arg.startsWith("--") && Object.hasOwn(flags, arg.slice(2))
      ? flags[arg.slice(2)]
      : undefined;
    const next = args[i + 1];
    if (!arg.startsWith("-") || arg === "-" || /^-\d/.test(arg)) {
      positionals.push(arg);
    } else if (flag?.value === undefined) {
      flagArgs.push(arg);
    } else if (flag.bare !== undefined && (next === undefined || /^-(?!\d)/.test(next))) {
      flagArgs.push(`${arg}=${flag.bare}`);
    } else if (next === undefined) {
      throw new UsageError(`${arg} needs a value: ${arg} ${flag.value}`);
    } else {
      flagArgs.push(`${arg}=${next}`);
      i++;
    }
  }
  return { flagArgs, positionals };
}
