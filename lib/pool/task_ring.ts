/**
 * The layout of a task ring: the memory one Worker shares with the pool, read
 * and written with `Atomics`, so that a task costs no structured clone and a
 * busy Worker needs no wake-up. The pool's side is the `TaskRingWriter`
 * (`task_ring_writer.ts`), the Worker's the `TaskRingReader` (`task_ring_reader.ts`);
 * this module is the layout both read the memory by.
 *
 * A `SharedArrayBuffer`, `capacity` a power of two:
 * - control, `Int32Array(6)`: tasks published by the pool ({@linkcode TAIL}), tasks
 *   reported by the Worker ({@linkcode DONE}), whether the Worker sleeps
 *   ({@linkcode SLEEPING}), whether the pool has stopped the ring ({@linkcode STOPPED}),
 *   messages the pool has announced ({@linkcode MESSAGES}), and the wake-ups of a
 *   sleeping Worker ({@linkcode WAKE}, what it waits on); counts run on and wrap at
 *   2³², and task `k` lives in row `k & (capacity - 1)`;
 * - tasks, `Float64Array(capacity × TASK_STRIDE)`: task rows `[id, units]`;
 * - reports, `Float64Array(capacity × REPORT_STRIDE)`: report rows
 *   `[id, units, startedAt, endedAt]`, the report of task `k` in row `k & (capacity - 1)`.
 *
 * The rows are those of every batch (see `worker_messages.ts`); the work model, a
 * batch's header, is in the ring's init, once.
 *
 * The pool keeps at most `capacity` tasks unreported, so no row is overwritten
 * before it is read. The Worker runs tasks in order; when it finds none it sets
 * `SLEEPING` and waits on `WAKE`, and the pool wakes only a sleeping Worker.
 * The pool waits on `DONE` with `Atomics.waitAsync`; the Worker notifies when it
 * has run every task it found, or at least every `REPORT_EVERY_MS`.
 * Before the pool terminates a Worker it stops the ring, and the Worker returns
 * to its event loop: Deno cannot terminate a Worker that never does, and a
 * process with such a Worker never exits. Likewise, a message the pool must send
 * while the Worker runs its ring (the payloads of a batch's tasks) is announced
 * in `MESSAGES` before the tasks that need it are published: the Worker then
 * returns to its event loop to read it, and takes the ring again.
 *
 * @module
 */
import { REPORT_STRIDE, TASK_STRIDE } from "./worker_messages.ts";

/** Control word: tasks the pool has published. */
export const TAIL = 0;
/** Control word: tasks the Worker has reported. */
export const DONE = 1;
/** Control word: 1 while the Worker sleeps, or is about to. */
export const SLEEPING = 2;
/** Control word: 1 once the pool has stopped the ring. */
export const STOPPED = 3;
/** Control word: messages the pool has announced. */
export const MESSAGES = 4;
/**
 * Control word: bumped by whoever wakes a sleeping Worker, and what the Worker waits on:
 * a wake-up (a publish, a stop, a message) that comes between the Worker's last look and
 * its wait changes the word, so the wait returns at once instead of missing it.
 */
export const WAKE = 5;
const CONTROL_WORDS = 6;
const CONTROL_BYTES = CONTROL_WORDS * Int32Array.BYTES_PER_ELEMENT;
const ROW_BYTES = (TASK_STRIDE + REPORT_STRIDE) * Float64Array.BYTES_PER_ELEMENT;

/** What the Worker is sent, once, to open the pool's ring: the memory and the work model. */
export interface TaskRingInit {
  /** The ring's memory, laid out as this module's description says. */
  buffer: SharedArrayBuffer;
  /** Task rows in the ring: a power of two. */
  capacity: number;
  /** Additions per work unit. */
  iterationsPerUnit: number;
}

/** A ring's memory, as views over its parts. */
export interface TaskRingMemory {
  /** The control words. */
  control: Int32Array<SharedArrayBuffer>;
  /** The task rows. */
  tasks: Float64Array<SharedArrayBuffer>;
  /** The report rows. */
  reports: Float64Array<SharedArrayBuffer>;
  /** The capacity less one: task `k` is in row `k & mask`. */
  mask: number;
}

/**
 * Makes the memory of a new ring.
 *
 * @param options Its capacity (rounded up to a power of two) and work model.
 * @returns What the Worker is sent to open it.
 * @throws {RangeError} When `capacity` is not a positive integer.
 *
 * @example
 * ```ts
 * import { newTaskRing } from "./task_ring.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(newTaskRing({ capacity: 5, iterationsPerUnit: 10 }).capacity, 8);
 * ```
 */
export function newTaskRing(
  options: { capacity: number; iterationsPerUnit: number },
): TaskRingInit {
  const { capacity, iterationsPerUnit } = options;
  if (!Number.isInteger(capacity) || capacity < 1) {
    throw new RangeError(`'capacity' must be a positive integer: received ${capacity}`);
  }
  const rows = 2 ** Math.ceil(Math.log2(capacity));
  const buffer = new SharedArrayBuffer(CONTROL_BYTES + rows * ROW_BYTES);
  return { buffer, capacity: rows, iterationsPerUnit };
}

/**
 * Opens a ring's memory: either side, from the same init.
 *
 * @param init The ring and its work model.
 * @returns Views of its parts.
 * @throws {TypeError} When `init` is not a {@linkcode TaskRingInit} of this layout.
 *
 * @example
 * ```ts
 * import { newTaskRing, openTaskRing, TAIL } from "./task_ring.ts";
 * import assert from "node:assert/strict";
 *
 * const { control, tasks, mask } = openTaskRing(newTaskRing({ capacity: 4, iterationsPerUnit: 1 }));
 * assert.equal(Atomics.load(control, TAIL), 0); // nothing published yet
 * assert.equal(tasks.length, 8); // four rows of [id, units]
 * assert.equal(mask, 3);
 * ```
 */
export function openTaskRing(init: TaskRingInit): TaskRingMemory {
  const { buffer, capacity, iterationsPerUnit } = init ?? {};
  if (
    !(buffer instanceof SharedArrayBuffer) || !Number.isInteger(capacity) || capacity < 1 ||
    (capacity & (capacity - 1)) !== 0 || typeof iterationsPerUnit !== "number" ||
    buffer.byteLength !== CONTROL_BYTES + capacity * ROW_BYTES
  ) {
    throw new TypeError(
      "a task ring needs { buffer: SharedArrayBuffer, capacity: power of two, " +
        "iterationsPerUnit: number } laid out as in task_ring.ts",
    );
  }
  const tasksAt = CONTROL_BYTES;
  const reportsAt = tasksAt + capacity * TASK_STRIDE * Float64Array.BYTES_PER_ELEMENT;
  return {
    control: new Int32Array(buffer, 0, CONTROL_WORDS),
    tasks: new Float64Array(buffer, tasksAt, capacity * TASK_STRIDE),
    reports: new Float64Array(buffer, reportsAt, capacity * REPORT_STRIDE),
    mask: capacity - 1,
  };
}
