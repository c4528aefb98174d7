/**
 * A pool of module Workers that runs increments as tasks: started once,
 * reused for every request, fair between requests, and self-healing when a
 * Worker dies.
 *
 * @module
 */
import { BATCH_STRIDE, REPORT_STRIDE, type WorkerFailure } from "./worker_messages.ts";

/** When and where one task ran, as reported by its Worker. */
export interface TaskReport {
  /** The task's number within its job, from 1. */
  taskNo: number;
  /** Index of the Worker that ran it, from 0. */
  worker: number;
  /** Work units it spun. */
  units: number;
  /** When it started spinning, in ms since the Unix epoch. */
  startedAt: number;
  /** When it stopped spinning, in ms since the Unix epoch. */
  endedAt: number;
}

/** A job: a number of tasks, each one increment. */
export interface JobOptions {
  /** How many tasks the job has. */
  tasks: number;
  /** Draws the work units of the next task; called once per task, in dispatch order. */
  drawUnits: () => number;
  /** Receives the reports of finished tasks, a batch at a time, in the order they finished. */
  onDone: (reports: TaskReport[]) => void;
  /** Hears of each task as it is sent to a Worker. */
  onDispatch?: (taskNo: number, worker: number, units: number) => void;
  /** Cancels the job (with {@linkcode WorkerPool.run}): queued tasks are dropped, running ones discarded. */
  signal?: AbortSignal;
}

/** A job under way. */
export interface RunningJob {
  /** Settles when the job does: resolved when every task reported, rejected otherwise. */
  done: Promise<void>;
  /** Cancels the job: queued tasks are dropped, running ones discarded; `done` rejects with `reason`. */
  cancel(reason?: unknown): void;
}

function failedJob(error: unknown): RunningJob {
  return { done: Promise.reject(error), cancel: () => {} };
}

/** Something that happened to a Worker of the pool. */
export interface WorkerIncident {
  /** Index of the Worker that died and was replaced. */
  worker: number;
  /** Why it died. */
  reason: string;
  /** Tasks it was running, which were queued again (or failed their job). */
  tasksRequeued: number;
}

/** Options of {@linkcode WorkerPool}. */
export interface WorkerPoolOptions {
  /** How many Workers to run. */
  size: number;
  /** Additions per work unit. */
  iterationsPerUnit: number;
  /** The Worker module. Defaults to the project's `worker.ts`. */
  moduleUrl?: URL | string;
  /**
   * Work, in additions, that one batch may carry: enough to make the message worth it,
   * small enough that a new job's task gets its turn soon. Defaults to 2 000 000 (about
   * 2 ms here). A batch always carries at least one task.
   */
  maxQueuedWork?: number;
  /** Most tasks in one message to a Worker. Defaults to 256. */
  maxBatch?: number;
  /** Runs of one task (each ended by a dying Worker) before its job fails. Defaults to 3. */
  maxAttempts?: number;
  /** Hears of each Worker that died and was replaced. */
  onIncident?: (incident: WorkerIncident) => void;
}

/** A snapshot of the pool's load. */
export interface PoolStats {
  workers: number;
  workersBusy: number;
  tasksQueued: number;
  tasksInFlight: number;
  tasksDone: number;
  tasksDiscarded: number;
  workerRestarts: number;
  /** Messages sent to Workers: tasks / batches is how many tasks share a message. */
  batchesSent: number;
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

/** Additions one task costs on top of its units: the message and bookkeeping. */
const TASK_OVERHEAD = 5_000;

interface Job {
  options: JobOptions;
  remaining: number;
  nextNo: number;
  retry: Task[];
  completed: number;
  settled: boolean;
  queued: boolean;
  resolve: () => void;
  reject: (reason: unknown) => void;
}

interface Task {
  id: number;
  job: Job;
  no: number;
  units: number;
  cost: number;
  attempts: number;
}

interface Slot {
  index: number;
  generation: number;
  worker: Worker;
  inFlight: Map<number, Task>;
  queuedWork: number;
  /** Batches sent and not yet reported. */
  batches: number;
  /** Whether the current Worker has reported at least once. */
  reported: boolean;
  /** Workers in a row that died in this slot before they reported anything. */
  deadOnArrival: number;
}

/**
 * Runs jobs of increment tasks on a fixed set of module Workers. Tasks of all
 * jobs are taken round-robin by job, so a small job is never stuck behind a
 * large one. Several tasks travel in one message and several wait at each
 * Worker when tasks are cheap; each task still runs on its own, with its own
 * units and its own report.
 *
 * @example
 * ```ts ignore
 * import { WorkerPool } from "./worker_pool.ts";
 *
 * using pool = new WorkerPool({ size: 2, iterationsPerUnit: 1000 });
 * let done = 0;
 * await pool.run({ tasks: 10, drawUnits: () => 1, onDone: (r) => (done += r.length) });
 * console.log(done); // 10
 * ```
 */
export class WorkerPool {
  #moduleUrl: URL | string;
  #iterationsPerUnit: number;
  #maxQueuedWork: number;
  #maxBatch: number;
  #maxAttempts: number;
  #onIncident?: (incident: WorkerIncident) => void;
  #slots: Slot[] = [];
  #queue: Job[] = [];
  #turn = 0;
  #live = new Set<Job>();
  #nextTaskId = 1;
  #tasksDone = 0;
  #tasksDiscarded = 0;
  #restarts = 0;
  #batchesSent = 0;
  #closed = false;
  #pumping = false;
  #pumpQueued = false;
  #broken?: Error;

  /**
   * Starts the Workers.
   *
   * @param options Size, work model and tuning.
   * @throws {RangeError} When a count is not a positive integer.
   */
  constructor(options: WorkerPoolOptions) {
    const {
      size,
      iterationsPerUnit,
      moduleUrl = new URL("../../worker.ts", import.meta.url),
      maxQueuedWork = 2_000_000,
      maxBatch = 256,
      maxAttempts = 3,
    } = options;
    requirePositiveInteger("size", size);
    requirePositiveInteger("maxBatch", maxBatch);
    requirePositiveInteger("maxAttempts", maxAttempts);
    if (!Number.isInteger(iterationsPerUnit) || iterationsPerUnit < 0) {
      throw new RangeError(
        `'iterationsPerUnit' must be an integer of 0 or more: received ${iterationsPerUnit}`,
      );
    }
    this.#moduleUrl = moduleUrl;
    this.#iterationsPerUnit = iterationsPerUnit;
    this.#maxQueuedWork = maxQueuedWork;
    this.#maxBatch = maxBatch;
    this.#maxAttempts = maxAttempts;
    this.#onIncident = options.onIncident;
    for (let index = 0; index < size; index++) {
      const slot: Slot = {
        index,
        generation: 0,
        worker: undefined as unknown as Worker,
        inFlight: new Map(),
        queuedWork: 0,
        batches: 0,
        reported: false,
        deadOnArrival: 0,
      };
      slot.worker = this.#spawn(slot);
      this.#slots.push(slot);
    }
  }

  /** How many Workers the pool runs. */
  get size(): number {
    return this.#slots.length;
  }

  /** A snapshot of the pool's load. */
  get stats(): PoolStats {
    let tasksQueued = 0;
    for (const job of this.#queue) tasksQueued += job.remaining + job.retry.length;
    let tasksInFlight = 0;
    let workersBusy = 0;
    for (const slot of this.#slots) {
      tasksInFlight += slot.inFlight.size;
      if (slot.inFlight.size > 0) workersBusy++;
    }
    return {
      workers: this.#slots.length,
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
   * @throws {WorkerFailedError} (rejects) When a task was on `maxAttempts` Workers that died.
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
    if (!Number.isInteger(options.tasks) || options.tasks < 0) {
      return failedJob(
        new RangeError(`'tasks' must be an integer of 0 or more: received ${options.tasks}`),
      );
    }
    if (options.tasks === 0) return { done: Promise.resolve(), cancel: () => {} };
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    const job: Job = {
      options,
      remaining: options.tasks,
      nextNo: 1,
      retry: [],
      completed: 0,
      settled: false,
      queued: false,
      resolve,
      reject,
    };
    this.#live.add(job);
    this.#enqueue(job);
    // Jobs that arrive together (say, from many sockets read in one turn) share messages.
    if (!this.#pumpQueued) {
      this.#pumpQueued = true;
      queueMicrotask(() => {
        this.#pumpQueued = false;
        this.#pump();
      });
    }
    return {
      done: promise,
      cancel: (reason) => this.#settle(job, reason ?? new Error("cancelled")),
    };
  }

  /** Terminates every Worker and fails every job that has not finished. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const slot of this.#slots) {
      slot.worker.terminate();
      slot.inFlight.clear();
    }
    const error = this.#broken ?? new Error("the worker pool is closed");
    for (const job of [...this.#live]) this.#settle(job, error);
  }

  /** Same as {@linkcode WorkerPool.close}. */
  [Symbol.dispose](): void {
    this.close();
  }

  #spawn(slot: Slot): Worker {
    const worker = new Worker(this.#moduleUrl, {
      type: "module",
      name: `threadcount-worker-${slot.index}.${slot.generation}`,
    });
    worker.onmessage = (event: MessageEvent<Float64Array | WorkerFailure>) => {
      if (slot.worker !== worker) return;
      const data = event.data;
      if (data instanceof Float64Array) this.#onReport(slot, data);
      else this.#replace(slot, `the Worker could not run a batch: ${data?.error}`);
    };
    worker.onerror = (event: ErrorEvent) => {
      // Without this the error would end the whole process.
      event.preventDefault();
      if (slot.worker === worker) this.#replace(slot, event.message);
    };
    worker.onmessageerror = () => {
      if (slot.worker === worker) {
        this.#replace(slot, "a message from the Worker could not be read");
      }
    };
    return worker;
  }

  #enqueue(job: Job): void {
    if (job.queued || job.settled) return;
    job.queued = true;
    this.#queue.push(job);
  }

  /** The next task, round-robin by job; drops jobs with nothing left to send. */
  #nextTask(): Task | undefined {
    while (this.#queue.length > 0) {
      if (this.#turn >= this.#queue.length) this.#turn = 0;
      const job = this.#queue[this.#turn];
      let task = job.retry.shift();
      if (!task && job.remaining > 0) {
        job.remaining--;
        const units = job.options.drawUnits();
        task = {
          id: this.#nextTaskId++,
          job,
          no: job.nextNo++,
          units,
          cost: units * this.#iterationsPerUnit + TASK_OVERHEAD,
          attempts: 0,
        };
      }
      if (job.retry.length === 0 && job.remaining === 0) {
        this.#queue.splice(this.#turn, 1);
        job.queued = false;
      } else if (task) {
        this.#turn++;
      }
      if (task) return task;
    }
    return undefined;
  }

  #pump(): void {
    // A callback may start a job while we dispatch: the loop below picks it up.
    if (this.#closed || this.#pumping) return;
    this.#pumping = true;
    try {
      this.#dispatch();
    } finally {
      this.#pumping = false;
    }
  }

  #dispatch(): void {
    while (this.#queue.length > 0) {
      const slot = this.#leastLoaded();
      if (!slot) return;
      const tasks: Task[] = [];
      while (
        tasks.length < this.#maxBatch &&
        (tasks.length === 0 || slot.queuedWork < this.#maxQueuedWork)
      ) {
        const task = this.#nextTask();
        if (!task) break;
        tasks.push(task);
        slot.inFlight.set(task.id, task);
        slot.queuedWork += task.cost;
      }
      if (tasks.length === 0) return;
      this.#send(slot, tasks);
    }
  }

  #leastLoaded(): Slot | undefined {
    let best: Slot | undefined;
    for (const slot of this.#slots) {
      // One batch of cheap tasks at a Worker at a time: tasks that come while it runs wait
      // here and go together in the next batch, so a busy pool sends few, full messages (each
      // message wakes a thread, a system call on both sides). Behind a long batch, one more
      // may wait at the Worker, so it never idles through the round trip.
      const hasRoom = slot.batches === 0 ||
        (slot.batches === 1 && slot.queuedWork >= this.#maxQueuedWork);
      if (hasRoom && (!best || slot.queuedWork < best.queuedWork)) best = slot;
    }
    return best;
  }

  #send(slot: Slot, tasks: Task[]): void {
    const batch = new Float64Array(1 + tasks.length * BATCH_STRIDE);
    batch[0] = this.#iterationsPerUnit;
    for (let i = 0; i < tasks.length; i++) {
      const task = tasks[i];
      batch[1 + i * BATCH_STRIDE] = task.id;
      batch[2 + i * BATCH_STRIDE] = task.units;
      task.job.options.onDispatch?.(task.no, slot.index, task.units);
    }
    slot.batches++;
    this.#batchesSent++;
    slot.worker.postMessage(batch);
  }

  #onReport(slot: Slot, report: Float64Array): void {
    slot.batches--;
    slot.reported = true;
    slot.deadOnArrival = 0;
    const finished = new Map<Job, TaskReport[]>();
    for (let at = 0; at < report.length; at += REPORT_STRIDE) {
      const task = slot.inFlight.get(report[at]);
      if (!task) continue;
      slot.inFlight.delete(task.id);
      slot.queuedWork -= task.cost;
      this.#tasksDone++;
      const job = task.job;
      if (job.settled) {
        this.#tasksDiscarded++;
        continue;
      }
      job.completed++;
      const reports = finished.get(job) ?? [];
      if (reports.length === 0) finished.set(job, reports);
      reports.push({
        taskNo: task.no,
        worker: slot.index,
        units: report[at + 1],
        startedAt: report[at + 2],
        endedAt: report[at + 3],
      });
    }
    if (slot.inFlight.size === 0) {
      slot.queuedWork = 0;
      slot.batches = 0;
    }
    for (const [job, reports] of finished) {
      if (job.settled) continue;
      try {
        job.options.onDone(reports);
      } catch (error) {
        this.#settle(job, error);
        continue;
      }
      if (job.completed === job.options.tasks) this.#settle(job);
    }
    this.#pump();
  }

  #replace(slot: Slot, reason: string): void {
    if (this.#closed) return;
    slot.worker.terminate();
    if (!slot.reported && ++slot.deadOnArrival >= this.#maxAttempts) {
      // The module itself cannot run (a syntax error, no read permission): stop trying.
      this.#broken = new WorkerFailedError(
        `the Worker module cannot run (${slot.deadOnArrival} Workers died before doing ` +
          `anything): ${reason}`,
      );
      this.#onIncident?.({ worker: slot.index, reason, tasksRequeued: 0 });
      this.close();
      return;
    }
    const tasks = [...slot.inFlight.values()];
    slot.inFlight.clear();
    slot.queuedWork = 0;
    slot.batches = 0;
    slot.generation++;
    slot.reported = false;
    this.#restarts++;
    for (const task of tasks) {
      const job = task.job;
      if (job.settled) continue;
      task.attempts++;
      if (task.attempts >= this.#maxAttempts) {
        this.#settle(
          job,
          new WorkerFailedError(
            `task ${task.no} was running on ${task.attempts} Workers that died; last: ${reason}`,
          ),
        );
        continue;
      }
      job.retry.push(task);
      this.#enqueue(job);
    }
    slot.worker = this.#spawn(slot);
    this.#onIncident?.({ worker: slot.index, reason, tasksRequeued: tasks.length });
    this.#pump();
  }

  /** Ends a job: resolves it, or rejects it with `error`, and forgets its queued tasks. */
  #settle(job: Job, error?: unknown): void {
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
    job.retry.length = 0;
    if (error === undefined) job.resolve();
    else job.reject(error);
  }
}

function requirePositiveInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`'${name}' must be a positive integer: received ${value}`);
  }
}
