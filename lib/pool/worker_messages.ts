/**
 * What passes between the {@linkcode WorkerPool} and its Workers: a task ring in
 * a `SharedArrayBuffer` per Worker, read and written with `Atomics`, so that a
 * task costs no structured clone and a busy Worker needs no wake-up; messages
 * only for what is rare.
 *
 * Messages. Worker to pool: {@linkcode WORKER_READY} once, when its module has
 * loaded (a Worker that dies before that cannot run at all); `{ error: string }`
 * for a message it cannot use: a Worker never throws across the boundary on purpose.
 * Pool to Worker, once: {@linkcode TaskRingInit} (the ring and the work model).
 *
 * A Worker can also be fed batches as messages, for a feeder that gets them as
 * messages itself (a worker node, from the network): a batch is a `Float64Array`
 * `[iterationsPerUnit, id, units, id, units, …]` ({@linkcode BATCH_STRIDE}), run by
 * {@linkcode runBatch}, answered with the report rows below as one `Float64Array`.
 *
 * The ring ({@linkcode TaskRing}), `capacity` a power of two:
 * - control, `Int32Array(6)`: tasks written by the pool (`TAIL`), tasks done by
 *   the Worker (`DONE`), whether the Worker sleeps (`SLEEPING`), whether the pool
 *   has stopped the ring (`STOPPED`), messages the pool has announced
 *   (`MESSAGES`), and the wake-ups of a sleeping Worker (`WAKE`, what it waits on);
 *   counts run on and wrap at 2³², and task `k` lives in row `k & (capacity - 1)`;
 * - tasks, `Float64Array(capacity × 2)`: rows `[id, units]`;
 * - reports, `Float64Array(capacity × 4)`: rows `[id, units, startedAt, endedAt]`,
 *   the report of task `k` in row `k & (capacity - 1)`, times in milliseconds since
 *   the Unix epoch (`performance.timeOrigin + performance.now()`), so the main
 *   thread can compare intervals from different Workers.
 *
 * The pool keeps at most `capacity` tasks unreported, so no row is overwritten
 * before it is read. The Worker runs tasks in order; when it finds none it sets
 * `SLEEPING` and waits on `TAIL`, and the pool notifies only a sleeping Worker.
 * The pool waits on `DONE` with `Atomics.waitAsync`; the Worker notifies when it
 * has run every task it found, or at least every {@linkcode REPORT_EVERY_MS}.
 * Before the pool terminates a Worker it stops the ring, and the Worker returns
 * to its event loop: Deno cannot terminate a Worker that never does, and a
 * process with such a Worker never exits. Likewise, a message the pool must send
 * while the Worker runs its ring (the cells of a `racy` or `locked` request's
 * tasks) is announced in `MESSAGES` before the tasks that need it are published:
 * the Worker then returns to its event loop to read it, and takes the ring again.
 *
 * @module
 */

/** Numbers per task in the ring's task rows. */
export const TASK_STRIDE = 2;
/** Numbers per task in a batch sent as a message, after its leading `iterationsPerUnit`. */
export const BATCH_STRIDE = 2;
/** Numbers per task in a report row. */
export const REPORT_STRIDE = 4;
/**
 * A Worker busy with a long run of tasks tells the pool of those done at least
 * this often, so progress and the dashboard stay live.
 */
export const REPORT_EVERY_MS = 1;

/** What a Worker posts once, when its module has loaded and it listens. */
export const WORKER_READY = "ready";

/** A message the Worker could not use. */
export interface WorkerFailure {
  error: string;
}

/** The one message the pool sends a Worker: its ring and the work model. */
export interface TaskRingInit {
  /** The ring's memory, laid out as this module's description says. */
  buffer: SharedArrayBuffer;
  /** Task rows in the ring: a power of two. */
  capacity: number;
  /** Additions per work unit. */
  iterationsPerUnit: number;
}

const TAIL = 0;
const DONE = 1;
const SLEEPING = 2;
const STOPPED = 3;
const MESSAGES = 4;
/**
 * Bumped by whoever wakes a sleeping Worker, and what the Worker waits on: a wake-up
 * (a publish, a stop, a message) that comes between the Worker's last look and its wait
 * changes the word, so the wait returns at once instead of missing it.
 */
const WAKE = 5;
const CONTROL_BYTES = 24;

/**
 * Spins the original's busy loop: `units × iterationsPerUnit` floating-point additions.
 *
 * @param units Work units to spin.
 * @param iterationsPerUnit Additions per unit.
 * @returns The sum, so the loop cannot be optimised away.
 *
 * @example
 * ```ts
 * import { spin } from "./worker_messages.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(spin(2, 4), 8 * 0.5);
 * ```
 */
export function spin(units: number, iterationsPerUnit: number): number {
  let sum = 0;
  const iterations = Math.min(iterationsPerUnit, 2 ** 30) | 0;
  for (let unit = 0; unit < units; unit++) {
    let part = 0;
    for (let i = 0; i < iterations; i++) part += 0.5;
    sum += part;
  }
  return sum;
}

/**
 * How long a Worker that has run every task it was given keeps looking for more
 * before it sleeps, in ms (when its last wait was short: {@linkcode LOOK_IF_IDLE_MS}). One
 * client pipelining `1 1` requests: 5 100–8 500 → 12 800–16 400 requests/s here; 20 µs was
 * too short to catch the next task; looking every time went higher for pipelines but made a
 * serial client's p50 and p99 worse (BENCHMARKS.md).
 */
export const SPIN_BEFORE_SLEEP_MS = 0.05;
/**
 * A Worker looks before it sleeps only if its last wait for a task was at most this long, in ms:
 * twice the look, so a look that just missed is tried again, while tasks that come a client's
 * round trip apart (≥ 150 µs here) are slept for.
 */
export const LOOK_IF_IDLE_MS = 2 * SPIN_BEFORE_SLEEP_MS;
/** A Worker that has not looked before sleeping looks anyway every this many sleeps. */
export const LOOK_ANYWAY_EVERY = 8;

/**
 * One Worker's task ring: the pool's side writes tasks and reads reports, the
 * Worker's side takes tasks, runs them and writes reports.
 *
 * @example
 * ```ts
 * import { REPORT_STRIDE, TaskRing } from "./worker_messages.ts";
 * import assert from "node:assert/strict";
 *
 * const pool = TaskRing.create({ capacity: 4, iterationsPerUnit: 10 });
 * const worker = new TaskRing(pool.init); // in the Worker, from the init message
 * pool.push(7, 2);
 * pool.publish();
 * assert.equal(worker.take(), 1); // one task waits (take() would sleep on none)
 * worker.run(1);
 * const report = new Float64Array(4 * REPORT_STRIDE);
 * assert.equal(pool.readReports(report), 1);
 * assert.deepEqual([report[0], report[1]], [7, 2]); // task 7 ran 2 units
 * assert.ok(report[3] >= report[2]); // ended after it started
 * pool.stop();
 * assert.equal(worker.take(), 0); // stopped: the Worker returns to its event loop
 * ```
 */
export class TaskRing {
  /** What the Worker needs to open the same ring. */
  readonly init: TaskRingInit;
  #control: Int32Array<SharedArrayBuffer>;
  #tasks: Float64Array<SharedArrayBuffer>;
  #reports: Float64Array<SharedArrayBuffer>;
  #mask: number;
  /** Pool side: tasks written; Worker side: tasks taken. */
  #written = 0;
  /** Pool side: reports read; Worker side: tasks run. */
  #read = 0;
  #lastNotifyAt = 0;
  /** Worker side: announced messages read. */
  #messagesRead = 0;
  /** Worker side: how long, in ms, it last waited for a task after running out. */
  #lastIdleMs = 0;
  /** Worker side: sleeps without a look since the last look. */
  #sleepsUnlooked = 0;

  /**
   * Makes a ring for a new Worker (the pool's side).
   *
   * @param options Its capacity (rounded up to a power of two) and work model.
   * @returns The pool's side; send its `init` to the Worker.
   * @throws {RangeError} When `capacity` is not a positive integer.
   */
  static create(options: { capacity: number; iterationsPerUnit: number }): TaskRing {
    const { capacity, iterationsPerUnit } = options;
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`'capacity' must be a positive integer: received ${capacity}`);
    }
    const rows = 2 ** Math.ceil(Math.log2(capacity));
    const buffer = new SharedArrayBuffer(
      CONTROL_BYTES + rows * (TASK_STRIDE + REPORT_STRIDE) * Float64Array.BYTES_PER_ELEMENT,
    );
    return new TaskRing({ buffer, capacity: rows, iterationsPerUnit });
  }

  /**
   * Opens a ring (the Worker's side, from the init message).
   *
   * @param init The ring and work model.
   * @throws {TypeError} When `init` is not a {@linkcode TaskRingInit}.
   */
  constructor(init: TaskRingInit) {
    const { buffer, capacity, iterationsPerUnit } = init ?? {};
    if (
      !(buffer instanceof SharedArrayBuffer) || !Number.isInteger(capacity) || capacity < 1 ||
      (capacity & (capacity - 1)) !== 0 || typeof iterationsPerUnit !== "number" ||
      buffer.byteLength !== CONTROL_BYTES + capacity * (TASK_STRIDE + REPORT_STRIDE) * 8
    ) {
      throw new TypeError(
        "a task ring needs { buffer: SharedArrayBuffer, capacity: power of two, " +
          "iterationsPerUnit: number } laid out as in worker_messages.ts",
      );
    }
    this.init = init;
    this.#control = new Int32Array(buffer, 0, CONTROL_BYTES / 4);
    this.#tasks = new Float64Array(buffer, CONTROL_BYTES, capacity * TASK_STRIDE);
    this.#reports = new Float64Array(
      buffer,
      CONTROL_BYTES + capacity * TASK_STRIDE * 8,
      capacity * REPORT_STRIDE,
    );
    this.#mask = capacity - 1;
  }

  // The pool's side.

  /** Tasks written and not yet reported back: at most `capacity`. */
  get unreported(): number {
    return (this.#written - this.#read) | 0;
  }

  /**
   * Writes a task; the Worker sees it after {@linkcode TaskRing.publish}.
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
   * handed out as a new array: a typed array per wake-up is a garbage collection per few
   * thousand requests on a busy server.
   *
   * @param into Where to copy them, {@linkcode REPORT_STRIDE} numbers a row; a ring's
   *   `capacity` rows hold any read.
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

  #wakeWorker(): void {
    Atomics.add(this.#control, WAKE, 1);
    Atomics.notify(this.#control, WAKE);
  }

  /** Wakes whoever waits in {@linkcode TaskRing.whenReported}: for closing. */
  wakeReader(): void {
    Atomics.notify(this.#control, DONE);
  }

  // The Worker's side.

  /**
   * The tasks written and not yet taken, sleeping until there is at least one.
   *
   * @returns How many there are; 0 once the pool has stopped the ring, or has
   * announced a message not yet read (see {@linkcode TaskRing.messageRead}): then
   * return to the event loop.
   */
  take(): number {
    const control = this.#control;
    let tail = Atomics.load(control, TAIL);
    if (tail !== this.#written) return this.#mayGoOn() ? (tail - this.#written) | 0 : 0;
    // Out of tasks. Look a little longer before sleeping when the last wait for a task was
    // short (a pipelining client's next task comes this soon): a Worker still awake is told of
    // it without a wake-up on either side. When tasks come far apart (a client that waits for
    // each answer), looking in vain would take a core the server and the client need.
    const idleFrom = performance.now();
    // Every few sleeps it looks anyway: without looking, a pipeline's waits include the
    // wake-up, and would never read short again.
    if (this.#lastIdleMs <= LOOK_IF_IDLE_MS || ++this.#sleepsUnlooked >= LOOK_ANYWAY_EVERY) {
      this.#sleepsUnlooked = 0;
      const until = idleFrom + SPIN_BEFORE_SLEEP_MS;
      let looks = 0;
      while (tail === this.#written) {
        if ((++looks & 63) === 0 && performance.now() >= until) break;
        tail = Atomics.load(control, TAIL);
      }
    }
    while (tail === this.#written && this.#mayGoOn()) {
      // Say so, then look once more, then wait on WAKE as it was before that look: a publish
      // that saw SLEEPING at 0 came before the look, which sees its tasks; a publish, stop or
      // message after the look bumps WAKE, and the wait returns at once.
      Atomics.store(control, SLEEPING, 1);
      const wake = Atomics.load(control, WAKE);
      tail = Atomics.load(control, TAIL);
      if (tail === this.#written && this.#mayGoOn()) Atomics.wait(control, WAKE, wake);
      Atomics.store(control, SLEEPING, 0);
      tail = Atomics.load(control, TAIL);
    }
    this.#lastIdleMs = performance.now() - idleFrom;
    // Read after TAIL: a message announced before these tasks were published is seen here.
    return this.#mayGoOn() ? (tail - this.#written) | 0 : 0;
  }

  /** The Worker's side: it has read one announced message. */
  messageRead(): void {
    this.#messagesRead = (this.#messagesRead + 1) | 0;
  }

  #mayGoOn(): boolean {
    return Atomics.load(this.#control, STOPPED) === 0 &&
      Atomics.load(this.#control, MESSAGES) === this.#messagesRead;
  }

  /**
   * The id of a task waiting to run.
   *
   * @param index 0 for the next task to run, up to what {@linkcode TaskRing.take} said.
   * @returns Its id.
   */
  idAt(index: number): number {
    return this.#tasks[((this.#written + index) & this.#mask) * TASK_STRIDE];
  }

  /**
   * Runs the next `count` tasks in order, reporting each as it ends, and tells the
   * pool when done (and every {@linkcode REPORT_EVERY_MS} on the way).
   *
   * @param count How many, at most what {@linkcode TaskRing.take} said.
   * @param around Runs just before and just after each task's spin (outside its recorded
   *   times): the read and the write of a `racy` or `locked` request's shared counter.
   */
  run(count: number, around?: { before(id: number): void; after(id: number): void }): void {
    const iterationsPerUnit = this.init.iterationsPerUnit;
    const origin = performance.timeOrigin;
    let sink = 0;
    for (let i = 0; i < count; i++) {
      const row = this.#written & this.#mask;
      const id = this.#tasks[row * TASK_STRIDE];
      const units = this.#tasks[row * TASK_STRIDE + 1];
      around?.before(id);
      const startedAt = performance.now();
      // Called through Reflect.apply so V8's mid tier (Maglev) does not inline the loop here:
      // inlined, it ran five times slower once this function got hot (a few hundred batches).
      sink += Reflect.apply(spin, undefined, [units, iterationsPerUnit]);
      const endedAt = performance.now();
      around?.after(id);
      const at = row * REPORT_STRIDE;
      this.#reports[at] = id;
      this.#reports[at + 1] = units;
      this.#reports[at + 2] = origin + startedAt;
      this.#reports[at + 3] = origin + endedAt;
      this.#written = (this.#written + 1) | 0;
      this.#read = this.#written;
      Atomics.store(this.#control, DONE, this.#read);
      if (endedAt - this.#lastNotifyAt >= REPORT_EVERY_MS && i < count - 1) this.#notify(endedAt);
    }
    if (sink < 0) throw new Error("unreachable: keeps the spin observable");
    this.#notify(performance.now());
  }

  #notify(now: number): void {
    this.#lastNotifyAt = now;
    Atomics.notify(this.#control, DONE);
  }
}

/**
 * Runs one batch: spins each task in turn and records when it ran.
 *
 * @param batch The batch, laid out as in this module's description.
 * @param around Runs just before and just after each task's spin (outside its recorded
 *   times): the read and the write of a `racy` or `locked` request's shared counter.
 * @returns The report, laid out as in this module's description.
 * @throws {TypeError} When the batch is not a well-formed batch.
 *
 * @example
 * ```ts
 * import { runBatch } from "./worker_messages.ts";
 * import assert from "node:assert/strict";
 *
 * const report = runBatch(new Float64Array([10, 7, 2]));
 * assert.equal(report[0], 7); // task id
 * assert.equal(report[1], 2); // units
 * assert.ok(report[3] >= report[2]); // ended after it started
 * ```
 */
export function runBatch(
  batch: unknown,
  around?: { before(id: number): void; after(id: number): void },
): Float64Array<ArrayBuffer> {
  if (!(batch instanceof Float64Array) || batch.length % BATCH_STRIDE !== 1) {
    throw new TypeError("a batch must be a Float64Array [iterationsPerUnit, id, units, …]");
  }
  const iterationsPerUnit = batch[0];
  const count = (batch.length - 1) / BATCH_STRIDE;
  const report = new Float64Array(count * REPORT_STRIDE);
  const origin = performance.timeOrigin;
  let sink = 0;
  for (let i = 0; i < count; i++) {
    const id = batch[1 + i * BATCH_STRIDE];
    const units = batch[2 + i * BATCH_STRIDE];
    around?.before(id);
    const startedAt = origin + performance.now();
    // Called through Reflect.apply so V8's mid tier (Maglev) does not inline the loop here:
    // inlined, it ran five times slower once this function got hot (a few hundred batches).
    sink += Reflect.apply(spin, undefined, [units, iterationsPerUnit]);
    const at = i * REPORT_STRIDE;
    report[at] = id;
    report[at + 1] = units;
    report[at + 2] = startedAt;
    report[at + 3] = origin + performance.now();
    around?.after(id);
  }
  if (sink < 0) throw new Error("unreachable: keeps the spin observable");
  return report;
}
