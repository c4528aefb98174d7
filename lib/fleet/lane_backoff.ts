/**
 * The back-off of a remote lane whose batches fail: benched for
 * {@linkcode FIRST_BENCH_MS} after a failure, twice as long after each further
 * failure in a row, up to {@linkcode MAX_BENCH_MS}; a success ends the run of
 * failures. A Worker that never answers thus costs at most one batch per back-off.
 *
 * @module
 */
import { MAX_BENCH_MS } from "../defaults/defaults.ts";

/** First back-off of a lane whose batch failed, in ms; it doubles at each failure in a row. */
export const FIRST_BENCH_MS = 1000;

/**
 * A lane's back-off: whether it is benched now, and for how long the next failure benches it.
 *
 * @example
 * ```ts
 * import { LaneBackoff } from "./lane_backoff.ts";
 * import assert from "node:assert/strict";
 *
 * using backoff = new LaneBackoff(() => {});
 * backoff.fail();
 * assert.equal(backoff.benched, true);
 * assert.equal(backoff.ms, 1000);
 * backoff.fail();
 * assert.equal(backoff.ms, 2000);
 * assert.ok(backoff.failingFor(performance.now()) >= 0);
 * backoff.succeed();
 * assert.equal(backoff.failing, false);
 * assert.equal(backoff.failingFor(performance.now()), 0);
 * ```
 */
export class LaneBackoff implements Disposable {
  #ms = 0;
  /** When (`performance.now()`) the run of failures began; undefined while none failed. */
  #failingSince: number | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #onEnd: () => void;

  /**
   * @param onEnd Called when a bench ends (the lane may take a batch again).
   */
  constructor(onEnd: () => void) {
    this.#onEnd = onEnd;
  }

  /** Whether the lane is benched now. */
  get benched(): boolean {
    return this.#timer !== undefined;
  }

  /** Whether its last batch failed and none has succeeded since. */
  get failing(): boolean {
    return this.#ms > 0;
  }

  /**
   * How long its batches have failed in a row, in ms: from the first failure of the run to
   * `now`; 0 while the last one succeeded.
   *
   * @param now `performance.now()`.
   */
  failingFor(now: number): number {
    return this.#failingSince === undefined ? 0 : now - this.#failingSince;
  }

  /** The length of the last bench, in ms (0 after a success). */
  get ms(): number {
    return this.#ms;
  }

  /** A batch failed: bench the lane, twice as long as last time. */
  fail(): void {
    this.#failingSince ??= performance.now();
    this.#ms = this.#ms === 0 ? FIRST_BENCH_MS : Math.min(2 * this.#ms, MAX_BENCH_MS);
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#onEnd();
    }, this.#ms);
  }

  /** A batch succeeded: the next failure benches for the first back-off again. */
  succeed(): void {
    this.#ms = 0;
    this.#failingSince = undefined;
  }

  /** Forgets every failure and ends any bench, without calling `onEnd`. */
  reset(): void {
    this.#ms = 0;
    this.#failingSince = undefined;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Same as {@linkcode LaneBackoff.reset}. */
  [Symbol.dispose](): void {
    this.reset();
  }
}
