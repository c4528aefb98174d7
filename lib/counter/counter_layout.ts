/**
 * The layout of a `racy` or `locked` request's shared counter (a `SharedArrayBuffer`),
 * which the main thread's {@linkcode CounterCell} of `counter_cell.ts` makes and a
 * Worker's `CounterTasks` of `counter_tasks.ts` reads and writes, and the one act
 * both sides take on it: handing the lock on.
 *
 * Layout, in 32-bit integers: `[value, nextTicket, serving, clock, abandoned, holder]`,
 * then five per task (slot = task number − 1): `[read, before, readTick, writeTick, attempt]`.
 * `value` counts up from 0 (the request's start is added on the main thread).
 * `nextTicket`/`serving` are a ticket lock (first come, first served) that only
 * `locked` tasks take; `holder` is the slot + 1 of the task holding it (0: none),
 * so that the lock of a task whose Worker died holding it can be handed on.
 * `attempt` counts a task's runs that the pool gave up on (their Worker died): a
 * Worker carries the attempt it was sent, and one that is still running after it was
 * given up (terminating a Worker takes a while) neither reads nor writes. `clock` is a
 * sequence every task ticks once when it reads and once when it writes: the Workers'
 * own record of the order of those steps. `before` is what the task found in `value`
 * when it wrote: `before − read` increments of other tasks were erased by its write.
 * 20 bytes per increment, so a million-increment request holds 20 MB while it runs.
 *
 * @module
 */
import { wakeGate } from "./step_gate.ts";

export const VALUE = 0;
export const NEXT_TICKET = 1;
export const SERVING = 2;
export const CLOCK = 3;
export const ABANDONED = 4;
export const HOLDER = 5;
export const HEADER = 6;
export const PER_TASK = 5;
export const READ = 0;
export const BEFORE = 1;
export const READ_TICK = 2;
export const WRITE_TICK = 3;
export const ATTEMPT = 4;

/** What a task of a `racy` or `locked` request carries to its Worker, on one run of it. */
export interface CounterPayload {
  /** The request's cell. */
  readonly buffer: SharedArrayBuffer;
  /** Whether the task holds the cell's lock around its read-spin-write. */
  readonly locked: boolean;
  /** The task's slot in the cell: its number in the job − 1. */
  readonly slot: number;
  /**
   * The run's attempt: a Worker whose run was given up on (`CounterCell.revoke`)
   * sees a later one in the cell.
   */
  readonly attempt: number;
  /** A stepped request's schedule (`StepGate`); none: the task runs freely. */
  readonly gate?: SharedArrayBuffer;
  /** With a gate: the Worker the schedule knows the task by (slot mod the gate's Workers). */
  readonly worker?: number;
}

/** Where the attempt of the task in `slot` is kept. */
export function attemptIndex(slot: number): number {
  return HEADER + PER_TASK * slot + ATTEMPT;
}

/** Hands the lock on, if `slot` holds it: exactly once, whoever (Worker or pool) comes first. */
export function release(view: Int32Array, slot: number, gate?: Int32Array): boolean {
  if (Atomics.compareExchange(view, HOLDER, slot + 1, 0) !== slot + 1) return false;
  Atomics.add(view, SERVING, 1);
  Atomics.notify(view, SERVING);
  if (gate) wakeGate(gate);
  return true;
}
