/**
 * The messages between the {@linkcode WorkerPool} and its Workers, as flat
 * `Float64Array`s so that a batch of many tasks costs one structured clone.
 *
 * A batch (pool to Worker): `[iterationsPerUnit, id, units, id, units, …]`.
 * A report (Worker to pool): `[id, units, startedAt, endedAt, …]`, times in
 * milliseconds since the Unix epoch (`performance.timeOrigin + performance.now()`),
 * so the main thread can compare intervals from different Workers.
 * A Worker never throws across the boundary: a batch it cannot read is answered
 * `{ error: string }`. Once its module has loaded and it listens, a Worker posts
 * {@linkcode WORKER_READY} once: a Worker that dies before that cannot run at all.
 *
 * @module
 */

/** Numbers per task in a batch. */
export const BATCH_STRIDE = 2;
/** Numbers per task in a report. */
export const REPORT_STRIDE = 4;

/** What a Worker posts once, when it has loaded and listens for batches. */
export const WORKER_READY = "ready";

/** A batch the Worker could not run. */
export interface WorkerFailure {
  error: string;
}

/**
 * Spins the original's busy loop: `units × iterationsPerUnit` floating-point additions.
 *
 * @param units Work units to spin.
 * @param iterationsPerUnit Additions per unit.
 * @returns The sum, so the loop cannot be optimised away.
 *
 * @example
 * ```ts
 * import { spin } from "./worker_messages.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(spin(2, 4), 8 * 0.5);
 * ```
 */
export function spin(units: number, iterationsPerUnit: number): number {
  let sum = 0;
  const iterations = Math.min(iterationsPerUnit, 2 ** 30) | 0;
  for (let unit = 0; unit < units; unit++) {
    let part = 0;
    for (let i = 0; i < iterations; i++) part += 0.5;
    sum += part;
  }
  return sum;
}

/**
 * Runs one batch: spins each task in turn and records when it ran.
 *
 * @param batch The batch, laid out as in this module's description.
 * @param around Runs just before and just after each task's spin (outside its recorded
 *   times): the read and the write of a `racy` or `locked` request's shared counter.
 * @returns The report, laid out as in this module's description.
 * @throws {TypeError} When the batch is not a well-formed batch.
 *
 * @example
 * ```ts
 * import { runBatch } from "./worker_messages.ts";
 * import assert from "node:assert/strict";
 *
 * const report = runBatch(new Float64Array([10, 7, 2]));
 * assert.equal(report[0], 7); // task id
 * assert.equal(report[1], 2); // units
 * assert.ok(report[3] >= report[2]); // ended after it started
 * ```
 */
export function runBatch(
  batch: unknown,
  around?: { before(id: number): void; after(id: number): void },
): Float64Array<ArrayBuffer> {
  if (!(batch instanceof Float64Array) || batch.length % BATCH_STRIDE !== 1) {
    throw new TypeError("a batch must be a Float64Array [iterationsPerUnit, id, units, …]");
  }
  const iterationsPerUnit = batch[0];
  const count = (batch.length - 1) / BATCH_STRIDE;
  const report = new Float64Array(count * REPORT_STRIDE);
  const origin = performance.timeOrigin;
  let sink = 0;
  for (let i = 0; i < count; i++) {
    const id = batch[1 + i * BATCH_STRIDE];
    const units = batch[2 + i * BATCH_STRIDE];
    around?.before(id);
    const startedAt = origin + performance.now();
    // Called through Reflect.apply so V8's mid tier (Maglev) does not inline the loop here:
    // inlined, it ran five times slower once this function got hot (a few hundred batches).
    sink += Reflect.apply(spin, undefined, [units, iterationsPerUnit]);
    const at = i * REPORT_STRIDE;
    report[at] = id;
    report[at + 1] = units;
    report[at + 2] = startedAt;
    report[at + 3] = origin + performance.now();
    around?.after(id);
  }
  if (sink < 0) throw new Error("unreachable: keeps the spin observable");
  return report;
}
