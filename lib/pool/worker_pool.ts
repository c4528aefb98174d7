/**
 * A pool of module Workers that runs increments as tasks: started once,
 * reused for every request, fair between requests, and self-healing when a
 * Worker dies. This module schedules tasks across the pool's lanes (one per
 * Worker) and keeps the pool's figures; `job_queue.ts` keeps the jobs,
 * `lane.ts` says what a lane is, `worker_slot.ts` feeds one local Worker through
 * its task ring (`task_ring_writer.ts`), `worker_host.ts` starts and replaces it,
 * and `worker_messages.ts` lays out what passes to and from it.
 *
 * @module
 */
import type { Lane, LaneListener } from "./lane.ts";
import {
  type Job,
  type JobOptions,
  JobQueue,
  type RunningJob,
  type Task,
  type TaskReport,
  WorkerFailedError,
} from "./job_queue.ts";
import {
  type PoolStats,
  resolvePoolOptions,
  type WorkerIncident,
  type WorkerPoolOptions,
} from "./pool_options.ts";
import { REPORT_STRIDE } from "./worker_messages.ts";
import { PinnedTasks } from "./pinned_tasks.ts";
import { type RunningTask, runningTasksOf } from "./running_tasks.ts";
import { WorkerSlot } from "./worker_slot.ts";

export type { JobOptions, RunningJob, TaskReport } from "./job_queue.ts";
export type { PoolStats, WorkerIncident, WorkerPoolOptions } from "./pool_options.ts";
export { WorkerFailedError } from "./job_queue.ts";
export type { RunningTask } from "./running_tasks.ts";

const failedJob = (error: unknown): RunningJob => ({ done: Promise.reject(error), cancel() {} });

/**
 * Runs jobs of increment tasks on a fixed set of module Workers. Tasks of all
 * jobs are taken round-robin by job, so a small job is never stuck behind a
 * large one. Several tasks travel in one batch and several wait at each
 * Worker when tasks are cheap; each task still runs on its own, with its own
 * units and its own report.
 *
 * Faults: a Worker that dies is replaced, and the tasks it held run again on
 * its replacement, one at a time, so only a task that kills a Worker while
 * alone on it is charged an attempt. The pool is broken (every job fails, and
 * so does every later one) only when a new Worker dies before it is ready:
 * then the module cannot run at all.
 *
 * @example
 * ```ts
 * import { WorkerPool } from "./worker_pool.ts";
 * import assert from "node:assert/strict";
 *
 * using pool = new WorkerPool({ size: 2, iterationsPerUnit: 1000 });
 * let done = 0;
 * await pool.run({ tasks: 10, drawUnits: () => 1, onDone: (r) => (done += r.length) });
 * assert.equal(done, 10);
 * ```
 */
export class WorkerPool {
  #maxQueuedWork: number;
  #maxBatch: number;
  #onIncident?: (incident: WorkerIncident) => void;
  #lanes: Lane<Task>[] = [];
  #laneIndex = new Map<Lane<Task>, number>();
  /** Tasks a dying Worker held, to run again one at a time on the lane that lost them. */
  #rerun = new Map<Lane<Task>, Task[]>();
  #pinned = new PinnedTasks(this.#lanes); // tasks pinned to a lane (JobOptions.lane)
  /** Tasks a lane handed back (its remote node was lost), for any lane to run first. */
  #returned: Task[] = [];
  #listener: LaneListener<Task>;
  #queue: JobQueue;
  #tasksDone = 0;
  #tasksDiscarded = 0;
  #restarts = 0;
  #batchesSent = 0;
  #closed = false;
  #pumping = false;
  #pumpQueued = false;
  #broken?: Error;
  #ready = Promise.withResolvers<void>();
  #lanesReady = new Set<Lane<Task>>();

  /**
   * Starts the Workers.
   *
   * @param options Size, work model and tuning.
   * @throws {RangeError} When a count is out of range (see {@linkcode resolvePoolOptions}).
   */
  constructor(options: WorkerPoolOptions) {
    const { size, iterationsPerUnit, moduleUrl, maxQueuedWork, maxBatch, maxAttempts } =
      resolvePoolOptions(options);
    this.#maxQueuedWork = maxQueuedWork;
    this.#maxBatch = maxBatch;
    this.#onIncident = options.onIncident;
    this.#queue = new JobQueue({ iterationsPerUnit, maxAttempts });
    const listener: LaneListener<Task> = {
      onReady: (lane) => this.#onReady(lane),
      onReport: (lane, tasks, times) => this.#onReport(lane, tasks, times),
      onFailure: (lane, reason, lost) => this.#onFailure(lane, reason, lost),
      onBroken: (lane, reason) => this.#onBroken(lane, reason),
      onReturn: (_lane, _reason, tasks) => this.#onReturn(tasks),
    };
    this.#listener = listener;
    this.#ready.promise.catch(() => {}); // a pool nobody asks about still works
    if (size === 0) this.#ready.resolve(); // no Worker of its own to wait for
    for (let index = 0; index < size; index++) {
      const lane = new WorkerSlot<Task>({
        index,
        moduleUrl,
        iterationsPerUnit,
        maxQueuedWork,
        // One batch at the Worker and one behind it, each of at most maxBatch tasks.
        capacity: 2 * maxBatch,
        listener,
      });
      this.#lanes.push(lane);
      this.#laneIndex.set(lane, index);
    }
  }

  /**
   * Settles once every Worker has loaded: resolved, or rejected with a
   * {@linkcode WorkerFailedError} when the Worker module cannot run (or with the
   * pool's error when it was closed first). Jobs need not wait for it: their tasks
   * wait for the Workers.
   */
  get ready(): Promise<void> {
    return this.#ready.promise;
  }

  /** How many Workers the pool runs. */
  get size(): number {
    return this.#lanes.length;
  }

  /** Its lanes' names (`worker 0`, …), for the log, the dashboard and the trace, by index. */
  laneNames(): readonly string[] {
    return this.#lanes.map((lane) => lane.name);
  }

  /** What each lane's Worker runs now, sampled: see {@linkcode runningTasksOf}. */
  runningTasks(): RunningTask[] {
    return runningTasksOf(this.#lanes);
  }

  /**
   * Adds a lane the pool does not make itself (a Worker on a remote node): the scheduler
   * feeds it as it feeds the local Workers. Its index is the next in {@linkcode laneNames}.
   *
   * @param make Makes the lane, given the listener it must answer through.
   * @returns The lane.
   */
  addLane<L extends Lane<Task>>(make: (listener: LaneListener<Task>) => L): L {
    const lane = make(this.#listener);
    this.#laneIndex.set(lane, this.#lanes.length);
    this.#lanes.push(lane);
    if (this.#closed) lane.close();
    return lane;
  }

  /** A snapshot of the pool's load. */
  get stats(): PoolStats {
    let tasksQueued = this.#queue.queued + this.#pinned.queued;
    for (const task of [...this.#returned, ...[...this.#rerun.values()].flat()]) {
      if (!task.job.settled) tasksQueued++;
    }
    let [tasksInFlight, workersBusy] = [0, 0];
    for (const lane of this.#lanes) {
      tasksInFlight += lane.inFlight;
      if (lane.inFlight > 0) workersBusy++;
    }
    return {
      workers: this.#lanes.length,
      workersBusy,
      tasksQueued,
      tasksInFlight,
      tasksDone: this.#tasksDone,
      tasksDiscarded: this.#tasksDiscarded,
      workerRestarts: this.#restarts,
      batchesSent: this.#batchesSent,
    };
  }

  /**
   * Runs a job's tasks across the Workers.
   *
   * @param options The job; its `signal` cancels it.
   * @returns A promise that resolves when every task has reported through `onDone`.
   * @throws {WorkerFailedError} (rejects) When a task killed `maxAttempts` Workers, or the
   * Worker module cannot run.
   * @throws {DOMException} (rejects) The signal's reason, when the job is cancelled.
   */
  run(options: JobOptions): Promise<void> {
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const job = this.start(options);
    if (!signal) return job.done;
    const onAbort = () => job.cancel(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    return job.done.finally(() => signal.removeEventListener("abort", onAbort));
  }

  /**
   * Starts a job and hands back a way to cancel it: for callers that run many
   * jobs under one signal, and would rather listen to it once than once a job.
   *
   * @param options The job (its `signal` is not watched here).
   * @returns The job: `done` settles as {@linkcode WorkerPool.run}'s promise does.
   */
  start(options: JobOptions): RunningJob {
    if (this.#closed) return failedJob(this.#broken ?? new Error("the worker pool is closed"));
    let job: RunningJob;
    try {
      job = this.#queue.start(options);
    } catch (error) {
      return failedJob(error);
    }
    // Jobs that arrive together (say, from many sockets read in one turn) share batches.
    if (!this.#pumpQueued) {
      this.#pumpQueued = true;
      queueMicrotask(() => {
        this.#pumpQueued = false;
        this.#pump();
      });
    }
    return job;
  }

  /** Terminates every Worker and fails every job that has not finished. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const lane of this.#lanes) lane.close();
    this.#rerun.clear();
    this.#pinned.clear();
    this.#returned.length = 0;
    const error = this.#broken ?? new Error("the worker pool is closed");
    this.#ready.reject(error);
    this.#queue.failAll(error);
  }

  /** Same as {@linkcode WorkerPool.close}. */
  [Symbol.dispose](): void {
    this.close();
  }

  #pump(): void {
    // A callback may start a job while we dispatch: the loop below picks it up.
    if (this.#closed || this.#pumping) return;
    this.#pumping = true;
    try {
      if (this.#rerun.size > 0) this.#dispatchReruns();
      this.#dispatch();
    } finally {
      this.#pumping = false;
    }
  }

  /**
   * Sends each lane that lost tasks the next of them, alone, once the one before has
   * reported; the lane takes other work again only when the last one has.
   */
  #dispatchReruns(): void {
    for (const [lane, tasks] of this.#rerun) {
      if (lane.inFlight > 0 || !lane.hasRoom()) continue;
      let task: Task | undefined;
      while ((task = tasks.shift()) && task.job.settled);
      if (task) this.#send(lane, [task]);
      else this.#rerun.delete(lane);
    }
  }

  #dispatch(): void {
    while (true) {
      const lane = this.#leastLoaded();
      if (!lane) return;
      const tasks: Task[] = [];
      let work = lane.load;
      const batchWork = lane.batchWork ?? this.#maxQueuedWork;
      const laneNo = this.#laneIndex.get(lane)!;
      while (tasks.length < this.#maxBatch && (tasks.length === 0 || work < batchWork)) {
        const again = this.#returned.length > 0 ? this.#nextReturned() : undefined;
        const task = again ?? this.#queue.next();
        if (!task) break;
        const to = again ? laneNo : this.#pinned.place(task, laneNo); // held there, if not here
        if (to === laneNo) work += (tasks.push(task), task.cost);
        if (!again) task.job.options.onDispatch?.(task.no, to, task.units);
      }
      if (tasks.length > 0) this.#send(lane, tasks);
      if (this.#pinned.size > 0) this.#pinned.dispatch(this.#maxBatch, this.#sendPinned);
      if (tasks.length === 0) return;
    }
  }

  #sendPinned = (to: Lane<Task>, tasks: Task[]) => this.#free(to) && this.#send(to, tasks) > 0;
  #nextReturned(): Task | undefined {
    let task: Task | undefined;
    while ((task = this.#returned.shift()) && task.job.settled);
    return task;
  }

  #onReturn(tasks: readonly Task[]): void {
    if (this.#closed) return;
    for (const task of tasks) if (!task.job.settled) this.#returned.push(task);
    queueMicrotask(() => this.#pump());
  }

  #leastLoaded(): Lane<Task> | undefined {
    let best: Lane<Task> | undefined;
    for (const lane of this.#lanes) {
      if (!this.#free(lane)) continue; // one re-running lost tasks takes nothing else till done
      if (!best || lane.load < best.load) best = lane;
    }
    return best;
  }

  #free = (lane: Lane<Task>): boolean => !this.#rerun.has(lane) && lane.hasRoom();
  #send(lane: Lane<Task>, tasks: Task[]): number {
    lane.send(tasks);
    return ++this.#batchesSent;
  }

  #onReport(lane: Lane<Task>, tasks: readonly Task[], times: Float64Array): void {
    const worker = this.#laneIndex.get(lane)!;
    // The jobs of this batch, in the order first heard; each gathers its reports on itself
    // (no Map per batch: this runs on every wake-up of a busy server).
    const finished: Job[] = [];
    for (let i = 0; i < tasks.length; i++) {
      const task = tasks[i];
      this.#tasksDone++;
      const job = task.job;
      if (job.settled) {
        this.#tasksDiscarded++;
        continue;
      }
      const at = i * REPORT_STRIDE;
      const report: TaskReport = {
        taskNo: task.no,
        worker,
        units: times[at + 1],
        startedAt: times[at + 2],
        endedAt: times[at + 3],
      };
      // Most jobs of a busy server have one task in a batch: an array of one, not one that
      // grows from empty (which reserves room for 17).
      if (job.reports) job.reports.push(report);
      else {
        job.reports = [report];
        finished.push(job);
      }
    }
    for (const job of finished) {
      const reports = job.reports!;
      job.reports = undefined;
      this.#queue.report(job, reports);
    }
    this.#pump();
  }

  #onReady(lane: Lane<Task>): void {
    if (this.#lanesReady.add(lane).size === this.#lanes.length) this.#ready.resolve();
    this.#pump();
  }

  #onFailure(lane: Lane<Task>, reason: string, lost: readonly Task[]): void {
    if (this.#closed) return;
    this.#restarts++;
    // Alone on the Worker, a task is what killed it; among others, no one can tell which.
    const guilty = lost.length === 1 ? lost[0] : undefined;
    const again = this.#rerun.get(lane) ?? [];
    let requeued = 0;
    // The dying Worker, which may run on for a moment, must no longer act on their payloads.
    // The last sent first: when a run's hold on something is handed on (a locked request's
    // lock), the runs behind it on that Worker are given up already.
    for (let i = lost.length - 1; i >= 0; i--) lost[i].job.options.payloads?.revoke(lost[i].no);
    for (const task of lost) {
      if (task.job.settled) continue;
      if (task === guilty && !this.#queue.charge(task, reason)) continue;
      again.push(task);
      requeued++;
    }
    if (again.length > 0) this.#rerun.set(lane, again);
    this.#onIncident?.({ worker: this.#laneIndex.get(lane)!, reason, tasksRequeued: requeued });
  }

  #onBroken(lane: Lane<Task>, reason: string): void {
    if (this.#closed) return;
    this.#broken = new WorkerFailedError(
      `the Worker module cannot run: a new Worker of ${lane.name} died before it was ready ` +
        `(${reason}); check that the module loads and that --allow-read grants it`,
    );
    this.#onIncident?.({ worker: this.#laneIndex.get(lane)!, reason, tasksRequeued: 0 });
    this.close();
  }
}
