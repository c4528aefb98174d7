/**
 * Accounting of malformed messages on the fleet's subjects: every one counted,
 * at most one log line a second however fast they come (a stranger flooding the
 * subject must not flood the log too), each line saying how many were dropped
 * since the last.
 *
 * @module
 */

/** Options of {@linkcode MalformedMessages}. */
export interface MalformedMessagesOptions {
  /** Where a line goes. Defaults to `console.error`. */
  log?: (line: string) => void;
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
 * const malformed = new MalformedMessages({ log: (l) => lines.push(l), now: () => 0 });
 * malformed.drop("hello", "not JSON");
 * malformed.drop("hello", "not JSON");
 * assert.equal(malformed.count, 2);
 * assert.equal(lines.length, 1);
 * ```
 */
export class MalformedMessages {
  #log: (line: string) => void;
  #intervalMs: number;
  #now: () => number;
  #count = 0;
  #unlogged = 0;
  #lastLogAt = -Infinity;

  /**
   * @param options Where to log, and how often at most.
   */
  constructor(options: MalformedMessagesOptions = {}) {
    this.#log = options.log ?? ((line) => console.error(line));
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
    const now = this.#now();
    if (now - this.#lastLogAt < this.#intervalMs) return;
    this.#lastLogAt = now;
    const more = this.#unlogged > 1 ? ` (${this.#unlogged} dropped since the last line)` : "";
    this.#unlogged = 0;
    this.#log(
      `threadcount fleet: dropped a malformed message on ${subject}: ${why}${more}; ` +
        `${this.#count} in all. Is something else publishing there? See docs/many_machines.md ` +
        "to close the subject to strangers.",
    );
  }
}
