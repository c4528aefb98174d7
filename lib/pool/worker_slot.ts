/**
 * One lane of the pool backed by a local module Worker: it feeds the Worker
 * through its task ring, keeps the batches it has in flight, hears their reports,
 * and on a fault gives up what the Worker held and has its {@linkcode WorkerHost}
 * put a new Worker in its place.
 *
 * @module
 */
import type { Lane, LaneListener, LaneTask } from "./lane.ts";
import { failureText, payloadsMessage, REPORT_STRIDE } from "./worker_messages.ts";
import { TaskRingWriter } from "./task_ring_writer.ts";
import { WorkerHost } from "./worker_host.ts";

/** Options of {@linkcode WorkerSlot}. */
export interface WorkerSlotOptions<T extends LaneTask> {
  /** The slot's number in the pool: it is named `worker <index>`. */
  index: number;
  /** The Worker module. Defaults to the project's `worker.ts`. */
  moduleUrl?: URL | string;
  /** Additions per work unit, sent to each Worker once. */
  iterationsPerUnit: number;
  /** Most tasks the slot is ever sent and has not reported: the size of its task ring. */
  capacity: number;
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
 * counting the Workers that died in this slot. Tasks go to the Worker through
 * its task ring (see `task_ring.ts`), each Worker a ring of its own.
 *
 * Room: none until the Worker has posted that it is ready; then one batch at a
 * time, and a second one behind a batch of at least `maxQueuedWork` additions.
 *
 * @example
 * ```ts
 * import { WorkerSlot } from "./worker_slot.ts";
 * import type { LaneListener, LaneTask } from "./lane.ts";
 * import assert from "node:assert/strict";
 *
 * const ran: number[] = [];
 * const done = Promise.withResolvers<void>();
 * const listener: LaneListener<LaneTask> = {
 *   onReady: (lane) => lane.send([{ id: 1, units: 1, cost: 10 }, { id: 2, units: 2, cost: 20 }]),
 *   onReport(_lane, tasks) { // reports may come a few at a time
 *     ran.push(...tasks.map((task) => task.id));
 *     if (ran.length === 2) done.resolve();
 *   },
 *   onFailure() {},
 *   onBroken() {},
 * };
 * const slot = new WorkerSlot({
 *   index: 0,
 *   iterationsPerUnit: 10,
 *   capacity: 4,
 *   maxQueuedWork: 1000,
 *   listener,
 * });
 * await done.promise;
 * assert.deepEqual(ran, [1, 2]);
 * slot.close();
 * ```
 */
export class WorkerSlot<T extends LaneTask> implements Lane<T> {
  /** `worker <index>`. */
  readonly name: string;
  #iterationsPerUnit: number;
  #maxQueuedWork: number;
  #listener: LaneListener<T>;
  #capacity: number;
  #host: WorkerHost;
  #ring!: TaskRingWriter;
  /** Hears the current ring's reports (see `#watch`): made once per ring. */
  #onReported!: () => void;
  /** Where the reports are read to, reused: the listener reads it during its call only. */
  #report: Float64Array;
  #closed = false;
  /** Whether a failure is being handled: the drain it does may find more of the same. */
  #failing = false;
  /** The ring whose reports we wait for, if any: a new Worker's ring needs its own wait. */
  #watched?: TaskRingWriter;
  /**
   * Tasks sent and not yet reported, oldest first, in a circular array as long as the ring:
   * the Worker reports them in the order sent (a Map would grow and shrink with each batch).
   */
  #inFlight: (T | undefined)[] = [];
  #oldest = 0;
  #inFlightCount = 0;
  /** The ring's capacity less one: the circular arrays' index mask. */
  #mask = 0;
  #load = 0;
  #sent = 0;
  #reported = 0;
  /** For each batch not yet fully reported, the count of tasks sent when it ends. */
  #batchEnds: number[] = [];

  /**
   * Starts the slot's first Worker.
   *
   * @param options Where the module is, the work model and the listener.
   */
  constructor(options: WorkerSlotOptions<T>) {
    this.name = `worker ${options.index}`;
    this.#iterationsPerUnit = options.iterationsPerUnit;
    this.#capacity = options.capacity;
    this.#maxQueuedWork = options.maxQueuedWork;
    this.#listener = options.listener;
    this.#report = new Float64Array(options.capacity * REPORT_STRIDE);
    this.#host = new WorkerHost({
      moduleUrl: options.moduleUrl,
      name: (generation) => `threadcount-worker-${options.index}.${generation}`,
      listener: {
        onReady: () => this.#onReady(),
        onMessage: (data) => this.#fail(`the Worker could not run a batch: ${failureText(data)}`),
        onError: (reason) => this.#fail(reason),
      },
    });
    this.#start();
  }

  /** Work sent and not yet reported, in additions. */
  get load(): number {
    return this.#load;
  }

  /** Tasks sent and not yet reported. */
  get inFlight(): number {
    return this.#inFlightCount;
  }

  /**
   * The task its Worker runs now, sampled from the ring (`TaskRingWriter.running`).
   *
   * @returns The task and when it started, or `undefined` when it runs none.
   */
  running(): { task: T; startedAt: number } | undefined {
    const now = this.#ring.running();
    if (!now) return undefined;
    // Tasks are run in the order sent: it is among the oldest in flight.
    for (let i = 0; i < this.#inFlightCount; i++) {
      const task = this.#inFlight[(this.#oldest + i) & this.#mask];
      if (task?.id === now.id) return { task, startedAt: now.startedAt };
    }
    return undefined;
  }

  /**
   * Whether the slot may take a batch now. Not before its Worker has said it is ready:
   * then a Worker that dies before that surely could not load (Deno delivers a Worker's
   * errors and its messages on separate channels, so a task written earlier could kill it
   * before its "ready" is heard, and a poison task would pass for a broken module).
   */
  hasRoom(): boolean {
    if (!this.#host.ready || this.#closed) return false;
    // One batch of cheap tasks at a Worker at a time: tasks that come while it runs wait in
    // the queue and go together in the next batch, so a busy pool hands over few, full batches
    // (each may wake a sleeping thread, a system call on both sides). Behind a long batch, one
    // more may wait at the Worker, so it never idles through the round trip.
    const batches = this.#batchEnds.length;
    return batches === 0 || (batches === 1 && this.#load >= this.#maxQueuedWork);
  }

  /**
   * Writes a batch into the Worker's task ring, waking the Worker only if it sleeps.
   *
   * @param tasks The tasks, run in this order.
   */
  send(tasks: readonly T[]): void {
    if (this.#closed) return;
    // What the tasks carry goes first (no message when they carry nothing, the usual case).
    const payloads = payloadsMessage(tasks);
    if (payloads) {
      this.#ring.announceMessage();
      this.#host.postMessage(payloads);
    }
    for (const task of tasks) {
      this.#ring.push(task.id, task.units);
      this.#inFlight[(this.#oldest + this.#inFlightCount++) & this.#mask] = task;
      this.#load += task.cost;
    }
    this.#ring.publish();
    this.#sent += tasks.length;
    this.#batchEnds.push(this.#sent);
    this.#watch();
  }

  /** Terminates the Worker; tasks in flight are forgotten. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#ring.stop();
    this.#host.stop();
    this.#ring.wakeReader();
    this.#forget();
  }

  /** Starts a Worker (the host's next one) with a ring of its own. */
  #start(): void {
    this.#ring = new TaskRingWriter({
      capacity: this.#capacity,
      iterationsPerUnit: this.#iterationsPerUnit,
    });
    this.#onReported = this.#hearReports(this.#ring);
    const rows = this.#ring.capacity;
    if (this.#inFlight.length !== rows) this.#inFlight = new Array(rows).fill(undefined);
    this.#mask = rows - 1;
    this.#sent = this.#reported = 0;
    this.#host.start();
    this.#host.postMessage(this.#ring.init);
  }

  #onReady(): void {
    if (!this.#closed) this.#listener.onReady(this);
  }

  /** Waits for the Worker's next reports while it has tasks; one wake-up reads them all. */
  #watch(): void {
    const ring = this.#ring;
    if (this.#watched === ring || this.#closed || this.#inFlightCount === 0) return;
    this.#watched = ring;
    (ring.whenReported() ?? Promise.resolve()).then(this.#onReported);
  }

  /** Made once per ring, not once per wake-up. */
  #hearReports(ring: TaskRingWriter): () => void {
    return () => {
      if (this.#watched === ring) this.#watched = undefined;
      if (ring !== this.#ring || this.#closed) return;
      this.#drain();
      this.#watch();
    };
  }
  /**
   * Hands the listener every report the Worker has written, a batch at a time (as
   * sent), so that a job hears of its tasks in the same steps however late we look.
   */
  #drain(): void {
    const report = this.#report;
    while (!this.#closed) {
      const batchEnd = this.#batchEnds[0] ?? Infinity;
      const count = this.#ring.readReports(report, batchEnd - this.#reported);
      if (count === 0) return;
      const tasks: T[] = new Array(count);
      for (let i = 0; i < count; i++) {
        const id = report[i * REPORT_STRIDE];
        const task = i < this.#inFlightCount
          ? this.#inFlight[(this.#oldest + i) & this.#mask]
          : undefined;
        if (task?.id !== id) {
          return this.#fail(`the Worker reported task ${id}, not the next one sent`);
        }
        tasks[i] = task;
      }
      for (let i = 0; i < count; i++) {
        this.#inFlight[this.#oldest] = undefined;
        this.#oldest = (this.#oldest + 1) & this.#mask;
        this.#load -= tasks[i].cost;
      }
      this.#inFlightCount -= count;
      this.#reported += count;
      if (this.#reported >= batchEnd) this.#batchEnds.shift();
      if (this.#inFlightCount === 0) this.#forget();
      this.#listener.onReport(this, tasks, report);
    }
  }

  /** The Worker died or misbehaved: a new one takes its place, unless it was never ready. */
  #fail(reason: string): void {
    // Draining below may find more bad rows of the same Worker: one failure, not one a row.
    if (this.#closed || this.#failing) return;
    this.#failing = true;
    try {
      this.#replace(reason);
    } finally {
      this.#failing = false;
    }
  }

  #replace(reason: string): void {
    const wasReady = this.#host.ready;
    this.#ring.stop();
    // What it reported before it died did run; no room meanwhile (no Worker), so nothing
    // joins the lost.
    this.#host.stop();
    this.#drain();
    this.#ring.wakeReader();
    const lost: T[] = [];
    for (let i = 0; i < this.#inFlightCount; i++) {
      lost.push(this.#inFlight[(this.#oldest + i) & this.#mask]!);
    }
    this.#forget();
    if (!wasReady) {
      this.#closed = true;
      this.#listener.onBroken(this, reason, lost);
      return;
    }
    this.#start();
    this.#listener.onFailure(this, reason, lost);
  }

  #forget(): void {
    for (let i = 0; i < this.#inFlightCount; i++) {
      this.#inFlight[(this.#oldest + i) & this.#mask] = undefined;
    }
    this.#oldest = this.#inFlightCount = 0;
    this.#load = 0;
    this.#batchEnds.length = 0;
  }
}
