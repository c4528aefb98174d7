/**
 * The shared counter of one `racy` or `locked` request: a `SharedArrayBuffer`
 * that the Workers read and write themselves, as the original's threads read
 * and wrote their global `num`. Both sides live here: the main thread makes the
 * cell, gives each task its {@linkcode CounterPayload} and reads what happened; a
 * Worker runs {@linkcode CounterTasks.before} and {@linkcode CounterTasks.after}
 * around each task's spin. The pool carries the payloads without knowing what they
 * are: a {@linkcode CounterCell} is a job's `payloads`, and `worker.ts` plugs a
 * {@linkcode CounterTasks} in as its Worker's hook.
 *
 * Layout, in 32-bit integers: `[value, nextTicket, serving, clock, abandoned, holder]`,
 * then five per task (slot = task number − 1): `[read, before, readTick, writeTick, attempt]`.
 * `value` counts up from 0 (the request's start is added on the main thread).
 * `nextTicket`/`serving` are a ticket lock (first come, first served) that only
 * `locked` tasks take; `holder` is the slot + 1 of the task holding it (0: none),
 * so that the lock of a task whose Worker died holding it can be handed on
 * ({@linkcode CounterCell.revoke}). `attempt` counts a task's runs that the pool gave up
 * on (their Worker died): a Worker carries the attempt it was sent, and one that
 * is still running after it was given up (terminating a Worker takes a while)
 * neither reads nor writes. `clock` is a sequence every task ticks once when it reads
 * and once when it writes: the Workers' own record of the order of those steps.
 * `before` is what the task found in `value` when it wrote: `before − read`
 * increments of other tasks were erased by its write. A Worker never blocks the
 * main thread: only Workers wait for the lock, and `abandoned` releases them.
 *
 * A stepped request (`SCHEDULE`, `STEP`) also has a {@linkcode StepGate}: each task's
 * read (for `locked`: its try at the lock, then its read) and its write wait for the
 * schedule to name its Worker; a try that finds the lock held is a step of its own.
 *
 * The server and `worker.ts` import it: 20 bytes per increment, so a million-increment
 * request holds 20 MB while it runs.
 *
 * @module
 */
import {
  awaitTurn,
  gateGeneration,
  type StepGate,
  tookStep,
  turnOf,
  waitGate,
  wakeGate,
} from "./step_gate.ts";

const VALUE = 0;
const NEXT_TICKET = 1;
const SERVING = 2;
const CLOCK = 3;
const ABANDONED = 4;
const HOLDER = 5;
const HEADER = 6;
const PER_TASK = 5;
const READ = 0;
const BEFORE = 1;
const READ_TICK = 2;
const WRITE_TICK = 3;
const ATTEMPT = 4;

/** What a task of a `racy` or `locked` request carries to its Worker, on one run of it. */
export interface CounterPayload {
  /** The request's cell. */
  readonly buffer: SharedArrayBuffer;
  /** Whether the task holds the cell's lock around its read-spin-write. */
  readonly locked: boolean;
  /** The task's slot in the cell: its number in the job − 1. */
  readonly slot: number;
  /**
   * The run's attempt: a Worker whose run was given up on ({@linkcode CounterCell.revoke})
   * sees a later one in the cell.
   */
  readonly attempt: number;
  /** A stepped request's schedule ({@linkcode StepGate}); none: the task runs freely. */
  readonly gate?: SharedArrayBuffer;
  /** With a gate: the Worker the schedule knows the task by (slot mod the gate's Workers). */
  readonly worker?: number;
}

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
 * import { CounterCell, CounterTasks } from "./counter_cell.ts";
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

function attemptIndex(slot: number): number {
  return HEADER + PER_TASK * slot + ATTEMPT;
}

/** Hands the lock on, if `slot` holds it: exactly once, whoever (Worker or pool) comes first. */
function release(view: Int32Array, slot: number, gate?: Int32Array): boolean {
  if (Atomics.compareExchange(view, HOLDER, slot + 1, 0) !== slot + 1) return false;
  Atomics.add(view, SERVING, 1);
  Atomics.notify(view, SERVING);
  if (gate) wakeGate(gate);
  return true;
}

/**
 * A Worker's side: the tasks it was told use a cell, and the original's
 * read-spin-write around each one's spin. It is the Worker's task hook (`TaskHook` in
 * `lib/pool/worker_messages.ts`): {@linkcode CounterTasks.carry} hears a task's payload,
 * {@linkcode CounterTasks.before} and {@linkcode CounterTasks.after} run around its spin;
 * tasks that carry no payload pass through untouched.
 */
export class CounterTasks {
  #tasks = new Map<number, WorkerTask>();
  #views = new WeakMap<SharedArrayBuffer, Int32Array>();

  /**
   * Hears that task `id` uses a cell, on the run about to come.
   *
   * @param id The task's id.
   * @param payload Its {@linkcode CounterPayload} (from {@linkcode CounterCell.payload}).
   */
  carry(id: number, payload: CounterPayload): void {
    const { buffer, locked, slot, attempt } = payload;
    const at = HEADER + PER_TASK * slot;
    const view = this.#view(buffer);
    const gate = payload.gate && this.#view(payload.gate);
    const worker = payload.worker ?? 0;
    this.#tasks.set(id, { view, locked, slot, at, attempt, skipped: false, gate, worker });
  }

  #view(buffer: SharedArrayBuffer): Int32Array {
    let view = this.#views.get(buffer);
    if (!view) this.#views.set(buffer, view = new Int32Array(buffer));
    return view;
  }

  /**
   * Before task `id` spins: `num = int(num)`. A `locked` task first waits for its
   * turn at the cell's lock (a `racy` one does not).
   *
   * @param id The task's id.
   */
  before(id: number): void {
    const task = this.#tasks.get(id);
    if (!task) return;
    const { view, at, gate } = task;
    let step = gate ? awaitTurn(gate, task.worker, () => stopped(task)) : -1;
    if (task.locked && step !== -2) {
      const ticket = Atomics.add(view, NEXT_TICKET, 1);
      step = gate ? lockStepped(task, gate, ticket, step) : lockFreely(task, ticket);
      if (step !== -2) Atomics.store(view, HOLDER, task.slot + 1);
    }
    if (step === -2 || revoked(task)) {
      task.skipped = true;
      if (task.locked) release(view, task.slot, gate);
      return;
    }
    Atomics.store(view, at + READ_TICK, Atomics.add(view, CLOCK, 1) + 1);
    const read = Atomics.load(view, VALUE);
    Atomics.store(view, at + READ, read);
    if (gate) {
      tookStep(gate, step, { worker: task.worker, slot: task.slot, action: "read", value: read });
    }
  }

  /**
   * After task `id` spun: `num = num + 1`, from the value it read, and the lock released.
   *
   * @param id The task's id.
   */
  after(id: number): void {
    const task = this.#tasks.get(id);
    if (!task) return;
    this.#tasks.delete(id);
    if (task.skipped || revoked(task)) return; // a revoked task's lock was released for it
    const { view, at, gate } = task;
    const step = gate ? awaitTurn(gate, task.worker, () => stopped(task)) : -1;
    if (step === -2) {
      if (task.locked) release(view, task.slot, gate);
      return;
    }
    const read = Atomics.load(view, at + READ);
    const before = Atomics.exchange(view, VALUE, read + 1);
    Atomics.store(view, at + BEFORE, before);
    Atomics.store(view, at + WRITE_TICK, Atomics.add(view, CLOCK, 1) + 1);
    if (task.locked) release(view, task.slot, gate);
    if (!gate) return;
    const { worker, slot } = task;
    tookStep(gate, step, { worker, slot, action: "wrote", value: read + 1, before });
  }
}

/** A task as its Worker knows it. */
interface WorkerTask {
  view: Int32Array;
  locked: boolean;
  slot: number;
  /** Where its record starts in the view. */
  at: number;
  /** The attempt it was sent as: a later one means the pool gave this run up. */
  attempt: number;
  /** Whether it neither reads nor writes (its request was abandoned, or the run revoked). */
  skipped: boolean;
  /** A stepped request's schedule, and the Worker it knows the task by. */
  gate: Int32Array | undefined;
  worker: number;
}

function revoked(task: WorkerTask): boolean {
  return Atomics.load(task.view, task.at + ATTEMPT) !== task.attempt;
}

/** Whether a task must stop where it is: its request was abandoned, or its run revoked. */
function stopped(task: WorkerTask): boolean {
  return Atomics.load(task.view, ABANDONED) === 1 || revoked(task);
}

/** Waits for the lock, unscheduled: its holder is -2 when the request was abandoned. */
function lockFreely(task: WorkerTask, ticket: number): number {
  const { view } = task;
  while (true) {
    if (Atomics.load(view, ABANDONED) === 1) return -2;
    const serving = Atomics.load(view, SERVING);
    if (serving === ticket) return -1;
    Atomics.wait(view, SERVING, serving);
  }
}

/**
 * Waits for the lock on a schedule: each turn of the task's Worker while another task
 * holds it is a step that says so (`waits`); once it holds the lock, its read waits for
 * a turn of its own again, unless its first try found the lock free.
 *
 * @returns The step its read takes, −1 (free) or −2 (abandoned).
 */
function lockStepped(task: WorkerTask, gate: Int32Array, ticket: number, first: number): number {
  const { view, worker, slot } = task;
  const stop = () => stopped(task);
  let step: number | undefined = first;
  let waited = false;
  while (true) {
    const generation = gateGeneration(gate);
    if (Atomics.load(view, ABANDONED) === 1) return -2;
    if (Atomics.load(view, SERVING) === ticket) break;
    if (step === undefined) {
      const turn = turnOf(gate, worker, stop);
      if (turn !== undefined && turn >= 0) step = turn;
    }
    if (step !== undefined && step >= 0) {
      const value = Atomics.load(view, HOLDER) - 1;
      tookStep(gate, step, { worker, slot, action: "waits", value });
      step = undefined;
      waited = true;
      continue;
    }
    waitGate(gate, generation);
  }
  return waited || step === undefined ? awaitTurn(gate, worker, stop) : step;
}
