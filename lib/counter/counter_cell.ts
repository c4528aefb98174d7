/**
 * The shared counter of one `racy` or `locked` request, the main thread's side: a
 * `SharedArrayBuffer` (laid out in `counter_layout.ts`) that the Workers read and
 * write themselves, as the original's threads read and wrote their global `num`.
 * The main thread makes the cell, gives each task its {@linkcode CounterPayload} and
 * reads what happened; a Worker runs `CounterTasks` (`counter_tasks.ts`) around each
 * task's spin. The pool carries the payloads without knowing what they are: a
 * {@linkcode CounterCell} is a job's `payloads`. A Worker never blocks the main
 * thread: only Workers wait for the lock, and {@linkcode CounterCell.abandon}
 * releases them.
 *
 * A stepped request (`SCHEDULE`, `STEP`) also has a {@linkcode StepGate}: each task's
 * read (for `locked`: its try at the lock, then its read) and its write wait for the
 * schedule to name its Worker; a try that finds the lock held is a step of its own.
 *
 * @module
 */
import type { StepGate } from "./step_gate.ts";
import {
  ABANDONED,
  attemptIndex,
  BEFORE,
  type CounterPayload,
  HEADER,
  PER_TASK,
  READ,
  READ_TICK,
  release,
  SERVING,
  VALUE,
  WRITE_TICK,
} from "./counter_layout.ts";

export type { CounterPayload };

/** What one task did to the cell, read back on the main thread after it reported. */
export interface CellRecord {
  /** The value it read when it started (relative to the request's start). */
  read: number;
  /** The value it wrote when it ended: `read + 1`. */
  written: number;
  /** What `value` held just before its write. */
  before: number;
  /** Increments of other tasks its write erased (`before − read`; negative when it restored some). */
  erased: number;
  /** Its place in the cell's clock when it read. */
  readTick: number;
  /** Its place in the cell's clock when it wrote. */
  writeTick: number;
}

/**
 * The main thread's side of a request's shared counter.
 *
 * @example
 * ```ts
 * import { CounterCell } from "./counter_cell.ts";
 * import { CounterTasks } from "./counter_tasks.ts";
 * import assert from "node:assert/strict";
 *
 * const cell = CounterCell.create("racy", 2);
 * const worker = new CounterTasks(); // as a Worker would, here on one thread
 * worker.carry(7, cell.payload(1)); // task 7 is the request's first
 * worker.carry(8, cell.payload(2));
 * worker.before(7); worker.before(8); // both read 0
 * worker.after(7); worker.after(8); // both write 1: one update lost
 * assert.equal(cell.value, 1);
 * assert.equal(cell.record(2).erased, 1);
 * ```
 */
export class CounterCell {
  /** The shared memory. */
  readonly buffer: SharedArrayBuffer;
  /** Whether tasks take the lock. */
  readonly locked: boolean;
  /** A stepped request's schedule. */
  readonly gate: StepGate | undefined;
  #view: Int32Array;
  #tasks: number;

  private constructor(buffer: SharedArrayBuffer, locked: boolean, tasks: number, gate?: StepGate) {
    this.buffer = buffer;
    this.locked = locked;
    this.#view = new Int32Array(buffer);
    this.#tasks = tasks;
    this.gate = gate;
  }

  /**
   * Makes the cell of a request.
   *
   * @param model `racy` or `locked`.
   * @param tasks The request's increments.
   * @param gate A stepped request's schedule: task `no` is then its Worker (`no` − 1) mod
   *   the gate's Workers.
   * @returns The cell, its value 0.
   * @throws {RangeError} When `tasks` is not an integer from 0 to 2^28.
   */
  static create(model: "racy" | "locked", tasks: number, gate?: StepGate): CounterCell {
    if (!Number.isInteger(tasks) || tasks < 0 || tasks > 2 ** 28) {
      throw new RangeError(`'tasks' must be an integer from 0 to 2^28: received ${tasks}`);
    }
    const buffer = new SharedArrayBuffer((HEADER + PER_TASK * tasks) * 4);
    return new CounterCell(buffer, model === "locked", tasks, gate);
  }

  /** The counter's value now, relative to the request's start. */
  get value(): number {
    return Atomics.load(this.#view, VALUE);
  }

  /**
   * What task `no` of the job carries to its Worker on the run being sent.
   *
   * @param no The task's number in its job, from 1.
   * @returns Its reference to this cell, and the run's attempt.
   */
  payload(no: number): CounterPayload {
    this.#check(no);
    const slot = no - 1;
    const attempt = Atomics.load(this.#view, attemptIndex(slot));
    const { buffer, locked, gate } = this;
    if (!gate) return { buffer, locked, slot, attempt };
    return { buffer, locked, slot, attempt, gate: gate.buffer, worker: slot % gate.workers };
  }

  /**
   * Gives up on the run of task `no` last sent (its Worker died, and the task will be sent
   * again): that Worker, if it still runs for a moment (terminating a Worker takes a
   * while), can no longer read or write the cell for it, and the lock, if that run held
   * it, goes to the next task, so the request does not stall. Give up on a Worker's runs
   * the last sent first: a run of the same Worker waiting behind the lock is then given
   * up on before the lock moves, and cannot slip in.
   *
   * @param no The task's number in its job, from 1.
   */
  revoke(no: number): void {
    this.#check(no);
    Atomics.add(this.#view, attemptIndex(no - 1), 1);
    if (this.locked) release(this.#view, no - 1);
    this.gate?.wake();
  }

  /**
   * What task `no` did: read once it has reported.
   *
   * @param no The task's number in its job, from 1.
   * @returns Its record.
   */
  record(no: number): CellRecord {
    this.#check(no);
    const at = HEADER + PER_TASK * (no - 1);
    const view = this.#view;
    const read = Atomics.load(view, at + READ);
    const before = Atomics.load(view, at + BEFORE);
    return {
      read,
      written: read + 1,
      before,
      erased: before - read,
      readTick: Atomics.load(view, at + READ_TICK),
      writeTick: Atomics.load(view, at + WRITE_TICK),
    };
  }

  /**
   * Releases every Worker waiting for this cell's lock, for a request that ended
   * early (its client left, or a task failed): their tasks then neither read nor write.
   */
  abandon(): void {
    Atomics.store(this.#view, ABANDONED, 1);
    Atomics.notify(this.#view, SERVING);
    this.gate?.wake();
  }

  #check(no: number): void {
    if (!Number.isInteger(no) || no < 1 || no > this.#tasks) {
      throw new RangeError(`task number must be from 1 to ${this.#tasks}: received ${no}`);
    }
  }
}
