/**
 * The pool's queue of jobs: each job a number of increment tasks, taken
 * round-robin by job so that a small job is never stuck behind a large one;
 * tasks are made (their units drawn) only when they are taken. It also settles
 * jobs: reports, cancellation and failure.
 *
 * @module
 */
import type { LaneTask } from "./lane.ts";

/** When and where one task ran, as reported by its Worker. */
export interface TaskReport {
  /** The task's number within its job, from 1. */
  taskNo: number;
  /** Index of the lane (Worker) that ran it, from 0: see `WorkerPool.laneNames()`. */
  worker: number;
  /** Work units it spun. */
  units: number;
  /** When it started spinning, in ms since the Unix epoch. */
  startedAt: number;
  /** When it stopped spinning, in ms since the Unix epoch. */
  endedAt: number;
  /** With a Worker per increment: how long its Worker took to start, in ms. */
  workerStartMs?: number;
}

/** A job: a number of tasks, each one increment. */
export interface JobOptions {
  /** How many tasks the job has. */
  tasks: number;
  /** What the job is called, for whoever samples what the lanes run (the server: the request). */
  name?: string;
  /** Draws the work units of the next task; called once per task, in dispatch order. */
  drawUnits: () => number;
  /** Receives the reports of finished tasks, a batch at a time, in the order they finished. */
  onDone: (reports: TaskReport[]) => void;
  /**
   * Hears of each task as it is queued on a Worker: called exactly once per task, when
   * it is first sent. A task whose local Worker died before it ran is run again on the
   * replacement Worker of the same lane, so `worker` stays true (the pool's `onIncident`
   * tells of the re-run). A task a remote lane gave back (its node lost, or no reply by
   * the deadline) may run on any lane, and this is not called again: its report's `worker`
   * says where it ran.
   */
  onDispatch?: (taskNo: number, worker: number, units: number) => void;
  /**
   * Pins each task to a lane: task `no` runs on lane `lane(no)` (a lane that does not exist:
   * the lowest), whatever the lanes' loads, so that the job's placement is known before it
   * runs (a scheduled lesson, whose steps name the Workers). None: the least loaded lane.
   */
  lane?: (no: number) => number;
  /** Cancels the job (with `WorkerPool.run`): queued tasks are dropped, running ones discarded. */
  signal?: AbortSignal;
  /**
   * What each task carries to its Worker beside its units, for a Worker module that acts
   * on it around the task's spin (the server's lessons: a request's shared counter). None:
   * the tasks carry nothing, and no message goes with them.
   */
  payloads?: TaskPayloads;
}

/**
 * What the tasks of one job carry to their Worker beside their units: opaque to the pool,
 * which asks for a task's payload as it sends the task (each run of it), posts the payloads
 * of a batch to the Worker in one message before the batch's tasks, and says when it gave
 * up on a run. The Worker module hears the payload and runs its steps just before and just
 * after the task's spin (`TaskHook` in `worker_messages.ts`).
 *
 * @example
 * ```ts
 * import { JobQueue, type TaskPayloads } from "./job_queue.ts";
 * import assert from "node:assert/strict";
 *
 * const payloads: TaskPayloads = { payload: (no) => ({ slot: no - 1 }), revoke: () => {} };
 * const queue = new JobQueue({ iterationsPerUnit: 10, maxAttempts: 3 });
 * queue.start({ tasks: 2, drawUnits: () => 1, payloads, onDone: () => {} });
 * queue.start({ tasks: 1, drawUnits: () => 1, onDone: () => {} });
 * // What a lane asks of each task as it sends it:
 * assert.deepEqual(queue.next()!.payload!(), { slot: 0 });
 * assert.equal(queue.next()!.payload!(), undefined); // the second job's tasks carry nothing
 * ```
 */
export interface TaskPayloads {
  /**
   * What task `no` carries on the run being sent: a value `postMessage` can clone, or
   * `undefined` for nothing.
   *
   * @param no The task's number in its job, from 1.
   */
  payload(no: number): unknown;
  /**
   * The pool gave up on the run of task `no` it last sent (its Worker died) and will send
   * it again: that Worker, which may run on for a moment, must no longer act on the run's
   * payload. Called for each task the Worker held, the last sent first, before any runs again.
   *
   * @param no The task's number in its job, from 1.
   */
  revoke(no: number): void;
}

/** A job under way. */
export interface RunningJob {
  /** Settles when the job does: resolved when every task reported, rejected otherwise. */
  done: Promise<void>;
  /** Cancels the job: queued tasks are dropped, running ones discarded; `done` rejects with `reason`. */
  cancel(reason?: unknown): void;
}

/** A job in the queue. */
export interface Job {
  readonly options: JobOptions;
  /** Tasks not yet made. */
  remaining: number;
  nextNo: number;
  completed: number;
  settled: boolean;
  queued: boolean;
  /** Reports of one batch being gathered for the job's `onDone`: the pool's scratch. */
  reports?: TaskReport[];
  resolve: () => void;
  reject: (reason: unknown) => void;
}

/** One increment of a job, as the scheduler and the lanes see it. */
export interface Task extends LaneTask {
  readonly job: Job;
  /** Its number within the job, from 1. */
  readonly no: number;
  /** Runs of it that a dying Worker ended while it was the only task there. */
  attempts: number;
}

/** A task: one object, its payload asked of its job on the prototype (no closure a task). */
class QueuedTask implements Task {
  readonly id: number;
  readonly job: Job;
  readonly no: number;
  readonly units: number;
  readonly cost: number;
  attempts = 0;

  constructor(id: number, job: Job, no: number, units: number, cost: number) {
    this.id = id;
    this.job = job;
    this.no = no;
    this.units = units;
    this.cost = cost;
  }

  payload(): unknown {
    return this.job.options.payloads?.payload(this.no);
  }
}

/** Additions one task costs on top of its units: the hand-off and bookkeeping. */
const TASK_OVERHEAD = 5_000;

/** Options of {@linkcode JobQueue}. */
export interface JobQueueOptions {
  /** Additions per work unit, to price each task. */
  iterationsPerUnit: number;
  /** Runs of one task ended by a dying Worker (with it alone there) before its job fails. */
  maxAttempts: number;
}

/** The error a job fails with when Workers keep dying under its tasks. */
export class WorkerFailedError extends Error {
  /**
   * @param message What happened.
   */
  constructor(message: string) {
    super(message);
    this.name = "WorkerFailedError";
  }
}

/** The error a job fails with when no Worker, local or remote, could take its tasks in time. */
export class NoWorkersError extends Error {
  /** The reply code, as sent after `ERR`. */
  readonly code = "no-workers";
  /**
   * @param message What happened and what to do.
   */
  constructor(message: string) {
    super(message);
    this.name = "NoWorkersError";
  }
}

/**
 * Jobs waiting for their tasks to be sent, taken round-robin by job.
 *
 * @example
 * ```ts
 * import { JobQueue } from "./job_queue.ts";
 * import assert from "node:assert/strict";
 *
 * const queue = new JobQueue({ iterationsPerUnit: 10, maxAttempts: 3 });
 * const big = queue.start({ tasks: 2, drawUnits: () => 1, onDone: () => {} });
 * const small = queue.start({ tasks: 1, drawUnits: () => 1, onDone: () => {} });
 * const [a, b, c] = [queue.next()!, queue.next()!, queue.next()!];
 * assert.deepEqual([a.no, b.no, c.no], [1, 1, 2]); // big#1, small#1, big#2
 * assert.equal(queue.next(), undefined);
 * queue.report(b.job, [{ taskNo: 1, worker: 0, units: 1, startedAt: 0, endedAt: 1 }]);
 * await small.done;
 * big.cancel(new Error("client gone"));
 * await assert.rejects(big.done, /client gone/);
 * ```
 */
export class JobQueue {
  #iterationsPerUnit: number;
  #maxAttempts: number;
  #queue: Job[] = [];
  #turn = 0;
  #live = new Set<Job>();
  #nextTaskId = 1;

  /** @param options How to price tasks, and how often one may fail. */
  constructor(options: JobQueueOptions) {
    this.#iterationsPerUnit = options.iterationsPerUnit;
    this.#maxAttempts = options.maxAttempts;
  }

  /** Tasks not yet made, over every queued job. */
  get queued(): number {
    let tasks = 0;
    for (const job of this.#queue) tasks += job.remaining;
    return tasks;
  }

  /**
   * Adds a job.
   *
   * @param options The job.
   * @returns The job under way; a job of 0 tasks is done at once.
   * @throws {RangeError} When `tasks` is not an integer of 0 or more.
   */
  start(options: JobOptions): RunningJob {
    if (!Number.isInteger(options.tasks) || options.tasks < 0) {
      throw new RangeError(`'tasks' must be an integer of 0 or more: received ${options.tasks}`);
    }
    if (options.tasks === 0) return { done: Promise.resolve(), cancel: () => {} };
    const job = new QueuedJob(options, this);
    this.#live.add(job);
    this.#queue.push(job);
    return job;
  }

  /** The next task, round-robin by job; drops jobs with nothing left to send. */
  next(): Task | undefined {
    if (this.#queue.length === 0) return undefined;
    if (this.#turn >= this.#queue.length) this.#turn = 0;
    const job = this.#queue[this.#turn];
    job.remaining--;
    const units = job.options.drawUnits();
    const no = job.nextNo++;
    const cost = units * this.#iterationsPerUnit + TASK_OVERHEAD;
    const task = new QueuedTask(this.#nextTaskId++, job, no, units, cost);
    if (job.remaining === 0) {
      this.#queue.splice(this.#turn, 1);
      job.queued = false;
    } else {
      this.#turn++;
    }
    return task;
  }

  /**
   * Hands a job the reports of its tasks that ran, and resolves it when the last one has.
   * A job whose `onDone` throws fails with that error.
   *
   * @param job The job, not settled.
   * @param reports Its tasks that ran.
   */
  report(job: Job, reports: TaskReport[]): void {
    if (job.settled) return;
    job.completed += reports.length;
    try {
      job.options.onDone(reports);
    } catch (error) {
      this.settle(job, error);
      return;
    }
    if (job.completed === job.options.tasks) this.settle(job);
  }

  /**
   * Charges a task with a run that its Worker's death ended while it was alone on
   * that Worker, so it was the task's doing: after `maxAttempts` such runs its job
   * fails with a {@linkcode WorkerFailedError}.
   *
   * @param task The task.
   * @param reason Why the Worker died.
   * @returns Whether the task may run again.
   */
  charge(task: Task, reason: string): boolean {
    task.attempts++;
    if (task.attempts < this.#maxAttempts) return true;
    this.settle(
      task.job,
      new WorkerFailedError(
        `task ${task.no} was running on ${task.attempts} Workers that died; last: ${reason}`,
      ),
    );
    return false;
  }

  /**
   * Ends a job: resolves it, or rejects it with `error`, and forgets its queued tasks.
   *
   * @param job The job; nothing happens if it has settled already.
   * @param error Why it failed; none when it succeeded.
   */
  settle(job: Job, error?: unknown): void {
    if (job.settled) return;
    job.settled = true;
    this.#live.delete(job);
    if (job.queued) {
      const at = this.#queue.indexOf(job);
      this.#queue.splice(at, 1);
      if (at < this.#turn) this.#turn--;
      job.queued = false;
    }
    job.remaining = 0;
    if (error === undefined) job.resolve();
    else job.reject(error);
  }

  /**
   * Fails every job that has not settled.
   *
   * @param error What each job rejects with.
   */
  failAll(error: unknown): void {
    for (const job of [...this.#live]) this.settle(job, error);
  }
}

/** A job in the queue, which is also its caller's handle: one object per job, not three. */
class QueuedJob implements Job, RunningJob {
  readonly options: JobOptions;
  remaining: number;
  nextNo = 1;
  completed = 0;
  settled = false;
  queued = true;
  reports: TaskReport[] | undefined = undefined;
  readonly done: Promise<void>;
  readonly resolve: () => void;
  readonly reject: (reason: unknown) => void;
  #queue: JobQueue;

  constructor(options: JobOptions, queue: JobQueue) {
    this.options = options;
    this.remaining = options.tasks;
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    this.done = promise;
    this.resolve = resolve;
    this.reject = reject;
    this.#queue = queue;
  }

  cancel(reason?: unknown): void {
    this.#queue.settle(this, reason ?? new Error("cancelled"));
  }
}
