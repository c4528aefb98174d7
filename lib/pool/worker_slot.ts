/**
 * One lane of the pool backed by a local module Worker: it starts the Worker,
 * keeps the batches it has in flight, hears its reports and faults, and puts a
 * new Worker in place of one that died.
 *
 * @module
 */
import type { Lane, LaneListener, LaneTask } from "./lane.ts";
import { counterTasksMessage } from "../lessons/counter_cell.ts";
import {
  BATCH_STRIDE,
  REPORT_STRIDE,
  WORKER_READY,
  type WorkerFailure,
} from "./worker_messages.ts";

/** Options of {@linkcode WorkerSlot}. */
export interface WorkerSlotOptions<T extends LaneTask> {
  /** The slot's number in the pool: it is named `worker <index>`. */
  index: number;
  /** The Worker module. */
  moduleUrl: URL | string;
  /** Additions per work unit, sent with every batch. */
  iterationsPerUnit: number;
  /**
   * Work, in additions, past which the slot takes a second batch while one runs,
   * so the Worker does not idle through the round trip.
   */
  maxQueuedWork: number;
  /** Hears of readiness, reports and faults. */
  listener: LaneListener<T>;
}

/**
 * A {@linkcode Lane} on one local module Worker, named `worker <index>`. Its
 * Workers are named `threadcount-worker-<index>.<generation>`, the generation
 * counting the Workers that died in this slot.
 *
 * Room: none until the Worker has posted that it is ready; then one batch at a
 * time, and a second one behind a batch of at least `maxQueuedWork` additions.
 *
 * @example
 * ```ts ignore
 * const slot = new WorkerSlot({ index: 0, moduleUrl, iterationsPerUnit: 1000,
 *   maxQueuedWork: 2_000_000, listener });
 * // listener.onReady(slot) → slot.send(tasks) → listener.onReport(slot, tasks, times)
 * ```
 */
export class WorkerSlot<T extends LaneTask> implements Lane<T> {
  /** `worker <index>`. */
  readonly name: string;
  #index: number;
  #moduleUrl: URL | string;
  #iterationsPerUnit: number;
  #maxQueuedWork: number;
  #listener: LaneListener<T>;
  #generation = 0;
  #worker: Worker;
  #ready = false;
  #closed = false;
  #inFlight = new Map<number, T>();
  #load = 0;
  /** Batches sent and not yet reported. */
  #batches = 0;

  /**
   * Starts the slot's first Worker.
   *
   * @param options Where the module is, the work model and the listener.
   */
  constructor(options: WorkerSlotOptions<T>) {
    this.#index = options.index;
    this.name = `worker ${options.index}`;
    this.#moduleUrl = options.moduleUrl;
    this.#iterationsPerUnit = options.iterationsPerUnit;
    this.#maxQueuedWork = options.maxQueuedWork;
    this.#listener = options.listener;
    this.#worker = this.#spawn();
  }

  /** Work sent and not yet reported, in additions. */
  get load(): number {
    return this.#load;
  }

  /** Tasks sent and not yet reported. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /**
   * Whether the slot may take a batch now. Not before its Worker has said it is ready:
   * then a Worker that dies before that surely could not load (Deno delivers a Worker's
   * errors and its messages on separate channels, so a batch sent earlier could kill it
   * before its "ready" is heard, and a poison task would pass for a broken module).
   */
  hasRoom(): boolean {
    if (!this.#ready || this.#closed) return false;
    // One batch of cheap tasks at a Worker at a time: tasks that come while it runs wait in
    // the queue and go together in the next batch, so a busy pool sends few, full messages
    // (each message wakes a thread, a system call on both sides). Behind a long batch, one
    // more may wait at the Worker, so it never idles through the round trip.
    return this.#batches === 0 || (this.#batches === 1 && this.#load >= this.#maxQueuedWork);
  }

  /**
   * Sends a batch to the Worker.
   *
   * @param tasks The tasks, run in this order.
   */
  send(tasks: readonly T[]): void {
    if (this.#closed) return;
    const batch = new Float64Array(1 + tasks.length * BATCH_STRIDE);
    batch[0] = this.#iterationsPerUnit;
    for (let i = 0; i < tasks.length; i++) {
      const task = tasks[i];
      batch[1 + i * BATCH_STRIDE] = task.id;
      batch[2 + i * BATCH_STRIDE] = task.units;
      this.#inFlight.set(task.id, task);
      this.#load += task.cost;
    }
    this.#batches++;
    // Tasks of racy or locked requests: their cells go first (no message for other tasks).
    const counters = counterTasksMessage(tasks);
    if (counters) this.#worker.postMessage(counters);
    this.#worker.postMessage(batch);
  }

  /** Terminates the Worker; tasks in flight are forgotten. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#worker.terminate();
    this.#forget();
  }

  #spawn(): Worker {
    const worker = new Worker(this.#moduleUrl, {
      type: "module",
      name: `threadcount-worker-${this.#index}.${this.#generation}`,
    });
    worker.onmessage = (event: MessageEvent<Float64Array | WorkerFailure | string>) => {
      if (this.#worker !== worker) return;
      const data = event.data;
      if (data instanceof Float64Array) this.#onReport(data);
      else if (data === WORKER_READY) this.#onReady();
      else {
        const error = typeof data === "object" ? data?.error : data;
        this.#fail(`the Worker could not run a batch: ${error}`);
      }
    };
    worker.onerror = (event: ErrorEvent) => {
      // Without this the error would end the whole process.
      event.preventDefault();
      if (this.#worker === worker) this.#fail(event.message);
    };
    worker.onmessageerror = () => {
      if (this.#worker === worker) this.#fail("a message from the Worker could not be read");
    };
    return worker;
  }

  #onReady(): void {
    if (this.#ready || this.#closed) return;
    this.#ready = true;
    this.#listener.onReady(this);
  }

  #onReport(report: Float64Array): void {
    if (this.#closed) return;
    const count = report.length / REPORT_STRIDE;
    const tasks: T[] = new Array(count);
    for (let i = 0; i < count; i++) {
      const task = this.#inFlight.get(report[i * REPORT_STRIDE]);
      if (!task) {
        return this.#fail(`the Worker reported task ${report[i * REPORT_STRIDE]}, not sent`);
      }
      tasks[i] = task;
    }
    this.#batches--;
    for (const task of tasks) {
      this.#inFlight.delete(task.id);
      this.#load -= task.cost;
    }
    if (this.#inFlight.size === 0) this.#forget();
    this.#listener.onReport(this, tasks, report);
  }

  /** The Worker died or misbehaved: a new one takes its place, unless it was never ready. */
  #fail(reason: string): void {
    if (this.#closed) return;
    this.#worker.terminate();
    const lost = [...this.#inFlight.values()];
    this.#forget();
    if (!this.#ready) {
      this.#closed = true;
      this.#listener.onBroken(this, reason, lost);
      return;
    }
    this.#ready = false;
    this.#generation++;
    this.#worker = this.#spawn();
    this.#listener.onFailure(this, reason, lost);
  }

  #forget(): void {
    this.#inFlight.clear();
    this.#load = 0;
    this.#batches = 0;
  }
}
