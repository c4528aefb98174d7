/**
 * The server's reply lines, both ways: one `format…` function per kind of
 * reply (the server writes them) and {@linkcode parseReply}, which reads any
 * of them back into a {@linkcode Reply} (the client reads them). Only the
 * lines these functions write parse as a reply; any other line, hostile ones
 * included, parses as `malformed`. Exported again by `protocol.ts`, with the
 * requests.
 *
 * @module
 */
import { COUNTER_MODELS, type CounterModel } from "../counter/counter_model.ts";
import { parseStepLine, type StepReply } from "./step_replies.ts";

export { describeWrite, formatStep, type StepReply } from "./step_replies.ts";
import { MAX_CLIENT_NAME } from "../defaults/defaults.ts";

/** A client's name, as `NAME` takes it: 1 to {@linkcode MAX_CLIENT_NAME} of `A-Z a-z 0-9 . _ -`. */
export const CLIENT_NAME: RegExp = new RegExp(`^[A-Za-z0-9._-]{1,${MAX_CLIENT_NAME}}$`);

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
  | "no-workers"
  | "bad-proxy-header"
  | "stopped-by-teacher";

/** Whether the server closes the connection after each `ERR` code: every code is listed. */
const CLOSES_CONNECTION: Readonly<Record<ErrorCode, boolean>> = {
  "bad-request": false,
  "too-many-increments": false,
  "line-too-long": true,
  "bad-encoding": false,
  busy: true,
  "idle-timeout": true,
  "shutting-down": true,
  "worker-failed": false,
  "too-much-work": false,
  "no-workers": false,
  "bad-proxy-header": true,
  "stopped-by-teacher": true,
};

/** A connection's setting, as a client changes it (`PROGRESS ON`) and `OK` acknowledges it. */
export type Setting =
  | { kind: "progress"; on: boolean }
  /** `COUNTER racy|locked|parallel`: this connection's counter model, for its next counts. */
  | { kind: "counter"; model: CounterModel }
  /** `SCHEDULE 0 1 0 1`: the Workers' steps of the next count, in order (none: `OFF`). */
  | { kind: "schedule"; steps: number[] }
  /** `STEP ON|OFF`: whether the next count waits for a `STEP <worker>` before each step. */
  | { kind: "step"; on: boolean }
  /** `NAME alice`: what the log, the dashboard and STATS call this client instead of its port. */
  | { kind: "name"; name: string };

/** Every line the server sends, as read by {@linkcode parseReply}. */
export type Reply =
  /** A count's answer: `12`, or after `COUNTER`, `12 (3 updates lost)`. */
  | { kind: "value"; value: bigint; updatesLost?: number }
  /** `OK progress on`, `OK counter racy`: a setting is changed. */
  | { kind: "ok"; setting: Setting }
  /** `worker 1 read 0`: a step of a stepped count (`STEP <worker>`). */
  | { kind: "step"; step: StepReply }
  /** `PROGRESS <done> <total>`, while a count runs, if the client asked for it. */
  | { kind: "progress"; done: number; total: number }
  /** `BYE`, the answer to `STOP`. */
  | { kind: "bye" }
  /**
   * `ERR <code> <message>`. The code is one of {@linkcode ErrorCode} from this server; a
   * newer one may send others, so any lowercase code is read.
   */
  | { kind: "error"; code: string; message: string }
  /** The answer to `STATS`: one JSON object (its fields: `ServerStats` of the server). */
  | { kind: "stats"; stats: Record<string, unknown> }
  /** Not a line a threadcount server sends. */
  | { kind: "malformed" };

/** Characters a terminal acts on or that reorder text: escaped wherever client text is shown. */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu;
/** The same, for a test (a global pattern's `test` keeps state between calls). */
const HAS_UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

/**
 * Escapes every control, format or separator character (ESC, U+009B, U+202E…)
 * as `\uXXXX`, as JSON writes them, so that text sent to a client cannot act
 * on its terminal and stays on one line.
 *
 * @param text The text.
 * @returns The text with those characters escaped.
 *
 * @example
 * ```ts
 * import { escapeUnprintable } from "./replies.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(escapeUnprintable("a\u001b[31mb"), "a\\u001b[31mb");
 * ```
 */
export function escapeUnprintable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/**
 * Formats a count's answer, newline included.
 *
 * @param value The counter's final value.
 * @param updatesLost How many updates were lost: only for a client that sent `COUNTER`.
 * @returns `<value>\n`, or `<value> (<n> updates lost)\n` (`1 update lost`).
 * @throws {TypeError} When `value` is not a bigint.
 * @throws {RangeError} When `updatesLost` is not a whole number, 0 or more.
 *
 * @example
 * ```ts
 * import { formatValue } from "./replies.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatValue(12n), "12\n");
 * assert.equal(formatValue(-2n, 1), "-2 (1 update lost)\n");
 * ```
 */
export function formatValue(value: bigint, updatesLost?: number): string {
  if (typeof value !== "bigint") {
    throw new TypeError(`'value' must be a bigint: received ${typeof value}`);
  }
  if (updatesLost === undefined) return `${value}\n`;
  checkCount("updatesLost", updatesLost);
  return `${value} (${updatesLost} ${updatesLost === 1 ? "update" : "updates"} lost)\n`;
}

/**
 * Formats the acknowledgement of a changed setting, newline included.
 *
 * @param setting The setting, as the request carried it.
 * @returns `OK progress on|off\n` or `OK counter <model>\n`.
 * @throws {RangeError} When the setting is none the protocol knows.
 *
 * @example
 * ```ts
 * import { formatOk } from "./replies.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatOk({ kind: "progress", on: true }), "OK progress on\n");
 * assert.equal(formatOk({ kind: "counter", model: "racy" }), "OK counter racy\n");
 * ```
 */
export function formatOk(setting: Setting): string {
  if (setting.kind === "progress") return setting.on ? "OK progress on\n" : "OK progress off\n";
  if (setting.kind === "step") return setting.on ? "OK step on\n" : "OK step off\n";
  if (setting.kind === "schedule") {
    return `OK schedule ${setting.steps.length === 0 ? "off" : setting.steps.join(" ")}\n`;
  }
  if (setting.kind === "name" && CLIENT_NAME.test(setting.name)) return `OK name ${setting.name}\n`;
  if (setting.kind === "counter" && COUNTER_MODELS.includes(setting.model)) {
    return `OK counter ${setting.model}\n`;
  }
  throw new RangeError(
    `'setting' must be a progress or counter setting: received ${JSON.stringify(setting)}`,
  );
}

/**
 * Formats a progress line, newline included.
 *
 * @param done Increments applied so far.
 * @param total Increments asked for.
 * @returns `PROGRESS <done> <total>\n`.
 * @throws {RangeError} When either is not a whole number, 0 or more.
 *
 * @example
 * ```ts
 * import { formatProgress } from "./replies.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatProgress(3, 10), "PROGRESS 3 10\n");
 * ```
 */
export function formatProgress(done: number, total: number): string {
  checkCount("done", done);
  checkCount("total", total);
  return `PROGRESS ${done} ${total}\n`;
}

/**
 * Formats the answer to `STOP`, newline included.
 *
 * @returns `BYE\n`.
 *
 * @example
 * ```ts
 * import { formatBye } from "./replies.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatBye(), "BYE\n");
 * ```
 */
export function formatBye(): string {
  return "BYE\n";
}

/**
 * Formats an error reply line, newline included: the message on one line,
 * with nothing a terminal would act on (a Worker's error may carry colour codes).
 *
 * @param code The reply code.
 * @param message What went wrong and what to do instead.
 * @returns The line `ERR <code> <message>\n`.
 *
 * @example
 * ```ts
 * import { formatError } from "./replies.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatError("busy", "try again later"), "ERR busy try again later\n");
 * ```
 */
export function formatError(code: ErrorCode, message: string): string {
  return `ERR ${code} ${escapeUnprintable(message.replace(/[\r\n]+/g, " "))}\n`;
}

/**
 * Formats the answer to `STATS`: one line of JSON, newline included.
 *
 * @param stats The figures, an object of JSON values.
 * @returns The line.
 * @throws {TypeError} When `stats` is not an object, or holds what JSON cannot (a bigint).
 *
 * @example
 * ```ts
 * import { formatStats } from "./replies.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatStats({ clients_active: 1 }), '{"clients_active":1}\n');
 * ```
 */
export function formatStats(stats: object): string {
  if (typeof stats !== "object" || stats === null || Array.isArray(stats)) {
    throw new TypeError(`'stats' must be an object: received ${JSON.stringify(stats)}`);
  }
  // Escaped inside JSON strings, the only place such characters can be: still the same JSON.
  return `${escapeUnprintable(JSON.stringify(stats))}\n`;
}

/**
 * Tells whether the server closes the connection after an error reply.
 *
 * @param code The reply's code.
 * @returns True for `busy`, `idle-timeout`, `line-too-long`, `shutting-down`,
 *   `bad-proxy-header` and `stopped-by-teacher`; false for
 *   the other codes, and for codes this client does not know.
 *
 * @example
 * ```ts
 * import { closesConnection } from "./replies.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(closesConnection("busy"), true);
 * assert.equal(closesConnection("bad-request"), false);
 * ```
 */
export function closesConnection(code: string): boolean {
  return Object.hasOwn(CLOSES_CONNECTION, code) && CLOSES_CONNECTION[code as ErrorCode];
}

/**
 * The error codes after which the server closes the connection, in the protocol's order:
 * those {@linkcode closesConnection} is true for.
 *
 * @example
 * ```ts
 * import { closingErrorCodes } from "./replies.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(closingErrorCodes().slice(0, 3), ["line-too-long", "busy", "idle-timeout"]);
 * ```
 */
export function closingErrorCodes(): ErrorCode[] {
  return (Object.keys(CLOSES_CONNECTION) as ErrorCode[]).filter((code) => CLOSES_CONNECTION[code]);
}

/** The largest count a reply carries (15 digits): a safe integer, whatever its digits. */
const MAX_COUNT = 999_999_999_999_999;

// Numbers as the formatters write them: no sign on a count, no leading zero, no `-0`. A count
// has at most 15 digits, so that it is a safe integer.
const VALUE = /^(0|-?[1-9][0-9]*)(?: \((0|[1-9][0-9]{0,14}) (updates?) lost\))?$/;
const PROGRESS = /^PROGRESS (0|[1-9][0-9]{0,14}) (0|[1-9][0-9]{0,14})$/;
const OK =
  /^OK (?:progress (on|off)|counter ([a-z]+)|step (on|off)|schedule (off|\d+(?: \d+)*)|name ([A-Za-z0-9._-]+))$/;
const ERROR = /^ERR ([a-z][a-z0-9-]*)(?: (.*))?$/;
const MALFORMED: Reply = Object.freeze({ kind: "malformed" });

/**
 * Reads one reply line (without its line ending). Never throws: a line no
 * `format…` function writes, however long or hostile, is `malformed`.
 *
 * @param line The line as text.
 * @returns What the line says.
 *
 * @example
 * ```ts
 * import { parseReply } from "./replies.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(parseReply("12"), { kind: "value", value: 12n });
 * assert.deepEqual(parseReply("-2 (1 update lost)"), {
 *   kind: "value",
 *   value: -2n,
 *   updatesLost: 1,
 * });
 * assert.deepEqual(parseReply("ERR busy try later"), {
 *   kind: "error",
 *   code: "busy",
 *   message: "try later",
 * });
 * assert.deepEqual(parseReply("HTTP/1.1 400 Bad Request"), { kind: "malformed" });
 * ```
 */
export function parseReply(line: string): Reply {
  if (HAS_UNPRINTABLE.test(line)) return MALFORMED;
  switch (line[0]) {
    case "E": {
      const match = ERROR.exec(line);
      return match ? { kind: "error", code: match[1], message: match[2] ?? "" } : MALFORMED;
    }
    case "P": {
      const match = PROGRESS.exec(line);
      return match
        ? { kind: "progress", done: Number(match[1]), total: Number(match[2]) }
        : MALFORMED;
    }
    case "O":
      return parseOk(line);
    case "B":
      return line === "BYE" ? { kind: "bye" } : MALFORMED;
    case "{":
      return parseStats(line);
    case "w":
      return parseStep(line);
    default:
      return parseValue(line);
  }
}

function parseValue(line: string): Reply {
  const match = VALUE.exec(line);
  if (!match) return MALFORMED;
  const [, value, lost, word] = match;
  if (lost === undefined) return { kind: "value", value: BigInt(value) };
  if ((lost === "1") !== (word === "update")) return MALFORMED; // `1 updates`, `2 update`
  return { kind: "value", value: BigInt(value), updatesLost: Number(lost) };
}

function parseOk(line: string): Reply {
  const match = OK.exec(line);
  if (!match) return MALFORMED;
  const [, progress, model, step, schedule, name] = match;
  if (name !== undefined) return { kind: "ok", setting: { kind: "name", name } };
  if (progress !== undefined) {
    return { kind: "ok", setting: { kind: "progress", on: progress === "on" } };
  }
  if (step !== undefined) return { kind: "ok", setting: { kind: "step", on: step === "on" } };
  if (schedule !== undefined) {
    const steps = schedule === "off" ? [] : schedule.split(" ").map(Number);
    return { kind: "ok", setting: { kind: "schedule", steps } };
  }
  if (!COUNTER_MODELS.includes(model as CounterModel)) return MALFORMED;
  return { kind: "ok", setting: { kind: "counter", model: model as CounterModel } };
}

function parseStep(line: string): Reply {
  const step = parseStepLine(line);
  return step ? { kind: "step", step } : MALFORMED;
}

function parseStats(line: string): Reply {
  let stats: unknown;
  try {
    stats = JSON.parse(line);
  } catch {
    return MALFORMED;
  }
  if (typeof stats !== "object" || stats === null || Array.isArray(stats)) return MALFORMED;
  return { kind: "stats", stats: stats as Record<string, unknown> };
}

/** A count the protocol sends: a whole number, 0 or more, that a client reads back exactly. */
function checkCount(name: string, count: number): void {
  if (!Number.isSafeInteger(count) || count < 0 || count > MAX_COUNT) {
    throw new RangeError(
      `'${name}' must be a whole number from 0 to ${MAX_COUNT}: received ${count}`,
    );
  }
}
