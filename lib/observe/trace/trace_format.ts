/**
 * The lines of a Chrome Trace Event Format file (for ui.perfetto.dev or
 * chrome://tracing), as threadcount writes them: one complete event per
 * increment, on the thread (lane) of the Worker that ran it.
 *
 * The file is in the JSON Array Format, one event a line:
 *
 * ```text
 * [
 * {"name":"process_name",…}
 * ,{"name":"thread_name",…}
 * ,{"name":"R1#1","ph":"X",…}
 * ]
 * ```
 *
 * The format allows the closing `]` to be missing, and Perfetto reads event
 * after event, so a file cut off anywhere (a `SIGKILL`, a power cut) still
 * opens: what is lost is the last line at most. Each comma opens a line rather
 * than ending one, so the complete lines and a `]` are valid JSON; written in
 * whole lines, a file cut between two writes also opens in chrome://tracing,
 * which appends the `]` itself.
 *
 * Times are in µs from the trace's `origin` (ms since the epoch).
 *
 * @module
 */
import type { ServerEvent } from "../../server/server_events.ts";

/** The file's first lines: the `[` and the process's name. */
export const TRACE_HEADER = "[\n" +
  JSON.stringify({
    name: "process_name",
    ph: "M",
    pid: 1,
    tid: 0,
    args: { name: "threadcount server" },
  }) +
  "\n";

/** The file's last line. */
export const TRACE_END = "]\n";

/** Largest `|value|` written as a number; larger values are left out (see {@linkcode TraceLines.increment}). */
const MAX_EXACT_VALUE = BigInt(Number.MAX_SAFE_INTEGER);

/** One event after the first: a line opened by a comma. */
function line(event: string): string {
  return `,${event}\n`;
}

/** A number for a trace, shortened when long (one conversion per request, never per increment). */
function shortNumber(text: string): string {
  const digits = text.replace("-", "").length;
  return digits <= 24 ? text : `${text.slice(0, 12)}…${text.slice(-8)} (${digits} digits)`;
}

/**
 * Turns server events into lines of a trace whose time zero is `origin`.
 *
 * @example
 * ```ts
 * import { TRACE_END, TRACE_HEADER, TraceLines } from "./trace_format.ts";
 * import assert from "node:assert/strict";
 *
 * const lines = new TraceLines(0);
 * const text = TRACE_HEADER + lines.lane(0, "worker 0") + lines.increment({
 *   type: "task-done", at: 2, conn: "c", request: "R1", task: "R1#1", worker: 0,
 *   units: 3, startedAt: 1, endedAt: 2, value: 11n, done: 1, total: 1,
 * }) + TRACE_END;
 * const increment = JSON.parse(text).at(-1);
 * assert.deepEqual([increment.tid, increment.ts, increment.dur, increment.args.value], [1, 1000, 1000, 11]);
 * ```
 */
export class TraceLines {
  /** The trace's time zero, ms since the epoch. */
  readonly origin: number;

  /** @param origin The trace's time zero, ms since the epoch; defaults to now. */
  constructor(origin: number = Date.now()) {
    this.origin = origin;
  }

  /**
   * The two metadata lines that name lane `index` (a Worker; thread `index + 1`)
   * and keep the lanes in order.
   *
   * @param index The lane.
   * @param name Its name, e.g. `worker 0` or `node-a/worker 1`.
   * @returns Two lines of the file.
   */
  lane(index: number, name: string): string {
    const tid = index + 1;
    return line(
      `{"name":"thread_name","ph":"M","pid":1,"tid":${tid},"args":{"name":${
        JSON.stringify(name)
      }}}`,
    ) +
      line(
        `{"name":"thread_sort_index","ph":"M","pid":1,"tid":${tid},"args":{"sort_index":${index}}}`,
      );
  }

  /**
   * One increment as a complete event on its Worker's lane. The counter's
   * `value` is written only while it is a safe integer: the request's start,
   * written once by {@linkcode TraceLines.requestStart}, and `done` give it
   * otherwise, so a line never grows with the numbers counted.
   *
   * @param event The increment.
   * @returns One line of the file.
   */
  increment(event: Extract<ServerEvent, { type: "task-done" }>): string {
    const value = event.value >= -MAX_EXACT_VALUE && event.value <= MAX_EXACT_VALUE
      ? `,"value":${Number(event.value)}`
      : "";
    return line(
      `{"name":${JSON.stringify(event.task)},"cat":"increment","ph":"X",` +
        `"ts":${this.#micros(event.startedAt)},` +
        `"dur":${Math.max(1, Math.round((event.endedAt - event.startedAt) * 1000))},` +
        `"pid":1,"tid":${event.worker + 1},"args":{"conn":${JSON.stringify(event.conn)},` +
        `"request":${JSON.stringify(event.request)},"units":${event.units},` +
        `"done":${event.done},"total":${event.total}${value}}}`,
    );
  }

  /**
   * A request's start, once, as an instant event on the process when its
   * counting begins: the start exactly in `args`, shortened in the name.
   *
   * @param event The request's `counting` event.
   * @returns One line of the file.
   */
  requestStart(event: Extract<ServerEvent, { type: "counting" }>): string {
    const start = String(event.start);
    return line(JSON.stringify({
      name: `${event.request}: ${event.increments} increments from ${shortNumber(start)}`,
      cat: "request",
      ph: "i",
      s: "p",
      ts: this.#micros(event.at),
      pid: 1,
      tid: 0,
      args: { conn: event.conn, request: event.request, start, increments: event.increments },
    }));
  }

  /**
   * A global instant event, now, about the trace itself (events dropped, tracing stopped).
   *
   * @param name What happened, as Perfetto shows it.
   * @param args Its details.
   * @returns One line of the file.
   */
  notice(name: string, args: Record<string, unknown>): string {
    return line(JSON.stringify({
      name,
      cat: "trace",
      ph: "i",
      s: "g",
      ts: this.#micros(Date.now()),
      pid: 1,
      tid: 0,
      args,
    }));
  }

  /** µs from the origin to `at` (ms since the epoch). */
  #micros(at: number): number {
    return Math.round((at - this.origin) * 1000);
  }
}
