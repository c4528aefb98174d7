/**
 * A served session's two clocks, which the idle sweep reads: how long it has gone
 * without a request with work (the idle timeout's), and how long it has held its
 * slot as it is now (the slot hold's).
 *
 * @module
 */

/**
 * The clocks of one session, in `performance.now()` ms. The idle clock starts when
 * the client connects (one who waited in line and sent nothing gets no fresh hold
 * when its turn comes), stops while a count runs, and restarts when a count with
 * work ends; the turn starts when the client takes its slot, and again each time it
 * comes back from the line.
 *
 * @example
 * ```ts
 * import { SlotClock } from "./slot_clock.ts";
 * import assert from "node:assert/strict";
 *
 * const clock = new SlotClock(0, 10);
 * assert.deepEqual([clock.idleFor(100), clock.heldFor(100)], [100, 100]);
 * clock.countStarted();
 * assert.deepEqual([clock.idleFor(100), clock.heldFor(100)], [0, 90], "its turn goes on");
 * clock.countEnded(true, 50);
 * assert.deepEqual([clock.idleFor(100), clock.heldFor(100)], [50, 90]);
 * clock.turnStarted(80);
 * assert.deepEqual([clock.idleFor(100), clock.heldFor(100)], [50, 50]);
 * ```
 */
export class SlotClock {
  /** Since when no complete request with work: undefined while a count runs. */
  #idleSince: number | undefined;
  /** The idle clock as it was when the count in hand started. */
  #idleBefore: number | undefined;
  #turnSince: number;

  /**
   * @param connectedAt When the client connected.
   * @param servedAt When it took its slot.
   */
  constructor(connectedAt = performance.now(), servedAt = performance.now()) {
    this.#idleSince = connectedAt;
    this.#turnSince = servedAt;
  }

  /**
   * How long without a complete request with work, in ms: 0 while a count runs.
   *
   * @param now `performance.now()`.
   * @returns The time, in ms.
   */
  idleFor(now: number): number {
    return this.#idleSince === undefined ? 0 : now - this.#idleSince;
  }

  /**
   * How long the slot has been held as it is now, in ms: the turn so far, or the idle
   * time when longer. Past the slot hold, while others wait with a request, the client
   * goes back in line once its request in hand is answered: so neither idling, nor a
   * request every so often, nor a pipelined stream of them keeps a slot.
   *
   * @param now `performance.now()`.
   * @returns The time, in ms.
   */
  heldFor(now: number): number {
    return now - Math.min(this.#idleSince ?? this.#turnSince, this.#turnSince);
  }

  /** A count starts: the idle clock stops. */
  countStarted(): void {
    this.#idleBefore = this.#idleSince;
    this.#idleSince = undefined;
  }

  /**
   * The count ended.
   *
   * @param withWork Whether it had work: only then does the idle clock restart (`0 0`, like
   *   `STATS`, is not enough to keep a slot while others wait).
   * @param now `performance.now()`.
   */
  countEnded(withWork: boolean, now = performance.now()): void {
    this.#idleSince = withWork ? now : this.#idleBefore;
  }

  /**
   * The client's turn starts again: it came back from the line.
   *
   * @param now `performance.now()`.
   */
  turnStarted(now = performance.now()): void {
    this.#turnSince = now;
  }
}
