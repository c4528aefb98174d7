/**
 * The schedule of a stepped `racy` or `locked` request, in memory the Workers share:
 * a list of Worker numbers, each entry letting that Worker take its next step (a read,
 * a write, or a try at the lock that finds it held). A Worker waits on this memory
 * (`Atomics.wait`) until the entry at the schedule's position names it, takes its
 * step, writes what it did in the step log, and moves the position on. When the list
 * ends, a `scheduled` gate lets every step run freely; an `interactive` one waits for
 * the next entry the main thread appends ({@linkcode StepGate.append}). The main thread
 * never waits on it: it awaits the position with `Atomics.waitAsync`.
 *
 * Layout, in 32-bit integers: `[mode, length, position, generation, capacity, workers]`,
 * then `capacity` entries, then `capacity` log records of five:
 * `[worker, slot, action, value, before]`. `generation` changes on every change a waiting
 * Worker must see (an entry, a step, the lock handed on, the request abandoned); the
 * Workers wait on it. A leaf module that the Worker loads.
 *
 * @module
 */

const MODE = 0;
const LENGTH = 1;
const POSITION = 2;
const GENERATION = 3;
const CAPACITY = 4;
const WORKERS = 5;
const HEADER = 6;
const PER_RECORD = 5;

/** How a gate goes on once its list of entries is used up. */
export type GateMode = "scheduled" | "interactive";
const MODES: Record<GateMode | "free", number> = { free: 0, scheduled: 1, interactive: 2 };

/** What a step did: its `action` in the log. */
export type StepAction = "read" | "wrote" | "waits";
const ACTIONS: StepAction[] = ["read", "wrote", "waits"];

/** One step of the log, as the main thread reads it. */
export interface StepRecord {
  /** The step's place in the schedule, from 0. */
  step: number;
  /** The Worker that took it. */
  worker: number;
  /** The slot of its task (the task's number − 1). */
  slot: number;
  /** A read, a write, or a try at the lock that found it held (`locked` only). */
  action: StepAction;
  /**
   * `read`: the value read; `wrote`: the value written (both relative to the request's
   * start); `waits`: the slot of the task that held the lock (−1: none yet).
   */
  value: number;
  /** `wrote`: what the counter held just before the write (relative to the start). */
  before?: number;
}

/** The gate's generation now: read it before checking, then wait on it with {@linkcode waitGate}. */
export function gateGeneration(gate: Int32Array): number {
  return Atomics.load(gate, GENERATION);
}

/** Blocks a Worker until the gate's generation moves past `generation`. */
export function waitGate(gate: Int32Array, generation: number): void {
  Atomics.wait(gate, GENERATION, generation);
}

/** Bumps the generation and wakes every Worker waiting on the gate. */
export function wakeGate(gate: Int32Array): void {
  Atomics.add(gate, GENERATION, 1);
  Atomics.notify(gate, GENERATION);
}

/**
 * A Worker's wait for its turn: until the entry at the position names `worker` (returns
 * that step), the list is used up on a `scheduled` gate (returns −1: run freely), or
 * `stop()` says the request was abandoned (returns −2).
 *
 * @param gate The gate's memory.
 * @param worker The Worker of the task.
 * @param stop Whether the request was abandoned.
 * @returns The step to take, −1 or −2.
 */
export function awaitTurn(gate: Int32Array, worker: number, stop: () => boolean): number {
  while (true) {
    const generation = Atomics.load(gate, GENERATION);
    const turn = turnOf(gate, worker, stop);
    if (turn !== undefined) return turn;
    Atomics.wait(gate, GENERATION, generation);
  }
}

/**
 * Whether it is `worker`'s turn now, without waiting.
 *
 * @returns The step, −1 (free), −2 (abandoned), or undefined (not yet).
 */
export function turnOf(gate: Int32Array, worker: number, stop: () => boolean): number | undefined {
  if (stop()) return -2;
  const mode = Atomics.load(gate, MODE);
  if (mode === MODES.free) return -1;
  const position = Atomics.load(gate, POSITION);
  if (position < Atomics.load(gate, LENGTH)) {
    return Atomics.load(gate, HEADER + position) === worker ? position : undefined;
  }
  return mode === MODES.scheduled ? -1 : undefined;
}

/**
 * Logs step `step` and moves the position past it (a Worker, after acting).
 *
 * @param gate The gate's memory.
 * @param step The step taken (from {@linkcode awaitTurn}; −1 or −2: nothing to log).
 * @param record Who took it and what it did.
 */
export function tookStep(gate: Int32Array, step: number, record: Omit<StepRecord, "step">): void {
  if (step < 0) return;
  const at = HEADER + Atomics.load(gate, CAPACITY) + PER_RECORD * step;
  Atomics.store(gate, at, record.worker);
  Atomics.store(gate, at + 1, record.slot);
  Atomics.store(gate, at + 2, ACTIONS.indexOf(record.action));
  Atomics.store(gate, at + 3, record.value);
  Atomics.store(gate, at + 4, record.before ?? 0);
  Atomics.store(gate, POSITION, step + 1);
  wakeGate(gate);
}

/**
 * The main thread's side of a schedule.
 *
 * @example
 * ```ts
 * import { awaitTurn, StepGate, tookStep } from "./step_gate.ts";
 * import assert from "node:assert/strict";
 *
 * const gate = StepGate.create({ mode: "scheduled", workers: 2, capacity: 4, steps: [1, 0] });
 * const memory = new Int32Array(gate.buffer); // as a Worker sees it
 * const step = awaitTurn(memory, 1, () => false); // worker 1 goes first
 * tookStep(memory, step, { worker: 1, slot: 1, action: "read", value: 0 });
 * assert.deepEqual(gate.log(), [{ step: 0, worker: 1, slot: 1, action: "read", value: 0 }]);
 * ```
 */
export class StepGate {
  /** The shared memory. */
  readonly buffer: SharedArrayBuffer;
  #view: Int32Array;

  private constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
    this.#view = new Int32Array(buffer);
  }

  /**
   * Makes a gate.
   *
   * @param options How it goes on after its list, how many Workers, room for how many
   *   entries, and the first entries.
   * @returns The gate.
   * @throws {RangeError} When an entry names no Worker, or there are more than `capacity`.
   */
  static create(
    options: { mode: GateMode; workers: number; capacity: number; steps: readonly number[] },
  ): StepGate {
    const { mode, workers, capacity, steps } = options;
    const buffer = new SharedArrayBuffer((HEADER + (1 + PER_RECORD) * capacity) * 4);
    const gate = new StepGate(buffer);
    const view = gate.#view;
    view[MODE] = MODES[mode];
    view[CAPACITY] = capacity;
    view[WORKERS] = workers;
    for (const worker of steps) gate.append(worker);
    return gate;
  }

  /** How many Workers the schedule steps. */
  get workers(): number {
    return this.#view[WORKERS];
  }

  /** Most entries it holds. */
  get capacity(): number {
    return this.#view[CAPACITY];
  }

  /** Steps taken so far. */
  get position(): number {
    return Atomics.load(this.#view, POSITION);
  }

  /** Entries so far. */
  get length(): number {
    return Atomics.load(this.#view, LENGTH);
  }

  /** The entries so far. */
  get steps(): number[] {
    const view = this.#view;
    return Array.from(view.subarray(HEADER, HEADER + this.length));
  }

  /**
   * Appends an entry: lets `worker` take one more step.
   *
   * @param worker The Worker, from 0.
   * @throws {RangeError} When no Worker has that number, or the schedule is full.
   */
  append(worker: number): void {
    const view = this.#view;
    if (!Number.isInteger(worker) || worker < 0 || worker >= view[WORKERS]) {
      throw new RangeError(`worker must be from 0 to ${view[WORKERS] - 1}: received ${worker}`);
    }
    const length = Atomics.load(view, LENGTH);
    if (length >= view[CAPACITY]) {
      throw new RangeError(`a schedule holds at most ${view[CAPACITY]} steps`);
    }
    Atomics.store(view, HEADER + length, worker);
    Atomics.store(view, LENGTH, length + 1);
    wakeGate(view);
  }

  /**
   * Lets every step after the ones taken run freely: an entry not taken yet is dropped
   * (its Worker may have no step left to take it, and would hold the others up for ever).
   */
  runFreely(): void {
    const view = this.#view;
    Atomics.store(view, MODE, MODES.scheduled);
    Atomics.store(view, LENGTH, Math.min(Atomics.load(view, LENGTH), Atomics.load(view, POSITION)));
    wakeGate(view);
  }

  /** Wakes every Worker (and {@linkcode StepGate.taken}) waiting on the gate: they check why. */
  wake(): void {
    wakeGate(this.#view);
  }

  /**
   * Waits, without blocking the thread, until the position passes `step` or `ms` pass.
   *
   * @param step The step awaited.
   * @param ms Most time to wait.
   * @param stop Whether to stop waiting (checked each time the gate is woken: see
   *   {@linkcode StepGate.wake}).
   * @returns Whether the step was taken.
   */
  async taken(step: number, ms: number, stop = () => false): Promise<boolean> {
    const deadline = performance.now() + ms;
    while (this.position <= step) {
      const generation = Atomics.load(this.#view, GENERATION);
      if (this.position > step) break;
      if (stop()) return false;
      const left = deadline - performance.now();
      if (left <= 0) return false;
      const wait = Atomics.waitAsync(this.#view, GENERATION, generation, left);
      if (wait.async) await wait.value;
    }
    return true;
  }

  /** The steps taken so far, in order. */
  log(): StepRecord[] {
    const view = this.#view;
    const records: StepRecord[] = [];
    const base = HEADER + view[CAPACITY];
    for (let step = 0; step < this.position; step++) {
      const at = base + PER_RECORD * step;
      const action = ACTIONS[Atomics.load(view, at + 2)];
      const worker = Atomics.load(view, at);
      const slot = Atomics.load(view, at + 1);
      const value = Atomics.load(view, at + 3);
      const record: StepRecord = { step, worker, slot, action, value };
      if (action === "wrote") record.before = Atomics.load(view, at + 4);
      records.push(record);
    }
    return records;
  }
}
