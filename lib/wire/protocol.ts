/**
 * The threadcount wire protocol as pure functions over text lines, no sockets:
 * parsing a request line into a command, here, and every reply, written and
 * read, in `replies.ts`, exported from here too; {@linkcode isReplyTo} pairs
 * the two.
 *
 * @module
 */
import { parseCounterModel } from "../counter/counter_model.ts";
import { MAX_CLIENT_NAME, MAX_SCHEDULE_STEPS } from "../defaults/defaults.ts";
import {
  CLIENT_NAME,
  type ErrorCode,
  escapeUnprintable,
  type Reply,
  type Setting,
} from "./replies.ts";

export * from "./replies.ts";

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
  /** `PROGRESS ON|OFF`, `COUNTER racy|locked|parallel` and `NAME alice`, acknowledged with `OK`. */
  | Extract<Setting, { kind: "progress" | "counter" | "name" }>
  /** `SCHEDULE …`, `STEP ON|OFF` (acknowledged with `OK`) and `STEP <worker>|RUN`. */
  | { kind: "stepping"; command: SteppingCommand };

/**
 * A command of stepped counts: `SCHEDULE 0 1 0 1` or `SCHEDULE OFF` and `STEP ON|OFF`
 * (settings for the next counts), or `STEP <worker>` and `STEP RUN` while a `STEP ON`
 * count runs (one step, or all the rest).
 */
export type SteppingCommand =
  | Extract<Setting, { kind: "schedule" | "step" }>
  | { kind: "step-take"; worker: number | "run" };

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
  /** Most entries of a `SCHEDULE` (default `MAX_SCHEDULE_STEPS`). */
  maxScheduleSteps?: number;
}

const COUNT_PATTERN = /^([+-]?[0-9]+)[ \t]+([+-]?[0-9]+)$/;
const PROGRESS_PATTERN = /^progress[ \t]+(on|off)$/i;
const COUNTER_PATTERN = /^counter[ \t]+([^ \t]+)$/i;
const SCHEDULE_PATTERN = /^schedule(?:[ \t]+(.*))?$/i;
const STEP_PATTERN = /^step[ \t]+(on|off|run|[0-9]{1,4})$/i;
const NAME_PATTERN = /^name[ \t]+(.*)$/i;
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
  const schedule = SCHEDULE_PATTERN.exec(text);
  if (schedule) return { kind: "stepping", command: parseSchedule(schedule[1] ?? "", options) };
  const step = STEP_PATTERN.exec(text);
  if (step) {
    const word = step[1].toUpperCase();
    const command: SteppingCommand = word === "ON" || word === "OFF"
      ? { kind: "step", on: word === "ON" }
      : { kind: "step-take", worker: word === "RUN" ? "run" : Number(word) };
    return { kind: "stepping", command };
  }
  const named = NAME_PATTERN.exec(text);
  if (named) {
    if (!CLIENT_NAME.test(named[1])) {
      throw new ProtocolError(
        "bad-request",
        `a name is 1 to ${MAX_CLIENT_NAME} letters, digits, ".", "_" or "-": got ` +
          `${quote(named[1])}; send e.g. NAME alice`,
      );
    }
    return { kind: "name", name: named[1] };
  }
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

/** `SCHEDULE 0 1 0 1` (Worker numbers) or `SCHEDULE OFF`. */
function parseSchedule(text: string, options: ParseOptions): SteppingCommand {
  const max = options.maxScheduleSteps ?? MAX_SCHEDULE_STEPS;
  if (/^off$/i.test(text)) return { kind: "schedule", steps: [] };
  const words = text.split(/[ \t,]+/).filter((word) => word !== "");
  if (words.length === 0 || words.some((word) => !/^[0-9]{1,4}$/.test(word))) {
    throw new ProtocolError(
      "bad-request",
      `expected SCHEDULE and Worker numbers, e.g. "SCHEDULE 0 1 0 1", or SCHEDULE OFF, got ` +
        quote(text),
    );
  }
  if (words.length > max) {
    throw new ProtocolError(
      "bad-request",
      `a schedule may have at most ${max} steps, got ${words.length}: send a shorter one`,
    );
  }
  return { kind: "schedule", steps: words.map(Number) };
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
  return escapeUnprintable(JSON.stringify(cut));
}

/**
 * Tells whether a reply can answer a command: an error answers any; a count
 * gets a value, `STATS` its JSON, a setting its `OK`, `STOP` its `BYE`.
 * A client that gets any other reply is not talking to a threadcount server.
 *
 * @param reply The reply, as {@linkcode parseReply} read it.
 * @param command The command it is meant to answer.
 * @returns Whether it does.
 *
 * @example
 * ```ts
 * import { isReplyTo, parseCommand, parseReply } from "./protocol.ts";
 * import assert from "node:assert/strict";
 *
 * const command = parseCommand("PROGRESS ON", { maxIncrements: 100 });
 * assert.equal(isReplyTo(parseReply("OK progress on"), command), true);
 * assert.equal(isReplyTo(parseReply("OK progress off"), command), false);
 * assert.equal(isReplyTo(parseReply("12"), command), false);
 * ```
 */
export function isReplyTo(reply: Reply, command: Command): boolean {
  if (reply.kind === "error") return true;
  switch (command.kind) {
    case "count":
      return reply.kind === "value";
    case "stats":
      return reply.kind === "stats";
    case "stop":
      return reply.kind === "bye";
    case "empty":
      return false; // the server answers nothing
    case "progress":
      return reply.kind === "ok" && reply.setting.kind === "progress" &&
        reply.setting.on === command.on;
    case "counter":
      return reply.kind === "ok" && reply.setting.kind === "counter" &&
        reply.setting.model === command.model;
    case "stepping":
      if (command.command.kind === "step-take") {
        return reply.kind === "step" || reply.kind === "value";
      }
      return reply.kind === "ok" && reply.setting.kind === command.command.kind;
    case "name":
      return reply.kind === "ok" && reply.setting.kind === "name" &&
        reply.setting.name === command.name;
  }
}
