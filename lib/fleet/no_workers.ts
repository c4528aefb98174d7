/**
 * The bound on waiting for Workers when a server has none of its own
 * (`--workers 0`): a request that finds no remote Worker up waits at most
 * `waitMs` for one, then fails with {@linkcode NoWorkersError}, which the client
 * gets as `ERR no-workers`, instead of hanging for ever.
 *
 * @module
 */
import { NoWorkersError } from "../pool/job_queue.ts";

/** What the watch needs of a job. */
export interface WatchedJob {
  /** Settles when the job does. */
  done: Promise<void>;
  /** Fails the job with `reason`. */
  cancel(reason?: unknown): void;
}

/** Options of {@linkcode NoWorkersWatch}. */
export interface NoWorkersWatchOptions {
  /** Workers that may take tasks now. */
  readyWorkers: () => number;
  /** Longest wait with no Worker, in ms. */
  waitMs: number;
  /** The clock, in ms. Defaults to `performance.now`. */
  now?: () => number;
}

/**
 * Fails the jobs that have waited `waitMs` with no Worker up.
 *
 * @example
 * ```ts
 * import { NoWorkersWatch } from "./no_workers.ts";
 * import { NoWorkersError } from "../pool/job_queue.ts";
 * import assert from "node:assert/strict";
 *
 * using watch = new NoWorkersWatch({ readyWorkers: () => 0, waitMs: 10 });
 * const { promise, reject } = Promise.withResolvers<void>();
 * watch.watch({ done: promise, cancel: reject });
 * await assert.rejects(promise, NoWorkersError);
 * ```
 */
export class NoWorkersWatch implements Disposable {
  #options: NoWorkersWatchOptions;
  #now: () => number;
  #jobs = new Map<WatchedJob, number>();
  #emptySince: number | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;

  /**
   * @param options How to count ready Workers, and the bound.
   * @throws {RangeError} When `waitMs` is negative.
   */
  constructor(options: NoWorkersWatchOptions) {
    if (!(options.waitMs >= 0)) {
      throw new RangeError(`'waitMs' must be 0 or more: received ${options.waitMs}`);
    }
    this.#options = options;
    this.#now = options.now ?? (() => performance.now());
  }

  /**
   * Watches a job until it settles.
   *
   * @param job The job.
   */
  watch(job: WatchedJob): void {
    this.#jobs.set(job, this.#now());
    const forget = () => {
      this.#jobs.delete(job);
      if (this.#jobs.size === 0) this.#stop();
    };
    job.done.then(forget, forget);
    this.#timer ??= setInterval(
      () => this.#check(),
      Math.max(10, Math.min(250, this.#options.waitMs / 4)),
    );
    this.#check();
  }

  /** Stops watching (the jobs go on). */
  [Symbol.dispose](): void {
    this.#jobs.clear();
    this.#stop();
  }

  #stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #check(): void {
    const now = this.#now();
    if (this.#options.readyWorkers() > 0) {
      this.#emptySince = undefined;
      return;
    }
    this.#emptySince ??= now;
    const { waitMs } = this.#options;
    for (const [job, since] of this.#jobs) {
      if (now - Math.max(since, this.#emptySince) < waitMs) continue;
      this.#jobs.delete(job);
      job.cancel(
        new NoWorkersError(
          `no Worker was up for ${waitMs / 1000} s: this server has none of its own ` +
            "(--workers 0) and no worker node answers; start one with " +
            "`deno task node --nats nats://HOST:4222`, then send the request again",
        ),
      );
    }
    if (this.#jobs.size === 0) this.#stop();
  }
}
