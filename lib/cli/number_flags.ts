/**
 * Flags whose value is a number: whole numbers in a range, seconds read as
 * ms, and MB read as bytes (seconds and MB at the command line only; ms and
 * bytes in code).
 *
 * @module
 */
import { codeSpan } from "./flag_docs.ts";
import { type Flag, UsageError } from "./flags.ts";
import { MAX_TIMER_SECONDS } from "../defaults/defaults.ts";

/** Options of {@linkcode integerFlag}, {@linkcode secondsFlag} and {@linkcode megabytesFlag}. */
export interface NumberFlagOptions<D> {
  /** The value's name in the help (`N`, `SECONDS` and `MB` unless given). */
  value?: string;
  /** What the flag does. */
  description: string;
  /** The value when the flag is not given, in the unit the code uses (ms, bytes). */
  default?: D;
  /** How the help shows the default (for one that is not a plain number), in Markdown. */
  defaultText?: string;
  /** The text read when the flag is given with no value; without it, a value is required. */
  bare?: string;
  /** The smallest value accepted, in the unit typed. Defaults to 0. */
  min?: number;
  /** The largest value accepted, in the unit typed; shown in the help when given. */
  max?: number;
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
 * import { integerFlag } from "./number_flags.ts";
 * import { parseCommandLine, UsageError } from "./flags.ts";
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
 * import { secondsFlag } from "./number_flags.ts";
 * import { parseCommandLine } from "./flags.ts";
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
 * import { megabytesFlag } from "./number_flags.ts";
 * import { parseCommandLine } from "./flags.ts";
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
    defaultText: options.defaultText ?? codeSpan(fallback),
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
