/**
 * A remote Worker's time per work unit, as the server estimates it, and the
 * deadline of a batch that follows from it. The estimate starts at a slow
 * machine's speed and follows what the Worker's checked reports measure, but
 * never leaves bounds: a node's claims cannot make a deadline overflow a timer,
 * nor shrink it below what the network needs.
 *
 * @module
 */
import { MAX_BATCH_DEADLINE_MS } from "../defaults/defaults.ts";

/** Additions a ms a slow machine's Worker does: the first guess of a remote Worker's speed. */
const FIRST_GUESS_ADDITIONS_PER_MS = 100_000;
/** How much each report moves the estimate (exponential average). */
const ESTIMATE_WEIGHT = 0.3;
/** Slowest time per unit believed, as a multiple of the first guess (a slow machine's). */
export const SLOWEST_UNIT_FACTOR = 10;
/** Fastest time per unit believed, as a fraction of the first guess. */
export const FASTEST_UNIT_FRACTION = 1 / 1000;

/**
 * The time per unit of one remote Worker, and its batches' deadlines.
 *
 * @example
 * ```ts
 * import { MAX_BATCH_DEADLINE_MS } from "../defaults/defaults.ts";
import { UnitTime } from "./unit_time.ts";
 * import assert from "node:assert/strict";
 *
 * const time = new UnitTime(1_000_000); // 10 ms a unit at first
 * assert.equal(time.deadline(2000, 10), 2300);
 * time.measured(1e306, 1); // a lie: believed only up to the bound
 * assert.ok(time.deadline(2000, 1e9) === MAX_BATCH_DEADLINE_MS);
 * ```
 */
export class UnitTime {
  #guess: number;
  #msPerUnit: number;

  /**
   * @param iterationsPerUnit Additions per work unit.
   */
  constructor(iterationsPerUnit: number) {
    this.#guess = iterationsPerUnit / FIRST_GUESS_ADDITIONS_PER_MS;
    this.#msPerUnit = Math.max(this.#guess, 0.01);
  }

  /**
   * Takes in a measurement: `units` units ran in `ms` ms.
   *
   * @param ms Time spent.
   * @param units Units run (more than 0).
   */
  measured(ms: number, units: number): void {
    const sample = Math.min(
      Math.max(ms / units, this.#guess * FASTEST_UNIT_FRACTION),
      this.#guess * SLOWEST_UNIT_FACTOR,
    );
    this.#msPerUnit += ESTIMATE_WEIGHT * (sample - this.#msPerUnit);
  }

  /**
   * The deadline of a batch: `minMs` plus three times the expected run time of `units`
   * (the batch's and those queued ahead of it), at most {@linkcode MAX_BATCH_DEADLINE_MS}.
   *
   * @param minMs The least deadline, in ms.
   * @param units The units to wait for.
   * @returns The deadline, in whole ms.
   */
  deadline(minMs: number, units: number): number {
    return Math.min(MAX_BATCH_DEADLINE_MS, Math.ceil(minMs + 3 * units * this.#msPerUnit));
  }
}
