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
  /**
   * What each increment costs besides its units and {@linkcode TASK_OVERHEAD_MS}, in ms, asked
   * at each estimate: with a Worker per increment, that Worker's start-up.
   */
  taskStartMs?: () => number;
}

/** What one increment costs besides its units (dispatch, report, critical section), in ms. */
export const TASK_OVERHEAD_MS = 1e-3;

/**
 * A module Worker's start-up (from `new Worker` to ready), in ms, assumed until the server has
 * started Workers of its own and can use their measured mean: a Worker per increment pays it
 * for every increment. Tens of ms on an idle machine; several times more on a loaded one.
 */
export const WORKER_START_MS = 30;

/**
 * Additions in each timed run of the busy loop: enough (about a millisecond) for the loop to
 * be optimised and for the clock's resolution not to matter, whatever the unit's size.
 */
export const CALIBRATION_ADDITIONS = 1_000_000;

let measuredMsPerAddition: number | undefined;

/**
 * The busy loop's speed on this thread, in ms per addition: the fastest of a dozen runs of
 * {@linkcode CALIBRATION_ADDITIONS}, timed once per process. The first runs are not optimised
 * yet, and a busy machine may take the CPU away in the middle of one: neither should make the
 * estimate larger. The runs are the same size for every work model, so that a small
 * `--iterations-per-unit` does not time the unoptimised loop and the clock's resolution.
 *
 * @returns The time of one addition, in ms.
 *
 * @example
 * ```ts
 * import { msPerAddition } from "./work_estimate.ts";
 * import assert from "node:assert/strict";
 *
 * assert.ok(msPerAddition() > 0);
 * assert.equal(msPerAddition(), msPerAddition()); // timed once
 * ```
 */
export function msPerAddition(): number {
  if (measuredMsPerAddition !== undefined) return measuredMsPerAddition;
  let fastest = Infinity;
  for (let run = 0; run < 12; run++) {
    const started = performance.now();
    spin(1, CALIBRATION_ADDITIONS);
    fastest = Math.min(fastest, performance.now() - started);
  }
  // A clock too coarse to see a run still gives a positive speed.
  measuredMsPerAddition = Math.max(fastest, 1e-3) / CALIBRATION_ADDITIONS;
  return measuredMsPerAddition;
}

/**
 * Makes an estimator: the busy loop's speed ({@linkcode msPerAddition}) times the mean
 * additions of an increment, plus what each increment costs besides, spread over the Workers.
 * The estimate is of the work alone, on this machine: a loaded one takes longer.
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
 * // A Worker per increment pays its start-up every time.
 * const perIncrement = workEstimator({
 *   minUnits: 1,
 *   maxUnits: 1,
 *   iterationsPerUnit: 0,
 *   workers: 2,
 *   taskStartMs: () => 30,
 * });
 * assert.ok(perIncrement(1_000_000) > 4 * 3_600_000); // hours
 * ```
 */
export function workEstimator(model: WorkModel): (increments: number) => number {
  const { minUnits, maxUnits, iterationsPerUnit, taskStartMs } = model;
  const workers = Math.max(1, model.workers);
  const additions = ((minUnits + maxUnits) / 2) * iterationsPerUnit;
  const msPerIncrement = (additions > 0 ? additions * msPerAddition() : 0) + TASK_OVERHEAD_MS;
  if (taskStartMs === undefined) return (increments) => (increments * msPerIncrement) / workers;
  return (increments) => (increments * (msPerIncrement + taskStartMs())) / workers;
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
