/**
 * The counter of one request, and the critical section that guards it.
 *
 * @module
 */
import { Mutex } from "async-mutex";

/**
 * Hears each value the counter takes, inside the critical section. It may
 * return a promise (say, a write to the client), which the section awaits
 * before it stores the new value.
 */
export type ValueReporter<T> = (value: bigint, item: T) => void | Promise<void>;

/** Options of {@linkcode RequestCounter}. */
export interface RequestCounterOptions {
  /**
   * Whether the critical section holds the Mutex. Only the test that shows
   * lost updates turns it off. Defaults to `true`.
   */
  guarded?: boolean;
}

/**
 * A request's counter. {@linkcode RequestCounter.add} is the critical section:
 * it reads the counter, reports each value it produces (which may await), and
 * writes the counter back. The Mutex makes the section whole, so no update is
 * lost and the values reported rise strictly, even when many Workers' reports
 * arrive at once.
 *
 * @example
 * ```ts
 * import { RequestCounter } from "./request_counter.ts";
 * import assert from "node:assert/strict";
 *
 * const counter = new RequestCounter(2n);
 * const seen: bigint[] = [];
 * await Promise.all([
 *   counter.add(["a", "b"], (value) => void seen.push(value)),
 *   counter.add(["c"], (value) => void seen.push(value)),
 * ]);
 * assert.equal(counter.value, 5n);
 * assert.deepEqual(seen, [3n, 4n, 5n]);
 * ```
 */
export class RequestCounter {
  #value: bigint;
  #applied = 0;
  #sections = 0;
  #sectionsWaited = 0;
  #guarded: boolean;
  /** Made on first need: most sections of a busy server never wait for it. */
  #mutex: Mutex | undefined;

  /**
   * @param start The value counting starts from.
   * @param options Whether the section is guarded.
   */
  constructor(start: bigint, options: RequestCounterOptions = {}) {
    this.#value = start;
    this.#guarded = options.guarded !== false;
  }

  /** The counter's current value. */
  get value(): bigint {
    return this.#value;
  }

  /** How many increments have been applied. */
  get applied(): number {
    return this.#applied;
  }

  /** Critical sections entered so far (one per call of {@linkcode RequestCounter.add}). */
  get sections(): number {
    return this.#sections;
  }

  /** Sections that found the Mutex held and waited for it. */
  get sectionsWaited(): number {
    return this.#sectionsWaited;
  }

  /** Whether a section holds the Mutex now (only a section that awaits can be seen holding it). */
  get held(): boolean {
    return this.#mutex?.isLocked() ?? false;
  }

  /**
   * Adds one for each item, reporting every value produced, as one critical section.
   *
   * A section whose reports may await (a write to the client) holds the Mutex
   * for its whole read-report-write. A section that cannot await runs to
   * completion without yielding, which JavaScript never interrupts: when no one
   * holds the Mutex it runs at once, with no promise at all; when someone does,
   * it queues for the Mutex like the others.
   *
   * @param items One item per increment (a task's report, say), handed to `report`.
   * @param report Hears each new value, in rising order.
   * @param options `mayAwait: false` promises that `report` never returns a promise.
   * @returns The value after the last increment of this call (at once, when it could run at once).
   * @throws {TypeError} When `mayAwait` is false and `report` returns a promise.
   */
  add<T>(
    items: readonly T[],
    report: ValueReporter<T>,
    options: { mayAwait?: boolean } = {},
  ): bigint | Promise<bigint> {
    this.#sections++;
    if (!this.#guarded) return this.#section(items, report);
    const locked = this.#mutex?.isLocked() ?? false;
    if (options.mayAwait === false && !locked) return this.#syncSection(items, report);
    if (locked) this.#sectionsWaited++;
    this.#mutex ??= new Mutex();
    return this.#mutex.runExclusive(() => this.#section(items, report));
  }

  async #section<T>(items: readonly T[], report: ValueReporter<T>): Promise<bigint> {
    let value = this.#value; // read
    for (const item of items) {
      value += 1n;
      const reported = report(value, item);
      if (reported) await reported;
    }
    this.#value = value; // write back
    this.#applied += items.length;
    return value;
  }

  #syncSection<T>(items: readonly T[], report: ValueReporter<T>): bigint {
    let value = this.#value;
    for (const item of items) {
      value += 1n;
      if (report(value, item)) {
        throw new TypeError("a report returned a promise in a section declared mayAwait: false");
      }
    }
    this.#value = value;
    this.#applied += items.length;
    return value;
  }
}
