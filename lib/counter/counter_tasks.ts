/**
 * A Worker's side of the shared counters of `racy` and `locked` requests: the
 * original's read-spin-write around each task's spin, on the cell the main thread
 * made (`counter_cell.ts`, laid out in `counter_layout.ts`), waiting for the lock
 * (`locked`) and for the schedule's turns (a stepped request's `StepGate`).
 *
 * @module
 */
import {
  ABANDONED,
  ATTEMPT,
  BEFORE,
  CLOCK,
  type CounterPayload,
  HEADER,
  HOLDER,
  NEXT_TICKET,
  PER_TASK,
  READ,
  READ_TICK,
  release,
  SERVING,
  VALUE,
  WRITE_TICK,
} from "./counter_layout.ts";
import { awaitTurn, gateGeneration, tookStep, turnOf, waitGate } from "./step_gate.ts";

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
    if (serving === ticket) return held(task);
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
  while (true) {
    const generation = gateGeneration(gate);
    if (Atomics.load(view, ABANDONED) === 1) return -2;
    if (Atomics.load(view, SERVING) === ticket) break;
    if (step === undefined) {
      const turn = turnOf(gate, worker, stop);
      if (turn !== undefined && turn >= 0) step = turn;
    }
    if (step !== undefined && step >= 0) {
      // The lock may have come on this very turn (its holder wrote just before): then the
      // turn is the read's, never a `waits` that names no holder.
      const value = holderOf(view, ticket);
      if (Atomics.load(view, SERVING) === ticket) break;
      tookStep(gate, step, { worker, slot, action: "waits", value });
      step = undefined;
      continue;
    }
    waitGate(gate, generation);
  }
  held(task);
  // Holding the lock, the read takes the turn in hand, or the Worker's next one.
  return step !== undefined && step >= 0 ? step : awaitTurn(gate, worker, stop);
}

/**
 * Marks the lock as the task's the moment its ticket is served, before its read waits
 * for a turn: a `waits` of another task names it, and if its Worker dies the pool can
 * hand the lock on.
 *
 * @returns −1: the lock is taken, with no step of the schedule.
 */
function held(task: WorkerTask): -1 {
  Atomics.store(task.view, HOLDER, task.slot + 1);
  Atomics.notify(task.view, HOLDER);
  return -1;
}

/** How long a `waits` waits for a lock being handed on to be taken, to name its holder. */
const HANDOVER_MS = 1000;

/**
 * The slot of the task holding the lock, for a `waits`: a lock just released is taken by
 * the next ticket's task as soon as its Worker wakes, so it waits for that a moment.
 *
 * @returns The slot, or −1: no task took the lock in time (or the lock came to `ticket`).
 */
function holderOf(view: Int32Array, ticket: number): number {
  const until = performance.now() + HANDOVER_MS;
  while (true) {
    const holder = Atomics.load(view, HOLDER);
    if (holder !== 0 || Atomics.load(view, SERVING) === ticket) return holder - 1;
    if (Atomics.load(view, ABANDONED) === 1) return -1;
    const left = until - performance.now();
    if (left <= 0) return -1;
    Atomics.wait(view, HOLDER, 0, left);
  }
}
