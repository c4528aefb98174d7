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
import type { PoolStats } from "./worker_pool.ts";
import { REPORT_STRIDE, WORKER_READY } from "./worker_messages.ts";
import { counterTasksMessage } from "../counter/counter_cell.ts";

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

/** A Worker at work in a lane. */
interface Running {
  worker: Worker;
  task: Task;
}

/**
 * Runs each increment on a Worker of its own. Same job interface as `WorkerPool`.
 *
 * @example
 * ```ts ignore
 * import { PerIncrementRunner } from "./per_increment_runner.ts";
 *
 * using runner = new PerIncrementRunner({ size: 2, iterationsPerUnit: 1000 });
 * await runner.start({ tasks: 3, drawUnits: () => 1, onDone: () => {} }).done;
 * console.log(runner.stats.workersStarted); // 3
 * ```
 */
export class PerIncrementRunner {
  #iterationsPerUnit: number;
  #moduleUrl: URL | string;
  #queue: JobQueue;
  #lanes: (Running | undefined)[];
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
    this.#moduleUrl = options.moduleUrl ?? new URL("../../worker.ts", import.meta.url);
    this.#queue = new JobQueue({ iterationsPerUnit, maxAttempts: 1 });
    this.#lanes = new Array(size).fill(undefined);
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
    const busy = this.#lanes.filter((lane) => lane !== undefined).length;
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
      if (this.#lanes[index]) continue;
      const task = this.#queue.next();
      if (!task) return;
      this.#run(index, task);
    }
  }

  #run(index: number, task: Task): void {
    task.job.options.onDispatch?.(task.no, index, task.units);
    const spawnedAt = performance.now();
    const worker = new Worker(this.#moduleUrl, {
      type: "module",
      name: `threadcount-increment-${task.id}`,
    });
    this.#started++;
    this.#lanes[index] = { worker, task };
    let startMs = 0;
    worker.onmessage = (event: MessageEvent<unknown>) => {
      if (this.#lanes[index]?.worker !== worker) return;
      const data = event.data;
      if (data === WORKER_READY) {
        startMs = performance.now() - spawnedAt;
        this.#startMs += startMs;
        if (task.job.settled) return this.#finish(index);
        const counters = counterTasksMessage([task]);
        if (counters) worker.postMessage(counters);
        worker.postMessage(new Float64Array([this.#iterationsPerUnit, task.id, task.units]));
      } else if (data instanceof Float64Array && data.length === REPORT_STRIDE) {
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
          workerStartMs: startMs,
        }]);
      } else {
        const error = (data as { error?: string } | null)?.error ?? String(data);
        this.#fail(index, `the Worker could not run increment ${task.no}: ${error}`);
      }
    };
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault(); // else the error would end the whole process
      if (this.#lanes[index]?.worker === worker) this.#fail(index, event.message);
    };
  }

  #fail(index: number, reason: string): void {
    const task = this.#lanes[index]?.task;
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
    const running = this.#lanes[index];
    if (!running) return;
    running.worker.terminate();
    this.#ended++;
    this.#lanes[index] = undefined;
  }
}
