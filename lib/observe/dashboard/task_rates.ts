/**
 * The dashboard's rates: increments a second, and how busy the Workers were.
 *
 * @module
 */

/** Buckets of 100 ms over the last second. */
const BUCKETS = 10;
const BUCKET_MS = 100;

/**
 * Counts finished tasks, and the Worker time they took, over the last second.
 *
 * @example
 * ```ts
 * import { TaskRates } from "./task_rates.ts";
 * import assert from "node:assert/strict";
 *
 * const rates = new TaskRates();
 * rates.record(Date.now(), 250);
 * rates.record(Date.now(), 250);
 * assert.deepEqual(rates.lastSecond(1), { tasks_per_s: 2, utilisation: 0.5 });
 * ```
 */
export class TaskRates {
  #buckets = Array.from({ length: BUCKETS }, () => ({ epoch: -1, count: 0, busyMs: 0 }));

  /**
   * Counts a task that ended.
   *
   * @param at When it ended, ms since the epoch.
   * @param busyMs How long its Worker ran it.
   */
  record(at: number, busyMs: number): void {
    const epoch = Math.floor(at / BUCKET_MS);
    const bucket = this.#buckets[epoch % BUCKETS];
    if (bucket.epoch !== epoch) {
      bucket.epoch = epoch;
      bucket.count = 0;
      bucket.busyMs = 0;
    }
    bucket.count++;
    bucket.busyMs += busyMs;
  }

  /**
   * The tasks that ended over the last second, and the share of `lanes`
   * Workers' time they took (0 to 1).
   *
   * @param lanes Workers in the pool.
   * @returns The rate and the utilisation.
   */
  lastSecond(lanes: number): { tasks_per_s: number; utilisation: number } {
    const oldest = Math.floor(Date.now() / BUCKET_MS) - (BUCKETS - 1);
    let count = 0;
    let busyMs = 0;
    for (const bucket of this.#buckets) {
      if (bucket.epoch < oldest) continue;
      count += bucket.count;
      busyMs += bucket.busyMs;
    }
    return {
      tasks_per_s: count,
      utilisation: Math.min(1, busyMs / (BUCKETS * BUCKET_MS * Math.max(1, lanes))),
    };
  }
}
