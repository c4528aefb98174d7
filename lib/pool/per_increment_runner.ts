/**
 * The original's thread per increment, as a Worker model: every increment
 * gets a new module Worker, which is terminated as soon as it has reported.
 * It runs the same jobs as the `WorkerPool` (same `JobOptions`, same
 * `RunningJob`, same job queue, so requests are still served round-robin), with
 * at most `size` Workers alive at once, one per lane; what it costs is the
 * Workers' start-up, which it measures for each one.
 *
 * Faults are kept simple, as befits a lesson: a Worker that dies fails its job
 * with a {@linkcode WorkerFailedError}; the next increment gets a new Worker anyway.
 *
 * @module
 */
import { type JobOptions, JobQueue, type RunningJob, type Task } from "./job_queue.ts";
import { WorkerFailedError } from "./job_queue.ts";
import type { PoolStats } from "./pool_options.ts";
import { failureText, payloadsMessage, REPORT_STRIDE, taskBatch } from "./worker_messages.ts";
import { WorkerHost } from "./worker_host.ts";

/** Options of {@linkcode PerIncrementRunner}. */
export interface PerIncrementRunnerOptions {
  /** Most Workers alive at once (the lanes). */
  size: number;
  /** Additions per work unit. */
  iterationsPerUnit: number;
  /** The Worker module. Defaults to the project's `worker.ts`. */
  moduleUrl?: URL | string;
}

/** The runner's figures: the pool's, and its Workers' start-ups. */
export interface PerIncrementStats extends PoolStats {
  /** Workers started so far: one per increment run. */
  workersStarted: number;
  /** Workers alive now (started and not yet terminated). */
  workersAlive: number;
  /** Time all those Workers took to start (from `new Worker` to its "ready"), in ms. */
  workerStartMs: number;
}

/** A lane: one Worker at a time, for one increment. */
interface IncrementLane {
  host: WorkerHost;
  /** The increment it runs, while it runs one. */
  task?: Task;
}

/**
 * Runs each increment on a Worker of its own. Same job interface as `WorkerPool`.
 *
 * @example
 * ```ts
 * import { PerIncrementRunner } from "./per_increment_runner.ts";
 * import assert from "node:assert/strict";
 *
 * using runner = new PerIncrementRunner({ size: 2, iterationsPerUnit: 1000 });
 * await runner.start({ tasks: 3, drawUnits: () => 1, onDone: () => {} }).done;
 * assert.equal(runner.stats.workersStarted, 3);
 * assert.equal(runner.stats.workersAlive, 0);
 * ```
 */
export class PerIncrementRunner {
  #iterationsPerUnit: number;
  #queue: JobQueue;
  #lanes: IncrementLane[];
  #closed = false;
  #pumpQueued = false;
  #started = 0;
  #ended = 0;
  #startMs = 0;
  #tasksDone = 0;
  #tasksDiscarded = 0;

  /**
   * Makes the runner; no Worker starts before an increment needs it.
   *
   * @param options Lanes and work model.
   * @throws {RangeError} When `size` is not a positive integer.
   */
  constructor(options: PerIncrementRunnerOptions) {
    const { size, iterationsPerUnit } = options;
    if (!Number.isInteger(size) || size < 1) {
      throw new RangeError(`'size' must be a positive integer: received ${size}`);
    }
    this.#iterationsPerUnit = iterationsPerUnit;
    this.#queue = new JobQueue({ iterationsPerUnit, maxAttempts: 1 });
    this.#lanes = Array.from({ length: size }, (_, index) => {
      const lane: IncrementLane = {
        host: new WorkerHost({
          moduleUrl: options.moduleUrl,
          name: () => `threadcount-increment-${lane.task?.id}`,
          listener: {
            onReady: () => this.#onReady(index),
            onMessage: (data) => this.#onMessage(index, data),
            onError: (reason) => this.#fail(index, reason),
          },
        }),
      };
      return lane;
    });
  }

  /** Resolved at once: there are no Workers to wait for before the first increment. */
  get ready(): Promise<void> {
    return Promise.resolve();
  }

  /** How many Workers may be alive at once. */
  get size(): number {
    return this.#lanes.length;
  }

  /**
   * The names of the lanes: `worker 0`, `worker 1`, … (each lane sees a new Worker per increment).
   *
   * @returns One name per lane.
   */
  laneNames(): readonly string[] {
    return this.#lanes.map((_, index) => `worker ${index}`);
  }

  /** A snapshot of the load and of the Workers' start-ups. */
  get stats(): PerIncrementStats {
    const busy = this.#lanes.filter((lane) => lane.task !== undefined).length;
    return {
      workers: this.#lanes.length,
      workersBusy: busy,
      tasksQueued: this.#queue.queued,
      tasksInFlight: busy,
      tasksDone: this.#tasksDone,
      tasksDiscarded: this.#tasksDiscarded,
      workerRestarts: 0,
      batchesSent: this.#started,
      workersStarted: this.#started,
      workersAlive: this.#started - this.#ended,
      workerStartMs: this.#startMs,
    };
  }

  /**
   * Starts a job: each of its tasks runs on a new Worker.
   *
   * @param options The job (its `signal` is not watched here).
   * @returns The job under way.
   */
  start(options: JobOptions): RunningJob {
    if (this.#closed) {
      return { done: Promise.reject(new Error("the runner is closed")), cancel: () => {} };
    }
    let job: RunningJob;
    try {
      job = this.#queue.start(options);
    } catch (error) {
      return { done: Promise.reject(error), cancel: () => {} };
    }
    this.#schedulePump();
    return job;
  }

  /** Terminates every Worker alive and fails every job that has not finished. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (let index = 0; index < this.#lanes.length; index++) this.#end(index);
    this.#queue.failAll(new Error("the runner is closed"));
  }

  /** Same as {@linkcode PerIncrementRunner.close}. */
  [Symbol.dispose](): void {
    this.close();
  }

  #schedulePump(): void {
    if (this.#pumpQueued) return;
    this.#pumpQueued = true;
    queueMicrotask(() => {
      this.#pumpQueued = false;
      this.#pump();
    });
  }

  #pump(): void {
    for (let index = 0; index < this.#lanes.length && !this.#closed; index++) {
      if (this.#lanes[index].task) continue;
      const task = this.#queue.next();
      if (!task) return;
      this.#run(index, task);
    }
  }

  #run(index: number, task: Task): void {
    task.job.options.onDispatch?.(task.no, index, task.units);
    const lane = this.#lanes[index];
    lane.task = task;
    lane.host.start();
    this.#started++;
  }

  #onReady(index: number): void {
    const { host, task } = this.#lanes[index];
    this.#startMs += host.startMs!;
    if (!task || task.job.settled) return this.#finish(index);
    const payloads = payloadsMessage([task]);
    if (payloads) host.postMessage(payloads);
    host.postMessage(taskBatch([task], this.#iterationsPerUnit));
  }

  #onMessage(index: number, data: unknown): void {
    const { host, task } = this.#lanes[index];
    if (!task) return;
    if (!(data instanceof Float64Array && data.length === REPORT_STRIDE)) {
      return this.#fail(
        index,
        `the Worker could not run increment ${task.no}: ${failureText(data)}`,
      );
    }
    const workerStartMs = host.startMs;
    this.#finish(index);
    this.#tasksDone++;
    if (task.job.settled) {
      this.#tasksDiscarded++;
      return;
    }
    this.#queue.report(task.job, [{
      taskNo: task.no,
      worker: index,
      units: data[1],
      startedAt: data[2],
      endedAt: data[3],
      workerStartMs,
    }]);
  }

  #fail(index: number, reason: string): void {
    const task = this.#lanes[index].task;
    this.#finish(index);
    if (task) {
      this.#queue.settle(
        task.job,
        new WorkerFailedError(`the Worker of increment ${task.no} died: ${reason}`),
      );
    }
  }

  /** Terminates the lane's Worker and lets the next increment have the lane. */
  #finish(index: number): void {
    this.#end(index);
    if (!this.#closed) this.#schedulePump();
  }

  #end(index: number): void {
    const lane = this.#lanes[index];
    if (!lane.task) return;
    lane.host.stop();
    lane.task = undefined;
    this.#ended++;
  }
}
