/**
 * How much work each increment spins: a number of units drawn uniformly from
 * a range, from a seeded generator when runs must repeat exactly.
 *
 * @module
 */
import { uniformInt } from "pure-rand/distribution/uniformInt";
import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus";

/** Options of {@linkcode unitDrawer}. */
export interface UnitDrawerOptions {
  /** Fewest units, 0 or more. */
  min: number;
  /** Most units, at least `min`. */
  max: number;
  /** Seed of the generator; without one, `Math.random` is used. */
  seed?: number;
}

/**
 * Makes a function that draws the units of one increment after another.
 *
 * @param options The range and the seed.
 * @returns A function returning a whole number in `[min, max]`.
 * @throws {RangeError} When the range is not two whole numbers with `0 <= min <= max`.
 *
 * @example
 * ```ts
 * import { unitDrawer } from "./work_units.ts";
 * import assert from "node:assert/strict";
 *
 * const a = unitDrawer({ min: 1, max: 10, seed: 7 });
 * const b = unitDrawer({ min: 1, max: 10, seed: 7 });
 * const drawn = [a(), a(), a()];
 * assert.deepEqual([b(), b(), b()], drawn);
 * assert.ok(drawn.every((u) => u >= 1 && u <= 10));
 * ```
 */
export function unitDrawer(options: UnitDrawerOptions): () => number {
  const { min, max, seed } = options;
  if (!Number.isInteger(min) || min < 0) {
    throw new RangeError(`'min' units must be an integer of 0 or more: received ${min}`);
  }
  if (!Number.isInteger(max) || max < min) {
    throw new RangeError(`'max' units must be an integer of at least ${min}: received ${max}`);
  }
  if (min === max) return () => min;
  if (seed === undefined) return () => min + Math.floor(Math.random() * (max - min + 1));
  const generator = xoroshiro128plus(seed);
  return () => uniformInt(generator, min, max);
}
