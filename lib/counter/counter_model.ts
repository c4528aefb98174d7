/**
 * The counter models and the Worker models a teacher can choose between: the
 * original course project's two mistakes, made available on purpose, beside
 * the right way. A leaf module: the wire, the server and the lessons import it.
 *
 * @module
 */

/**
 * How a request's counter is kept:
 * - `racy`: the original's code. Each increment's task reads the counter when it
 *   starts on its Worker, spins, and writes back what it read + 1, with no lock:
 *   with two Workers or more, updates are lost.
 * - `locked`: the same, but the whole read-spin-write holds a cross-thread lock:
 *   right, and the Workers take turns (no parallelism left).
 * - `parallel` (the default): the work runs in parallel and only the short
 *   read-increment-write on the main thread is guarded. Right and parallel.
 */
export type CounterModel = "racy" | "locked" | "parallel";

/** Every counter model, in the order a lesson shows them. */
export const COUNTER_MODELS: readonly CounterModel[] = ["racy", "locked", "parallel"];

/**
 * How increments get a thread:
 * - `pool` (the default): a fixed pool of module Workers, started once.
 * - `per-increment`: a new module Worker for each increment, terminated after
 *   it (the original's thread per increment).
 */
export type WorkerModel = "pool" | "per-increment";

/** Every Worker model, in the order a lesson shows them. */
export const WORKER_MODELS: readonly WorkerModel[] = ["pool", "per-increment"];

/**
 * Reads a counter model's name, in any case.
 *
 * @param text The name, e.g. `racy`.
 * @returns The model.
 * @throws {RangeError} When it names no model; the message lists them.
 *
 * @example
 * ```ts
 * import { parseCounterModel } from "./counter_model.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(parseCounterModel("RACY"), "racy");
 * assert.throws(() => parseCounterModel("fast"), RangeError);
 * ```
 */
export function parseCounterModel(text: string): CounterModel {
  const model = text.toLowerCase() as CounterModel;
  if (COUNTER_MODELS.includes(model)) return model;
  throw new RangeError(
    `unknown counter model ${JSON.stringify(text)}: expected ${COUNTER_MODELS.join(", ")}`,
  );
}

/**
 * Reads a Worker model's name, in any case.
 *
 * @param text The name, e.g. `per-increment`.
 * @returns The model.
 * @throws {RangeError} When it names no model; the message lists them.
 *
 * @example
 * ```ts
 * import { parseWorkerModel } from "./counter_model.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(parseWorkerModel("per-increment"), "per-increment");
 * ```
 */
export function parseWorkerModel(text: string): WorkerModel {
  const model = text.toLowerCase() as WorkerModel;
  if (WORKER_MODELS.includes(model)) return model;
  throw new RangeError(
    `unknown Worker model ${JSON.stringify(text)}: expected ${WORKER_MODELS.join(" or ")}`,
  );
}
