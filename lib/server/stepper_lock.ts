/**
 * One stepped count at a time on a pool: two schedules on the same Workers could each
 * wait for a Worker the other holds. A count waiting for its turn gives it up when it
 * is cancelled (its client hung up, or the server stops), so a dead connection does not
 * keep its slot until the stepped count before it ends.
 *
 * @module
 */
import { Mutex } from "async-mutex";

/** One lock per pool: a stepped count holds it from its start to its end. */
const STEPPERS = new WeakMap<object, Mutex>();

function stepperOf(pool: object): Mutex {
  let stepper = STEPPERS.get(pool);
  if (!stepper) STEPPERS.set(pool, stepper = new Mutex());
  return stepper;
}

/**
 * Whether a stepped count runs on `pool` now (a new one would wait).
 *
 * @param pool The Worker pool.
 * @returns True while one holds the pool's turn.
 */
export function steppingOn(pool: object): boolean {
  return stepperOf(pool).isLocked();
}

/**
 * Waits for the pool's turn to step a count.
 *
 * @param pool The Worker pool.
 * @param signal The count's cancellation: once aborted, the wait ends.
 * @returns The release of the turn.
 * @throws The signal's reason (rejects), when it is aborted before the turn comes; the
 *   turn, when it comes, is handed on at once.
 *
 * @example
 * ```ts
 * import { steppingOn, takeStepTurn } from "./stepper_lock.ts";
 * import assert from "node:assert/strict";
 *
 * const pool = {};
 * const release = await takeStepTurn(pool, new AbortController().signal);
 * assert.equal(steppingOn(pool), true);
 * const gone = new AbortController();
 * const waiting = takeStepTurn(pool, gone.signal);
 * gone.abort(new Error("client disconnected"));
 * await assert.rejects(waiting, /client disconnected/);
 * release(); // the given-up turn passes straight on, to the next who asks
 * const next = await takeStepTurn(pool, new AbortController().signal);
 * next();
 * assert.equal(steppingOn(pool), false);
 * ```
 */
export async function takeStepTurn(pool: object, signal: AbortSignal): Promise<() => void> {
  signal.throwIfAborted();
  const turn = stepperOf(pool).acquire();
  const { promise: aborted, reject } = Promise.withResolvers<never>();
  const onAbort = () => reject(signal.reason);
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    return await Promise.race([turn, aborted]);
  } catch (error) {
    turn.then((release) => release());
    throw error;
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}
