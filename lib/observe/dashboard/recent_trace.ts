/**
 * The last minute of increments, kept for `GET /trace.json`: a Chrome trace
 * (Perfetto opens it) a teacher downloads from the dashboard.
 *
 * @module
 */
import { DASHBOARD_TRACE_EVENTS, DASHBOARD_TRACE_MS } from "../../defaults/defaults.ts";
import type { ServerEvent } from "../../server/server_events.ts";
import { TRACE_END, TRACE_HEADER, TraceLines } from "../trace/trace_format.ts";

type TaskDone = Extract<ServerEvent, { type: "task-done" }>;

/**
 * The increments of the last {@linkcode DASHBOARD_TRACE_MS}, at most the newest
 * {@linkcode DASHBOARD_TRACE_EVENTS} (a ring: one slot written per increment).
 *
 * @example
 * ```ts
 * import { RecentTrace } from "./recent_trace.ts";
 * import assert from "node:assert/strict";
 *
 * const recent = new RecentTrace();
 * const now = Date.now();
 * recent.add({ type: "task-done", at: now, conn: "c", request: "R1", task: "R1#1", worker: 0,
 *   units: 1, startedAt: now - 2, endedAt: now - 1, value: 1n, done: 1, total: 1 });
 * const trace = JSON.parse(recent.trace(["worker 0"], now));
 * assert.equal(trace.filter((e: { ph: string }) => e.ph === "X").length, 1);
 * ```
 */
export class RecentTrace {
  #ring: (TaskDone | undefined)[] = [];
  #next = 0;
  /** Increments ever added: past the ring's size, the oldest were overwritten. */
  #added = 0;

  /**
   * Keeps an increment, over the oldest when the ring is full.
   *
   * @param event Its `task-done` event.
   */
  add(event: TaskDone): void {
    this.#ring[this.#next] = event;
    this.#next = (this.#next + 1) % DASHBOARD_TRACE_EVENTS;
    this.#added++;
  }

  /**
   * The trace of the increments that ended in the last {@linkcode DASHBOARD_TRACE_MS}.
   *
   * @param lanes The lanes' names, for their threads.
   * @param now Ms since the epoch.
   * @returns The JSON text.
   */
  trace(lanes: readonly string[], now: number): string {
    const from = now - DASHBOARD_TRACE_MS;
    const lines = new TraceLines(from);
    const parts = [TRACE_HEADER];
    lanes.forEach((name, i) => parts.push(lines.lane(i, name)));
    const size = this.#ring.length;
    let oldest = Infinity;
    for (let i = 0; i < size; i++) {
      const event = this.#ring[(this.#next + i) % size];
      if (!event || event.endedAt < from) continue;
      oldest = Math.min(oldest, event.endedAt);
      parts.push(lines.increment(event));
    }
    if (this.#added > size && oldest > from) {
      parts.push(lines.notice("older increments left out", {
        kept: size,
        reason: `the trace keeps the newest ${DASHBOARD_TRACE_EVENTS} increments of the minute`,
      }));
    }
    parts.push(TRACE_END);
    return parts.join("");
  }
}
