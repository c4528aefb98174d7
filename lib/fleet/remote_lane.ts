/**
 * A lane of the pool on one Worker of a worker node, reached through NATS: the
 * same scheduler that feeds the local Workers feeds it, fairly, and it answers
 * through the same {@linkcode LaneListener}. Named `node-name/worker k`.
 *
 * A batch is one NATS request to the Worker's own subject; its reply is the
 * report. A batch that gets no reply by its deadline is lost: its tasks go back
 * to the scheduler (`LaneListener.onReturn`: to any lane, local ones included, not
 * charged to the tasks) and run again. A reply that
 * comes after that is dropped: a task is applied at most once, by its id.
 *
 * The deadline: {@linkcode RemoteLaneOptions.minDeadlineMs} plus three times the
 * batch's expected run time, counting the batch queued ahead of it at the same
 * Worker. The expected time per unit starts at a slow machine's (100 million
 * additions a second) and then follows what this Worker's reports measure
 * (units against their start and end times), so a long batch on a slow node is
 * not re-sent while it still runs, and a killed node costs about two seconds.
 *
 * @module
 */
import type { NatsConnection } from "@nats-io/transport-node";
import type { Lane, LaneListener, LaneTask } from "../pool/lane.ts";
import { REPORT_STRIDE, taskBatch } from "../pool/worker_messages.ts";
import { decodeReport, encodeBatch, MalformedMessageError, runSubject } from "./fleet_wire.ts";
import type { MalformedMessages } from "./malformed_messages.ts";
import { MAX_BATCHES_IN_FLIGHT } from "../defaults/defaults.ts";

/** Additions a second a slow machine's Worker does: the first guess of a remote Worker's speed. */
const FIRST_GUESS_ADDITIONS_PER_MS = 100_000;
/** How much each report moves the estimate of the time per unit (exponential average). */
const ESTIMATE_WEIGHT = 0.3;

/** Options of {@linkcode RemoteLane}. */
export interface RemoteLaneOptions<T extends LaneTask> {
  /** The connection to the broker. */
  nc: NatsConnection;
  /** The node's name. */
  node: string;
  /** The Worker's index on its node. */
  worker: number;
  /** Additions per work unit, sent with every batch. */
  iterationsPerUnit: number;
  /** Least deadline of a batch, in ms. */
  minDeadlineMs: number;
  /** Work, in additions, one batch may carry (see {@linkcode RemoteLane.batchWork}). */
  batchWork: number;
  /** Where malformed replies are counted. */
  malformed: MalformedMessages;
  /** Hears of readiness, reports and faults. */
  listener: LaneListener<T>;
  /** Hears of each batch lost (no reply by its deadline, or no node to take it). */
  onLost?: (lane: RemoteLane<T>, reason: string, unreachable: boolean) => void;
}

interface Batch<T extends LaneTask> {
  tasks: Map<number, T>;
  /** Tasks sent in it. */
  count: number;
  units: number;
  cost: number;
  live: boolean;
}

/**
 * A {@linkcode Lane} on one Worker of a worker node.
 *
 * Room: only while its node is up (it announced itself lately and the broker is
 * reachable); then two batches at a time, so the Worker does not idle through the
 * round trip over the network, and more while they are cheap (see
 * {@linkcode RemoteLane.hasRoom}).
 */
export class RemoteLane<T extends LaneTask> implements Lane<T> {
  /** `node-name/worker k`. */
  readonly name: string;
  /** The node's name. */
  readonly node: string;
  /** The Worker's index on its node. */
  readonly worker: number;
  #options: RemoteLaneOptions<T>;
  #subject: string;
  #up = false;
  #closed = false;
  #batches = new Set<Batch<T>>();
  #load = 0;
  #inFlight = 0;
  #msPerUnit: number;
  #lateReplies = 0;

  /**
   * Makes the lane, down until {@linkcode RemoteLane.up} is called.
   *
   * @param options The connection, the Worker's address, the listener.
   */
  constructor(options: RemoteLaneOptions<T>) {
    this.#options = options;
    this.node = options.node;
    this.worker = options.worker;
    this.name = `${options.node}/worker ${options.worker}`;
    this.#subject = runSubject(options.node, options.worker);
    this.#msPerUnit = Math.max(options.iterationsPerUnit / FIRST_GUESS_ADDITIONS_PER_MS, 0.01);
  }

  /** Work sent and not yet reported, in additions. */
  get load(): number {
    return this.#load;
  }

  /** Tasks sent and not yet reported. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /**
   * Work one batch may carry, in additions: about 25 ms of the default units, so that a
   * message (four wake-ups of threads across three processes) carries several increments.
   */
  get batchWork(): number {
    return this.#options.batchWork;
  }

  /** Whether the node is taken to be up. */
  get isUp(): boolean {
    return this.#up && !this.#closed;
  }

  /** Replies that came after their batch was given up (and were dropped). */
  get lateReplies(): number {
    return this.#lateReplies;
  }

  /**
   * Whether the node is up and the Worker may take another batch: two at a time, and more
   * (up to {@linkcode MAX_BATCHES_IN_FLIGHT}) while all it holds is less than one batch's
   * work. Cheap increments cross the network in several messages at once, so the round
   * trips overlap; costly ones never queue more than two batches at a node.
   */
  hasRoom(): boolean {
    if (!this.#up || this.#closed) return false;
    const batches = this.#batches.size;
    return batches < 2 ||
      (batches < MAX_BATCHES_IN_FLIGHT && this.#load < this.#options.batchWork);
  }

  /**
   * Sends a batch as a NATS request with its deadline.
   *
   * @param tasks The tasks, run in this order.
   */
  send(tasks: readonly T[]): void {
    if (this.#closed) return;
    const numbers = taskBatch(tasks, this.#options.iterationsPerUnit);
    const batch: Batch<T> = {
      tasks: new Map(),
      count: tasks.length,
      units: 0,
      cost: 0,
      live: true,
    };
    for (const task of tasks) {
      batch.tasks.set(task.id, task);
      batch.units += task.units;
      batch.cost += task.cost;
    }
    let unitsAhead = 0;
    for (const ahead of this.#batches) unitsAhead += ahead.units;
    this.#batches.add(batch);
    this.#load += batch.cost;
    this.#inFlight += tasks.length;
    const timeout = Math.ceil(
      this.#options.minDeadlineMs + 3 * (unitsAhead + batch.units) * this.#msPerUnit,
    );
    let request;
    try {
      request = this.#options.nc.request(this.#subject, encodeBatch(numbers), { timeout });
    } catch (error) {
      request = Promise.reject(error);
    }
    request.then(
      (msg) => this.#onReply(batch, msg.data),
      (error: Error) => {
        // nats-core names it "NoResponders" (class NoRespondersError), as the cause of a
        // RequestError: no subscriber on the subject, so the node is gone.
        const unreachable = error?.cause instanceof Error &&
          /^NoResponders(Error)?$/.test(error.cause.name);
        const reason = unreachable
          ? `no node listens on ${this.#subject}`
          : error?.name === "TimeoutError" || error?.cause instanceof Error &&
              error.cause.name === "TimeoutError"
          ? `no reply from ${this.name} within ${timeout} ms`
          : `the request to ${this.name} failed: ${error?.message}`;
        this.#lose(batch, reason, unreachable);
      },
    );
  }

  /**
   * Takes the node for up: the lane may take batches again.
   */
  up(): void {
    if (this.#up || this.#closed) return;
    this.#up = true;
    this.#options.listener.onReady(this);
  }

  /**
   * Takes the node for down: every batch in flight is lost at once (its tasks go back to the
   * scheduler) and the lane takes no more until {@linkcode RemoteLane.up}.
   *
   * @param reason Why, for the pool's incident.
   */
  down(reason: string): void {
    this.#up = false;
    for (const batch of [...this.#batches]) this.#lose(batch, reason, false);
  }

  /** Stops the lane: its batches in flight are forgotten, late replies dropped. */
  close(): void {
    this.#closed = true;
    this.#up = false;
    for (const batch of this.#batches) batch.live = false;
    this.#batches.clear();
    this.#load = 0;
    this.#inFlight = 0;
  }

  #forget(batch: Batch<T>): boolean {
    if (!batch.live) return false;
    batch.live = false;
    this.#batches.delete(batch);
    this.#load -= batch.cost;
    this.#inFlight -= batch.count;
    return true;
  }

  #lose(batch: Batch<T>, reason: string, unreachable: boolean): void {
    if (!this.#forget(batch)) return;
    if (unreachable) this.#up = false;
    this.#handBack(reason, [...batch.tasks.values()]);
    this.#options.onLost?.(this, reason, unreachable);
  }

  /** Gives tasks back to the scheduler, for any lane (local ones too) to run. */
  #handBack(reason: string, tasks: T[]): void {
    const { listener } = this.#options;
    if (listener.onReturn) {
      listener.onReturn(this, reason, tasks);
      return;
    }
    listener.onFailure(this, reason, tasks);
    // The contract: onReady follows a failure while the lane can still run tasks.
    if (this.#up && !this.#closed) queueMicrotask(() => listener.onReady(this));
  }

  #onReply(batch: Batch<T>, data: Uint8Array): void {
    if (!batch.live) {
      this.#lateReplies++;
      return;
    }
    let report: Float64Array;
    try {
      report = decodeReport(data);
    } catch (error) {
      if (!(error instanceof MalformedMessageError)) throw error;
      this.#options.malformed.drop(`the reply of ${this.#subject}`, error.message);
      // Down until the node announces itself again: garbage should not get more batches.
      this.#up = false;
      this.#lose(batch, `a malformed reply from ${this.name}`, false);
      return;
    }
    const ran: T[] = [];
    const times = new Float64Array(report.length);
    let units = 0;
    let spent = 0;
    for (let at = 0; at < report.length; at += REPORT_STRIDE) {
      const task = batch.tasks.get(report[at]);
      if (!task) continue;
      batch.tasks.delete(task.id);
      times.set(report.subarray(at, at + REPORT_STRIDE), ran.length * REPORT_STRIDE);
      ran.push(task);
      units += report[at + 1];
      spent += report[at + 3] - report[at + 2];
    }
    const missing = [...batch.tasks.values()];
    this.#forget(batch);
    if (units > 0) {
      this.#msPerUnit += ESTIMATE_WEIGHT * (spent / units - this.#msPerUnit);
    }
    if (ran.length > 0) {
      this.#options.listener.onReport(this, ran, times.subarray(0, ran.length * REPORT_STRIDE));
    }
    if (missing.length > 0) {
      this.#options.malformed.drop(
        `the reply of ${this.#subject}`,
        `${missing.length} task(s) of the batch missing`,
      );
      this.#handBack(`${this.name} left tasks out of its reply`, missing);
    }
  }
}
