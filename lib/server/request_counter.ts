/**
 * The counter of one request, and the critical section that guards it.
 *
 * @module
 */
import { Mutex } from "async-mutex";
import type { CellRecord, CounterCell } from "../counter/counter_cell.ts";

/**
 * Hears each value the counter takes, inside the critical section. It may
 * return a promise (say, a write to the client), which the section awaits
 * before it stores the new value.
 */
export type ValueReporter<T> = (value: bigint, item: T) => void | Promise<void>;

/** Options of {@linkcode RequestCounter}. */
export interface RequestCounterOptions<T> {
  /**
   * The shared cell of a `racy` or `locked` request, where the Workers keep the
   * counter themselves: then each item's value is what its task wrote there, and
   * the counter counts the updates their writes erased. None for `parallel`.
   */
  cell?: CounterCell;
  /** With a cell: the task number (from 1) of an item, to find what its task did. */
  taskNo?: (item: T) => number;
}

/**
 * A request's counter, under one of the counter models (`lib/counter/counter_model.ts`).
 *
 * `parallel` (no cell): {@linkcode RequestCounter.add} is the critical section:
 * it reads the counter, reports each value it produces (which may await), and
 * writes the counter back. The Mutex makes the section whole, so no update is
 * lost and the values reported rise strictly, even when many Workers' reports
 * arrive at once.
 *
 * `racy` and `locked` (a cell): the Workers read and wrote the counter in the
 * cell themselves, so `add` only reports, in the same order-keeping section,
 * the value each task wrote; {@linkcode RequestCounter.updatesLost} says how
 * many increments their writes erased (always 0 for `locked` and `parallel`).
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
export class RequestCounter<T = unknown> {
  #start: bigint;
  #value: bigint;
  #cell: CounterCell | undefined;
  #taskNo: ((item: T) => number) | undefined;
  #lost = 0;
  #applied = 0;
  #sections = 0;
  #sectionsWaited = 0;
  /** Made on first need: most sections of a busy server never wait for it. */
  #mutex: Mutex | undefined;

  /**
   * @param start The value counting starts from.
   * @param options The cell of a `racy` or `locked` request.
   * @throws {TypeError} When a cell comes without `taskNo`.
   */
  constructor(start: bigint, options: RequestCounterOptions<T> = {}) {
    this.#start = start;
    this.#value = start;
    this.#cell = options.cell;
    this.#taskNo = options.taskNo;
    if (this.#cell && !this.#taskNo) {
      throw new TypeError("a RequestCounter with a cell needs 'taskNo' to find each task's record");
    }
  }

  /** The counter's current value: with a cell, what the Workers last wrote there. */
  get value(): bigint {
    return this.#cell ? this.#start + BigInt(this.#cell.value) : this.#value;
  }

  /**
   * Increments whose update was erased by another task's write, over the tasks
   * applied so far: at the end, `applied − (value − start)`.
   */
  get updatesLost(): number {
    return this.#lost;
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
  add(
    items: readonly T[],
    report: ValueReporter<T>,
    options: { mayAwait?: boolean } = {},
  ): bigint | Promise<bigint> {
    this.#sections++;
    const locked = this.#mutex?.isLocked() ?? false;
    if (options.mayAwait === false && !locked) return this.#syncSection(items, report);
    if (locked) this.#sectionsWaited++;
    this.#mutex ??= new Mutex();
    return this.#mutex.runExclusive(() => this.#section(items, report));
  }

  /**
   * What an item's task did to the cell (a `racy` or `locked` request only).
   *
   * @param item An item handed to {@linkcode RequestCounter.add}.
   * @returns Its record, or undefined without a cell.
   */
  record(item: T): CellRecord | undefined {
    return this.#cell?.record(this.#taskNo!(item));
  }

  async #section(items: readonly T[], report: ValueReporter<T>): Promise<bigint> {
    let value = this.#value; // read
    for (const item of items) {
      value = this.#cell ? this.#applyRecord(item) : value + 1n;
      const reported = report(value, item);
      if (reported) await reported;
    }
    if (!this.#cell) {
      this.#value = value; // write back
      this.#applied += items.length;
    }
    return this.#cell ? this.value : value;
  }

  #syncSection(items: readonly T[], report: ValueReporter<T>): bigint {
    let value = this.#value;
    for (const item of items) {
      value = this.#cell ? this.#applyRecord(item) : value + 1n;
      if (report(value, item)) {
        throw new TypeError("a report returned a promise in a section declared mayAwait: false");
      }
    }
    if (this.#cell) return this.value;
    this.#value = value;
    this.#applied += items.length;
    return value;
  }

  /** Counts one task of a cell's request: the value its task wrote there. */
  #applyRecord(item: T): bigint {
    const record = this.record(item)!;
    this.#lost += record.erased;
    this.#applied++;
    return this.#start + BigInt(record.written);
  }
}
