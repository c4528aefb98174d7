/**
 * The `WorkerPool`'s options, their defaults and checks, and its figures: one
 * home for each.
 *
 * @module
 */
import { WORKER_MODULE } from "./worker_host.ts";
import {
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_MAX_BATCH,
  DEFAULT_MAX_QUEUED_WORK,
} from "../defaults/defaults.ts";

/** Something that happened to a Worker of the pool. */
export interface WorkerIncident {
  /** Index of the Worker that died and was replaced. */
  worker: number;
  /** Why it died. */
  reason: string;
  /**
   * Tasks it was running, which run again on its replacement, one at a time (those
   * of jobs that failed or were cancelled meanwhile are not counted).
   */
  tasksRequeued: number;
}

/** Options of the `WorkerPool`. */
export interface WorkerPoolOptions {
  /** How many Workers to run. */
  size: number;
  /** Additions per work unit. */
  iterationsPerUnit: number;
  /** The Worker module. Defaults to the project's `worker.ts` ({@linkcode WORKER_MODULE}). */
  moduleUrl?: URL | string;
  /**
   * Work, in additions, that one batch may carry: enough to make the hand-off worth it,
   * small enough that a new job's task gets its turn soon. Defaults to
   * {@linkcode DEFAULT_MAX_QUEUED_WORK}. A batch always carries at least one task.
   */
  maxQueuedWork?: number;
  /**
   * Most tasks in one batch handed to a lane (one write into a local Worker's task ring,
   * one message to a remote one). Defaults to {@linkcode DEFAULT_MAX_BATCH}. A local Worker's
   * ring holds two batches.
   */
  maxBatch?: number;
  /**
   * Runs of one task that ended with its Worker dying while it ran there alone, before its
   * job fails. Defaults to {@linkcode DEFAULT_MAX_ATTEMPTS}. Tasks that shared a dying Worker
   * are not charged: they run again one at a time, so that the next death names the task that
   * caused it.
   */
  maxAttempts?: number;
  /** Hears of each Worker that died and was replaced. */
  onIncident?: (incident: WorkerIncident) => void;
}

/** A snapshot of the pool's load. */
export interface PoolStats {
  workers: number;
  workersBusy: number;
  tasksQueued: number;
  tasksInFlight: number;
  tasksDone: number;
  tasksDiscarded: number;
  workerRestarts: number;
  /** Batches handed to lanes: tasks / batches is how many tasks travel together. */
  batchesSent: number;
}

/** {@linkcode WorkerPoolOptions} with every default filled in. */
export type ResolvedPoolOptions = Required<Omit<WorkerPoolOptions, "onIncident">>;

/**
 * Checks a pool's options and fills in the defaults.
 *
 * @param options The options as given.
 * @returns Every option but `onIncident`, each set.
 * @throws {RangeError} When `size` or `iterationsPerUnit` is not an integer of 0 or more, or
 *   `maxBatch` or `maxAttempts` not a positive integer.
 *
 * @example
 * ```ts
 * import { resolvePoolOptions } from "./pool_options.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(resolvePoolOptions({ size: 2, iterationsPerUnit: 10 }).maxBatch, 256);
 * assert.throws(() => resolvePoolOptions({ size: 2, iterationsPerUnit: 10, maxBatch: 0 }));
 * ```
 */
export function resolvePoolOptions(options: WorkerPoolOptions): ResolvedPoolOptions {
  const {
    size,
    iterationsPerUnit,
    moduleUrl = WORKER_MODULE,
    maxQueuedWork = DEFAULT_MAX_QUEUED_WORK,
    maxBatch = DEFAULT_MAX_BATCH,
    maxAttempts = DEFAULT_MAX_ATTEMPTS,
  } = options;
  // size 0: no local Worker, only lanes added later (a fleet of worker nodes).
  requireInteger("size", size, 0);
  requireInteger("iterationsPerUnit", iterationsPerUnit, 0);
  requireInteger("maxBatch", maxBatch, 1);
  requireInteger("maxAttempts", maxAttempts, 1);
  return { size, iterationsPerUnit, moduleUrl, maxQueuedWork, maxBatch, maxAttempts };
}

function requireInteger(name: string, value: number, min: 0 | 1): void {
  if (!Number.isInteger(value) || value < min) {
    const expected = min === 0 ? "an integer of 0 or more" : "a positive integer";
    throw new RangeError(`'${name}' must be ${expected}: received ${value}`);
  }
}
