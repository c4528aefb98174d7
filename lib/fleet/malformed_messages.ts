/**
 * Accounting of malformed messages on the fleet's subjects: every one counted,
 * at most one log line a second however fast they come (a stranger flooding the
 * subject must not flood the log too), each line saying how many were dropped
 * since the last; the end of a burst is logged within a second or so after it.
 *
 * @module
 */

/** What one log line says. */
export interface MalformedReport {
  /** Where the last one came. */
  subject: string;
  /** What was wrong with it. */
  reason: string;
  /** Dropped since the last line, this one included. */
  dropped: number;
  /** Dropped in all. */
  count: number;
}

/**
 * Formats a report as a log line.
 *
 * @param who Who dropped it, e.g. `threadcount node`.
 * @param report The report.
 * @returns The line.
 */
export function formatMalformed(who: string, report: MalformedReport): string {
  const more = report.dropped > 1 ? ` (${report.dropped} dropped since the last line)` : "";
  return `${who}: dropped a malformed message on ${report.subject}: ${report.reason}${more}; ` +
    `${report.count} in all. Is something else publishing there? See docs/fleet.md, "Who may do ` +
    'what", to close the subjects to strangers.';
}

/** Options of {@linkcode MalformedMessages}. */
export interface MalformedMessagesOptions {
  /** Hears at most one report per interval. Defaults to a line on `console.error`. */
  log?: (report: MalformedReport) => void;
  /** Least time between two lines, in ms. Defaults to 1000. */
  intervalMs?: number;
  /** The clock, in ms. Defaults to `performance.now`. */
  now?: () => number;
}

/**
 * Counts malformed messages and logs them, rate-limited.
 *
 * @example
 * ```ts
 * import { MalformedMessages } from "./malformed_messages.ts";
 * import assert from "node:assert/strict";
 *
 * const lines: string[] = [];
 * const malformed = new MalformedMessages({ log: (r) => lines.push(r.reason), now: () => 0 });
 * malformed.drop("hello", "not JSON");
 * malformed.drop("hello", "not JSON");
 * assert.equal(malformed.count, 2);
 * assert.equal(lines.length, 1);
 * ```
 */
export class MalformedMessages {
  #log: (report: MalformedReport) => void;
  #intervalMs: number;
  #now: () => number;
  #count = 0;
  #unlogged = 0;
  #lastLogAt = -Infinity;
  /** The last one dropped: the subject and reason of a line that {@linkcode flush} writes. */
  #last = { subject: "", why: "" };

  /**
   * @param options Where to log, and how often at most.
   */
  constructor(options: MalformedMessagesOptions = {}) {
    this.#log = options.log ??
      ((report) => console.error(formatMalformed("threadcount fleet", report)));
    this.#intervalMs = options.intervalMs ?? 1000;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Malformed messages dropped so far. */
  get count(): number {
    return this.#count;
  }

  /**
   * Counts one malformed message; logs it unless a line went out less than the interval ago.
   *
   * @param subject Where it came.
   * @param why What was wrong with it.
   */
  drop(subject: string, why: string): void {
    this.#count++;
    this.#unlogged++;
    this.#last = { subject, why };
    this.flush();
  }

  /**
   * Logs the drops not logged yet, the last one's subject and reason, unless a line went out
   * less than the interval ago. {@linkcode drop} calls it; its owner calls it now and then
   * too (on a timer it has anyway), so that the end of a burst is logged, not only its start.
   */
  flush(): void {
    if (this.#unlogged === 0) return;
    const now = this.#now();
    if (now - this.#lastLogAt < this.#intervalMs) return;
    this.#lastLogAt = now;
    const dropped = this.#unlogged;
    this.#unlogged = 0;
    this.#log({ subject: this.#last.subject, reason: this.#last.why, dropped, count: this.#count });
  }
}
