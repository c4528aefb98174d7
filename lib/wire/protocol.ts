/**
 * The threadcount wire protocol as pure functions over text lines: parsing a
 * request line into a command and formatting replies. No sockets here.
 *
 * @module
 */
import { type CounterModel, parseCounterModel } from "../counter/counter_model.ts";

/** A request to count `increments` times upward from `start`. */
export interface CountCommand {
  kind: "count";
  start: bigint;
  increments: number;
}

/** Every command a client line can carry. */
export type Command =
  | CountCommand
  | { kind: "empty" }
  | { kind: "stop" }
  | { kind: "stats" }
  | { kind: "progress"; on: boolean }
  /** `COUNTER racy|locked|parallel`: this connection's counter model, for its next counts. */
  | { kind: "counter"; model: CounterModel };

/** Codes of the `ERR <code> <message>` replies. */
export type ErrorCode =
  | "bad-request"
  | "too-many-increments"
  | "line-too-long"
  | "bad-encoding"
  | "busy"
  | "idle-timeout"
  | "shutting-down"
  | "worker-failed"
  | "too-much-work"
  | "no-workers";

/** A line that could not be parsed, with the reply code and the message for the client. */
export class ProtocolError extends Error {
  /** The reply code, as sent after `ERR`. */
  readonly code: ErrorCode;
  /**
   * @param code The reply code.
   * @param message What went wrong and what is expected instead.
   */
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = "ProtocolError";
    this.code = code;
  }
}

/** Options of {@linkcode parseCommand}. */
export interface ParseOptions {
  /** Largest `<increments>` accepted. */
  maxIncrements: number;
}

const COUNT_PATTERN = /^([+-]?[0-9]+)[ \t]+([+-]?[0-9]+)$/;
const PROGRESS_PATTERN = /^progress[ \t]+(on|off)$/i;
const COUNTER_PATTERN = /^counter[ \t]+([^ \t]+)$/i;
const EXPECTED = '"<start> <increments>", e.g. "2 10"';

/**
 * Parses one request line (without its line ending) into a command.
 *
 * @param line The line as text; surrounding spaces and tabs are ignored.
 * @param options The limits to enforce.
 * @returns The command the line carries.
 * @throws {ProtocolError} When the line is not a valid request.
 *
 * @example
 * ```ts
 * import { parseCommand } from "./protocol.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(parseCommand("2 10", { maxIncrements: 100 }), {
 *   kind: "count",
 *   start: 2n,
 *   increments: 10,
 * });
 * assert.deepEqual(parseCommand("stop", { maxIncrements: 100 }), { kind: "stop" });
 * ```
 */
export function parseCommand(line: string, options: ParseOptions): Command {
  const text = trimBlanks(line);
  if (text === "") return { kind: "empty" };
  const upper = text.toUpperCase();
  if (upper === "STOP") return { kind: "stop" };
  if (upper === "STATS") return { kind: "stats" };
  const progress = PROGRESS_PATTERN.exec(text);
  if (progress) return { kind: "progress", on: progress[1].toUpperCase() === "ON" };
  const counter = COUNTER_PATTERN.exec(text);
  if (counter) {
    try {
      return { kind: "counter", model: parseCounterModel(counter[1]) };
    } catch {
      throw new ProtocolError(
        "bad-request",
        `unknown counter model ${quote(counter[1])}: send COUNTER racy, COUNTER locked or ` +
          "COUNTER parallel",
      );
    }
  }

  const match = COUNT_PATTERN.exec(text);
  if (!match) {
    throw new ProtocolError("bad-request", `expected ${EXPECTED}, got ${quote(text)}`);
  }
  const [, startText, incrementsText] = match;
  if (incrementsText.startsWith("-") && /[1-9]/.test(incrementsText)) {
    throw new ProtocolError(
      "bad-request",
      `<increments> must be 0 or more, got ${quote(incrementsText)}`,
    );
  }
  const digits = incrementsText.replace(/^[+-]?0*/, "");
  const increments = digits === "" ? 0 : Number(digits);
  if (digits.length > 15 || increments > options.maxIncrements) {
    throw new ProtocolError(
      "too-many-increments",
      `<increments> may be at most ${options.maxIncrements}, got ${quote(incrementsText)}`,
    );
  }
  return { kind: "count", start: BigInt(startText), increments };
}

/**
 * Cuts the spaces and tabs from both ends of a line, in one pass: a regex
 * such as `/[ \t]+$/` retries at every blank of a hostile line (`x`, 4 000
 * blanks, `x`) and costs time quadratic in its length.
 *
 * @param line The line.
 * @returns The line without leading and trailing spaces and tabs.
 *
 * @example
 * ```ts
 * import { trimBlanks } from "./protocol.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(trimBlanks(" \t2 10 \t"), "2 10");
 * ```
 */
export function trimBlanks(line: string): string {
  let start = 0;
  let end = line.length;
  while (start < end && isBlank(line.charCodeAt(start))) start++;
  while (end > start && isBlank(line.charCodeAt(end - 1))) end--;
  return start === 0 && end === line.length ? line : line.slice(start, end);
}

function isBlank(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

/**
 * Formats an error reply line, newline included.
 *
 * @param code The reply code.
 * @param message What went wrong and what to do instead.
 * @returns The line `ERR <code> <message>\n`.
 *
 * @example
 * ```ts
 * import { formatError } from "./protocol.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatError("busy", "try again later"), "ERR busy try again later\n");
 * ```
 */
export function formatError(code: ErrorCode, message: string): string {
  // One line, and nothing a terminal would act on (a Worker's error may carry colour codes).
  const oneLine = message.replace(/[\r\n]+/g, " ").replace(UNPRINTABLE, (c) => unicodeEscape(c));
  return `ERR ${code} ${oneLine}\n`;
}

/** Characters a terminal acts on or that reorder text: escaped wherever client text is shown. */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu;

/** `\u001b` for ESC: as JSON writes it. */
function unicodeEscape(char: string): string {
  return `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

/**
 * Quotes a piece of client input for an error message: JSON string escapes
 * (and `\uXXXX` for every control, format or separator character, such as
 * U+009B or U+202E, that JSON leaves raw), cut to `max` characters so a
 * hostile line cannot make a huge reply.
 *
 * @param text The client's text.
 * @param max Most characters kept.
 * @returns The quoted text.
 *
 * @example
 * ```ts
 * import { quote } from "./protocol.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(quote("2 x"), '"2 x"');
 * ```
 */
export function quote(text: string, max = 60): string {
  const cut = text.length > max ? `${text.slice(0, max)}…` : text;
  return JSON.stringify(cut).replace(UNPRINTABLE, (c) => unicodeEscape(c));
}
