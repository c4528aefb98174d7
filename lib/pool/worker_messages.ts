/**
 * What passes between a feeder (the {@linkcode WorkerPool}, a worker node, the
 * Worker per increment) and a threadcount Worker, and the one loop that runs
 * tasks on the Worker's thread.
 *
 * Messages. Worker to feeder: {@linkcode WORKER_READY} once, when its module has
 * loaded (a Worker that dies before that cannot run at all); `{ error: string }`
 * ({@linkcode WorkerFailure}) for a message it cannot use: a Worker never throws
 * across the boundary on purpose. Feeder to Worker: a task ring's init (see
 * `task_ring.ts`), or batches; and, before a batch whose tasks carry payloads (see
 * `TaskPayloads` in `job_queue.ts`), their {@linkcode PayloadsMessage}, which the Worker
 * module hands to its {@linkcode TaskHook}.
 *
 * One format for tasks and reports, wherever they travel:
 * - a task row is `[id, units]` ({@linkcode TASK_STRIDE} numbers);
 * - a report row is `[id, units, startedAt, endedAt]` ({@linkcode REPORT_STRIDE}
 *   numbers), times in milliseconds since the Unix epoch
 *   (`performance.timeOrigin + performance.now()`), so that intervals from
 *   different Workers, and from different machines with synchronised clocks, compare;
 * - a batch is a `Float64Array` of a header, `[iterationsPerUnit]`
 *   ({@linkcode BATCH_HEADER} numbers), then task rows ({@linkcode taskBatch});
 *   its report is a `Float64Array` of report rows in the same order ({@linkcode runBatch}).
 *
 * A task ring holds the same rows, the header in its init instead (one work model per
 * ring); the fleet's wire sends a batch and its report as their bytes. Both run
 * through {@linkcode TaskRunner}.
 *
 * @module
 */

/** Numbers per task row: `[id, units]`. */
export const TASK_STRIDE = 2;
/** Numbers per report row: `[id, units, startedAt, endedAt]`. */
export const REPORT_STRIDE = 4;
/** Numbers before a batch's task rows: `[iterationsPerUnit]`. */
export const BATCH_HEADER = 1;

/** What a Worker posts once, when its module has loaded and it listens. */
export const WORKER_READY = "ready";

/** A message the Worker could not use. */
export interface WorkerFailure {
  error: string;
}

/**
 * Says what went wrong, from a Worker's message that was not what its feeder expected.
 *
 * @param data The message.
 * @returns The `error` of a {@linkcode WorkerFailure}, or the message as text.
 *
 * @example
 * ```ts
 * import { failureText } from "./worker_messages.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(failureText({ error: "a bad batch" }), "a bad batch");
 * assert.equal(failureText(42), "42");
 * ```
 */
export function failureText(data: unknown): string {
  const error = (data as Partial<WorkerFailure> | null)?.error;
  return typeof error === "string" ? error : String(data);
}

/**
 * Runs just before and just after each task's spin, on the Worker's thread, outside the
 * task's recorded times. A step may block the thread (`Atomics.wait` on memory the task's
 * payload shares): the tasks behind it wait, and the task's times stay its spin's.
 */
export interface AroundTask {
  /** Before task `id` spins (a `racy` or `locked` request's read of its counter). */
  before(id: number): void;
  /** After task `id` spun (the write), before its report row is written. */
  after(id: number): void;
}

/**
 * A Worker module's hook on the tasks it runs: it hears what a task carries (its
 * payload, heard before the batch that holds it runs), and runs its steps just before and
 * just after the task's spin. `worker.ts` plugs in the lessons' shared counter this way.
 */
export interface TaskHook extends AroundTask {
  /** Task `id` carries `payload` on the run about to come. */
  carry(id: number, payload: unknown): void;
}

/** The payloads of a batch's tasks, sent to the Worker before the batch. */
export interface PayloadsMessage {
  kind: "payloads";
  /** `[task id, its payload]` for each task of the batch that carries one. */
  tasks: [number, unknown][];
}

/**
 * The message to send a Worker before a batch, when some of its tasks carry payloads.
 *
 * @param tasks The batch's tasks (each asked for its payload once).
 * @returns The message, or undefined when no task carries one (the usual case: nothing is sent).
 *
 * @example
 * ```ts
 * import { hearPayloads, payloadsMessage } from "./worker_messages.ts";
 * import assert from "node:assert/strict";
 *
 * const tasks = [{ id: 7, payload: () => "seven" }, { id: 8 }];
 * const message = payloadsMessage(tasks)!;
 * const heard: [number, unknown][] = [];
 * assert.ok(hearPayloads(message, { carry: (id, payload) => heard.push([id, payload]) }));
 * assert.deepEqual(heard, [[7, "seven"]]);
 * assert.equal(payloadsMessage([{ id: 8 }]), undefined);
 * ```
 */
export function payloadsMessage(
  tasks: readonly { id: number; payload?(): unknown }[],
): PayloadsMessage | undefined {
  let message: PayloadsMessage | undefined;
  for (let i = 0; i < tasks.length; i++) {
    const task = tasks[i];
    const payload = task.payload?.();
    if (payload === undefined) continue;
    message ??= { kind: "payloads", tasks: [] };
    message.tasks.push([task.id, payload]);
  }
  return message;
}

/**
 * Hands a {@linkcode PayloadsMessage}'s payloads to a hook, on the Worker's side.
 *
 * @param message Any message the Worker received.
 * @param hook What hears each payload.
 * @returns Whether it was such a message (then it is handled).
 */
export function hearPayloads(message: unknown, hook: Pick<TaskHook, "carry">): boolean {
  if ((message as PayloadsMessage | null)?.kind !== "payloads") return false;
  for (const [id, payload] of (message as PayloadsMessage).tasks) hook.carry(id, payload);
  return true;
}

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
 * Lays tasks out as a batch: the header, then a task row each.
 *
 * @param tasks The tasks, to run in this order.
 * @param iterationsPerUnit Additions per work unit.
 * @returns The batch.
 *
 * @example
 * ```ts
 * import { taskBatch } from "./worker_messages.ts";
 * import assert from "node:assert/strict";
 *
 * const batch = taskBatch([{ id: 7, units: 2 }, { id: 8, units: 1 }], 1000);
 * assert.deepEqual(batch, new Float64Array([1000, 7, 2, 8, 1]));
 * ```
 */
export function taskBatch(
  tasks: readonly { id: number; units: number }[],
  iterationsPerUnit: number,
): Float64Array<ArrayBuffer> {
  const batch = new Float64Array(BATCH_HEADER + tasks.length * TASK_STRIDE);
  batch[0] = iterationsPerUnit;
  for (let i = 0; i < tasks.length; i++) {
    batch[BATCH_HEADER + i * TASK_STRIDE] = tasks[i].id;
    batch[BATCH_HEADER + i * TASK_STRIDE + 1] = tasks[i].units;
  }
  return batch;
}

/** Options of {@linkcode TaskRunner}. */
export interface TaskRunnerOptions {
  /** Task rows, from index 0. */
  tasks: Float64Array;
  /** Report rows: the report of the task in row `r` goes to row `r`. */
  reports: Float64Array;
  /** Additions per work unit. */
  iterationsPerUnit: number;
  /**
   * Task `k` (counted from 0, wrapping at 2³²) is in row `k & mask`: the row count less
   * one for rows in a ring (a power of two). Defaults to -1: rows that do not wrap.
   */
  mask?: number;
  /** Runs around each task's spin. */
  around?: AroundTask;
  /**
   * Hears that a task's report row is written: `next` is the number of the task after it,
   * `endedAt` when it ended (`performance.now()`).
   */
  onReported?: (next: number, endedAt: number) => void;
}

/**
 * The one loop that runs tasks, on the Worker's thread: for each task row in turn it
 * spins the task's units and writes its report row. A batch sent as a message and a task
 * ring both run through it.
 *
 * @example
 * ```ts
 * import { REPORT_STRIDE, TaskRunner } from "./worker_messages.ts";
 * import assert from "node:assert/strict";
 *
 * const reports = new Float64Array(2 * REPORT_STRIDE);
 * const ran: number[] = [];
 * const runner = new TaskRunner({
 *   tasks: new Float64Array([7, 2, 8, 1]),
 *   reports,
 *   iterationsPerUnit: 10,
 *   onReported: (next) => ran.push(next),
 * });
 * runner.run(0, 2);
 * assert.deepEqual([reports[0], reports[1], reports[4], reports[5]], [7, 2, 8, 1]);
 * assert.ok(reports[3] >= reports[2]); // ended after it started
 * assert.deepEqual(ran, [1, 2]);
 * ```
 */
export class TaskRunner {
  #tasks: Float64Array;
  #reports: Float64Array;
  #iterationsPerUnit: number;
  #mask: number;
  #around?: AroundTask;
  #onReported?: (next: number, endedAt: number) => void;

  /**
   * Makes a runner over one set of rows.
   *
   * @param options The rows, the work model, and what runs around each task.
   */
  constructor(options: TaskRunnerOptions) {
    this.#tasks = options.tasks;
    this.#reports = options.reports;
    this.#iterationsPerUnit = options.iterationsPerUnit;
    this.#mask = options.mask ?? -1;
    this.#around = options.around;
    this.#onReported = options.onReported;
  }

  /**
   * Runs `count` tasks in order, from task `first`, reporting each as it ends.
   *
   * @param first The number of the first task to run.
   * @param count How many.
   */
  run(first: number, count: number): void {
    const tasks = this.#tasks;
    const reports = this.#reports;
    const iterationsPerUnit = this.#iterationsPerUnit;
    const mask = this.#mask;
    const around = this.#around;
    const onReported = this.#onReported;
    const origin = performance.timeOrigin;
    let sink = 0;
    for (let i = 0; i < count; i++) {
      const row = (first + i) & mask;
      const id = tasks[row * TASK_STRIDE];
      const units = tasks[row * TASK_STRIDE + 1];
      around?.before(id);
      const startedAt = performance.now();
      const at = row * REPORT_STRIDE;
      // What runs now, for the pool to sample (`TaskRingWriter.running`): the start, then the id.
      reports[at + 2] = origin + startedAt;
      reports[at] = id;
      // Called through Reflect.apply so that V8's mid tier (Maglev) does not inline the busy
      // loop into this one: inlined, it ran much slower once hot (BENCHMARKS.md).
      sink += Reflect.apply(spin, undefined, [units, iterationsPerUnit]);
      const endedAt = performance.now();
      around?.after(id);
      reports[at] = id;
      reports[at + 1] = units;
      reports[at + 2] = origin + startedAt;
      reports[at + 3] = origin + endedAt;
      onReported?.((first + i + 1) | 0, endedAt);
    }
    if (sink < 0) throw new Error("unreachable: keeps the spin observable");
  }
}

/**
 * Runs one batch (see this module's description) and makes its report.
 *
 * @param batch The batch.
 * @param around Runs around each task's spin.
 * @returns The report: a row for each task, in the batch's order.
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
export function runBatch(batch: unknown, around?: AroundTask): Float64Array<ArrayBuffer> {
  if (!(batch instanceof Float64Array) || (batch.length - BATCH_HEADER) % TASK_STRIDE !== 0) {
    throw new TypeError("a batch must be a Float64Array [iterationsPerUnit, id, units, …]");
  }
  const count = (batch.length - BATCH_HEADER) / TASK_STRIDE;
  const reports = new Float64Array(count * REPORT_STRIDE);
  const tasks = batch.subarray(BATCH_HEADER);
  new TaskRunner({ tasks, reports, iterationsPerUnit: batch[0], around }).run(0, count);
  return reports;
}
