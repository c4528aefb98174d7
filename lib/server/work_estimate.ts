/**
 * How long a request's work will keep the Worker pool busy, estimated before
 * it starts, so a request of hours can be refused at once.
 *
 * @module
 */
import { spin } from "../pool/worker_messages.ts";

/** What the estimate needs to know of the work model and the pool. */
export interface WorkModel {
  /** Fewest units per increment. */
  minUnits: number;
  /** Most units per increment. */
  maxUnits: number;
  /** Additions per unit. */
  iterationsPerUnit: number;
  /** Workers the work is spread over. */
  workers: number;
}

/** What one increment costs besides its units (dispatch, report, critical section), in ms. */
const TASK_OVERHEAD_MS = 1e-3;

/**
 * Makes an estimator: it times the busy loop here, on this thread (the
 * fastest of a dozen short runs, once, at start-up), and scales by the mean
 * units of an increment. The estimate is of the work alone, on an idle
 * machine: a loaded one takes longer.
 *
 * @param model The work model and the pool's size.
 * @returns A function from a number of increments to ms of the whole pool's time.
 *
 * @example
 * ```ts
 * import { workEstimator } from "./work_estimate.ts";
 * import assert from "node:assert/strict";
 *
 * const estimate = workEstimator({ minUnits: 1, maxUnits: 1, iterationsPerUnit: 0, workers: 2 });
 * assert.ok(estimate(1_000_000) < 5_000);
 * ```
 */
export function workEstimator(model: WorkModel): (increments: number) => number {
  const { minUnits, maxUnits, iterationsPerUnit } = model;
  const workers = Math.max(1, model.workers);
  const sample = Math.min(iterationsPerUnit, 1_000_000);
  let msPerAddition = 0;
  if (sample > 0) {
    // The fastest of a dozen short runs: the first few are not optimised yet, and a busy
    // machine may take the CPU away in the middle of one; neither should make the estimate
    // larger. Each run is a fifth of a unit's additions, at most a million.
    const runs = 12;
    const each = Math.max(1, Math.floor(sample / 5));
    let fastest = Infinity;
    for (let run = 0; run < runs; run++) {
      const started = performance.now();
      spin(1, each);
      fastest = Math.min(fastest, performance.now() - started);
    }
    msPerAddition = fastest / each;
  }
  const msPerIncrement = ((minUnits + maxUnits) / 2) * iterationsPerUnit * msPerAddition +
    TASK_OVERHEAD_MS;
  return (increments) => (increments * msPerIncrement) / workers;
}

/**
 * Writes an estimated duration for a person: seconds, minutes or hours.
 *
 * @param ms The duration, in ms.
 * @returns `42 s`, `7.5 min`, `3.2 h`.
 *
 * @example
 * ```ts
 * import { formatDuration } from "./work_estimate.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatDuration(41_200), "42 s");
 * assert.equal(formatDuration(450_000), "7.5 min");
 * ```
 */
export function formatDuration(ms: number): string {
  const seconds = ms / 1000;
  if (seconds < 120) return `${Math.ceil(seconds)} s`;
  if (seconds < 7200) return `${(seconds / 60).toFixed(1)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

/**
 * The refusal of a request that would take longer than the limit: what it would cost, the
 * limit, and what to do.
 *
 * @param increments The request's increments.
 * @param ms Its estimate, in ms.
 * @param limits The limit, in ms.
 * @returns The message of `ERR too-much-work`.
 *
 * @example
 * ```ts
 * import { tooMuchWork } from "./work_estimate.ts";
 * import assert from "node:assert/strict";
 *
 * assert.match(tooMuchWork(10, 600_000, { maxRequestMs: 60_000 }), /about 10.0 min; the limit/);
 * ```
 */
export function tooMuchWork(
  increments: number,
  ms: number,
  limits: { maxRequestMs: number },
): string {
  return `${increments} increments would keep every Worker busy for about ` +
    `${formatDuration(ms)}; the limit is ${formatDuration(limits.maxRequestMs)} ` +
    "a request (--max-request-seconds): ask for fewer increments";
}
