/**
 * The pool's side of a task ring (laid out in `task_ring.ts`): it writes task
 * rows, wakes the Worker only when it sleeps, and reads the report rows back.
 *
 * @module
 */
import {
  DONE,
  MESSAGES,
  newTaskRing,
  openTaskRing,
  SLEEPING,
  STOPPED,
  TAIL,
  type TaskRingInit,
  WAKE,
} from "./task_ring.ts";
import { REPORT_STRIDE, TASK_STRIDE } from "./worker_messages.ts";

/**
 * The pool's side of one Worker's task ring.
 *
 * @example
 * ```ts
 * import { TaskRingWriter } from "./task_ring_writer.ts";
 * import { TaskRingReader } from "./task_ring_reader.ts";
 * import { REPORT_STRIDE } from "./worker_messages.ts";
 * import assert from "node:assert/strict";
 *
 * const pool = new TaskRingWriter({ capacity: 4, iterationsPerUnit: 10 });
 * const worker = new TaskRingReader(pool.init); // in the Worker, from the init message
 * pool.push(7, 2);
 * pool.publish();
 * worker.run(worker.take()); // one task waits (take() would sleep on none)
 * const report = new Float64Array(4 * REPORT_STRIDE);
 * assert.equal(pool.readReports(report), 1);
 * assert.deepEqual([report[0], report[1]], [7, 2]); // task 7 ran 2 units
 * assert.ok(report[3] >= report[2]); // ended after it started
 * pool.stop();
 * assert.equal(worker.take(), 0); // stopped: the Worker returns to its event loop
 * ```
 */
export class TaskRingWriter {
  /** What the Worker is sent to open the same ring. */
  readonly init: TaskRingInit;
  #control: Int32Array<SharedArrayBuffer>;
  #tasks: Float64Array<SharedArrayBuffer>;
  #reports: Float64Array<SharedArrayBuffer>;
  #mask: number;
  #written = 0;
  #read = 0;

  /**
   * Makes a ring for a new Worker.
   *
   * @param options Its capacity (rounded up to a power of two) and work model.
   * @throws {RangeError} When `capacity` is not a positive integer.
   */
  constructor(options: { capacity: number; iterationsPerUnit: number }) {
    this.init = newTaskRing(options);
    const { control, tasks, reports, mask } = openTaskRing(this.init);
    this.#control = control;
    this.#tasks = tasks;
    this.#reports = reports;
    this.#mask = mask;
  }

  /** Task rows in the ring: at most this many tasks are unreported at once. */
  get capacity(): number {
    return this.init.capacity;
  }

  /** Tasks written and not yet reported back: at most `capacity`. */
  get unreported(): number {
    return (this.#written - this.#read) | 0;
  }

  /**
   * Writes a task; the Worker sees it after {@linkcode TaskRingWriter.publish}.
   *
   * @param id The task's id.
   * @param units Its work units.
   * @throws {RangeError} When `capacity` tasks are unreported already.
   */
  push(id: number, units: number): void {
    if (this.unreported >= this.init.capacity) {
      throw new RangeError(`the task ring is full: ${this.init.capacity} tasks unreported`);
    }
    const at = (this.#written & this.#mask) * TASK_STRIDE;
    this.#tasks[at] = id;
    this.#tasks[at + 1] = units;
    this.#written = (this.#written + 1) | 0;
  }

  /** Shows the Worker the tasks written, and wakes it if it sleeps. */
  publish(): void {
    Atomics.store(this.#control, TAIL, this.#written);
    if (Atomics.load(this.#control, SLEEPING) === 1) this.#wakeWorker();
  }

  /**
   * Copies the reports the Worker has written since the last read into `into`, from its
   * first row, in the order the tasks were written. Copied into the caller's memory, not
   * handed out as a new array: a typed array per wake-up would be garbage on every
   * request of a busy server.
   *
   * @param into Where to copy them, {@linkcode REPORT_STRIDE} numbers a row; `capacity`
   *   rows hold any read.
   * @param max Most rows to read now; the rest wait for the next call.
   * @returns How many rows were copied.
   */
  readReports(into: Float64Array, max: number = this.init.capacity): number {
    const done = Atomics.load(this.#control, DONE);
    const count = Math.min((done - this.#read) | 0, max, Math.floor(into.length / REPORT_STRIDE));
    const reports = this.#reports;
    for (let i = 0; i < count; i++) {
      const from = ((this.#read + i) & this.#mask) * REPORT_STRIDE;
      for (let k = 0; k < REPORT_STRIDE; k++) into[i * REPORT_STRIDE + k] = reports[from + k];
    }
    this.#read = (this.#read + count) | 0;
    return count;
  }

  /**
   * The task the Worker runs now, sampled at no cost to it: before a task's spin the
   * Worker writes its start, then its id, into the task's report row (`TaskRunner`), so a
   * row past the last report that holds its own task's id is a task started and not ended.
   *
   * @returns The task's id and when it started (ms since the epoch, by the Worker's
   *   clock), or `undefined` when the Worker runs none.
   */
  running(): { id: number; startedAt: number } | undefined {
    const done = Atomics.load(this.#control, DONE);
    if (((this.#written - done) | 0) <= 0) return undefined;
    const row = done & this.#mask;
    const id = this.#tasks[row * TASK_STRIDE];
    const startedAt = this.#reports[row * REPORT_STRIDE + 2];
    // A fresh ring's rows are zeros: a task of id 0 that has not started has no start yet.
    if (this.#reports[row * REPORT_STRIDE] !== id || startedAt === 0) return undefined;
    return { id, startedAt };
  }

  /**
   * Waits, without blocking the thread, until the Worker reports more.
   *
   * @returns A promise when there is nothing new yet; `undefined` when there is.
   */
  whenReported(): Promise<unknown> | undefined {
    const waiting = Atomics.waitAsync(this.#control, DONE, this.#read);
    return waiting.async ? waiting.value : undefined;
  }

  /**
   * Tells the Worker that a message follows, which it must read before the tasks
   * published after this call: it returns to its event loop for it. Post the message
   * right after.
   */
  announceMessage(): void {
    Atomics.add(this.#control, MESSAGES, 1);
    this.#wakeWorker();
  }

  /** Tells the Worker to stop taking tasks and return to its event loop, and wakes it. */
  stop(): void {
    Atomics.store(this.#control, STOPPED, 1);
    this.#wakeWorker();
  }

  /** Wakes whoever waits in {@linkcode TaskRingWriter.whenReported}: for closing. */
  wakeReader(): void {
    Atomics.notify(this.#control, DONE);
  }

  #wakeWorker(): void {
    Atomics.add(this.#control, WAKE, 1);
    Atomics.notify(this.#control, WAKE);
  }
}
