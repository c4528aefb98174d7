/**
 * A worker node: its own module Workers (the project's `worker.ts`, the same
 * busy loop as the server's), each listening on its own subject for batches
 * of increments, running them in the order they came and replying with each
 * increment's report. It announces itself every heartbeat, so servers know
 * its Workers, and says goodbye when it stops, so its batches are re-sent at once.
 *
 * It runs only what it agreed to: a batch that asks for more work than its caps
 * (the work a server with the node's `--max-units` and `--iterations-per-unit`
 * would send) is refused, counted and never run.
 *
 * @module
 */
import { ITERATIONS_PER_UNIT, MAX_UNITS, REMOTE_BATCH_WORK } from "../defaults/defaults.ts";
import type { Msg, NatsConnection, Subscription } from "@nats-io/transport-node";
import {
  byeKey,
  byeSubject,
  decodeBatch,
  encodeBye,
  encodeHello,
  encodeReport,
  helloSubject,
  MalformedMessageError,
  randomToken,
  runSubject,
  WHO_SUBJECT,
} from "./fleet_wire.ts";
import { formatMalformed, MalformedMessages } from "./malformed_messages.ts";
import { WorkerHost } from "../pool/worker_host.ts";
import { BATCH_HEADER, REPORT_STRIDE, TASK_STRIDE } from "../pool/worker_messages.ts";

/**
 * Additions one batch may ask of a node with these caps: what a server sends at most,
 * one remote batch's work ({@linkcode REMOTE_BATCH_WORK}) and one more increment.
 *
 * @param maxUnits Most units of one increment.
 * @param maxIterationsPerUnit Most additions per unit.
 * @returns The bound.
 */
export function maxBatchAdditions(maxUnits: number, maxIterationsPerUnit: number): number {
  return REMOTE_BATCH_WORK + maxUnits * maxIterationsPerUnit;
}

/** Options of {@linkcode FleetNode}. */
export interface FleetNodeOptions {
  /** The node's name, a subject token (see `nodeName`). */
  name: string;
  /** How many Workers to run. */
  workers: number;
  /** Time between two announcements, in ms. */
  heartbeatMs: number;
  /** Batches that may wait at one Worker; more are dropped (the server re-sends them later). */
  maxQueuedBatches: number;
  /**
   * Most units of one increment it runs (`--max-units`); a batch with more is refused.
   * Defaults to the server's default, `MAX_UNITS`.
   */
  maxUnits?: number;
  /**
   * Most additions per unit it runs (`--iterations-per-unit`); a batch with more is refused.
   * Defaults to the server's default, `ITERATIONS_PER_UNIT`.
   */
  maxIterationsPerUnit?: number;
  /** The Worker module. Defaults to the project's `worker.ts`. */
  moduleUrl?: URL | string;
  /** Where the node's log lines go. Defaults to `console.error`. */
  log?: (line: string) => void;
  /**
   * Hears that a new Worker died before it was ready: the module cannot run (a file it
   * imports is not readable, say), so the node cannot work and should stop.
   */
  onBroken?: (reason: string) => void;
}

/** A node's counters. */
export interface FleetNodeStats {
  workers: number;
  workersBusy: number;
  batchesRun: number;
  tasksRun: number;
  malformed: number;
  /** Batches dropped because a Worker's queue was full, or its Worker died running them. */
  batchesDropped: number;
  /** Batches refused for asking more work than the node's caps. */
  batchesRefused: number;
  workerRestarts: number;
}

interface NodeWorker {
  index: number;
  host: WorkerHost;
  /**
   * Batches posted to the Worker and not yet reported, oldest first: the Worker's own
   * message queue holds them, so it starts the next one without a hop to this thread.
   */
  posted: Msg[];
  subscription: Subscription;
}

/**
 * Runs batches sent through NATS on a node's Workers.
 *
 * @example
 * ```ts ignore
 * import { connectNats } from "./nats_connection.ts";
 * import { FleetNode } from "./fleet_node.ts";
 *
 * const nc = await connectNats("nats://127.0.0.1:4222");
 * const node = new FleetNode(nc, {
 *   name: "lab-1", workers: 4, heartbeatMs: 1000, maxQueuedBatches: 64, maxUnits: 10,
 * });
 * // … later
 * await node.close();
 * await nc.close();
 * ```
 */
export class FleetNode {
  readonly name: string;
  #nc: NatsConnection;
  #options: FleetNodeOptions;
  #workers: NodeWorker[] = [];
  #who: Subscription;
  #heartbeat: ReturnType<typeof setInterval>;
  #malformed: MalformedMessages;
  #refused: MalformedMessages;
  /** This run's session, and the secret its goodbye reveals. */
  #session = randomToken();
  #secret = randomToken();
  #log: (line: string) => void;
  #closed = false;
  #batchesRun = 0;
  #tasksRun = 0;
  #dropped = 0;
  #restarts = 0;

  /**
   * Starts the Workers, subscribes, and announces the node.
   *
   * @param nc A connection to the broker (the caller closes it after {@linkcode FleetNode.close}).
   * @param options Name, size, heartbeat.
   * @throws {RangeError} When `workers` is not 1 or more.
   */
  constructor(nc: NatsConnection, options: FleetNodeOptions) {
    if (!Number.isInteger(options.workers) || options.workers < 1) {
      throw new RangeError(`'workers' must be a positive integer: received ${options.workers}`);
    }
    this.name = options.name;
    this.#nc = nc;
    this.#options = options;
    this.#log = options.log ?? ((line) => console.error(line));
    this.#malformed = new MalformedMessages({
      log: (report) => this.#log(formatMalformed("threadcount node", report)),
    });
    this.#refused = new MalformedMessages({
      log: (report) =>
        this.#log(
          `threadcount node: refused a batch on ${report.subject}: ${report.reason}` +
            (report.dropped > 1 ? ` (${report.dropped} refused since the last line)` : "") +
            `; ${report.count} in all. If your server asks for that much, raise this node's ` +
            "--max-units or --iterations-per-unit.",
        ),
    });
    for (let index = 0; index < options.workers; index++) {
      const slot: NodeWorker = {
        index,
        posted: [],
        host: new WorkerHost({
          moduleUrl: this.#options.moduleUrl,
          name: (generation) => `threadcount-node-${this.name}-${index}.${generation}`,
          listener: {
            onReady() {},
            onMessage: (data) => this.#onReport(slot, data),
            onError: (reason) => this.#onWorkerError(slot, reason),
          },
        }),
        // No queue group: a stranger that subscribes here shares nothing of the node's work;
        // at worst it answers too, and the server believes only a report that checks out.
        subscription: nc.subscribe(runSubject(this.name, index), {
          callback: (error, msg) => {
            if (!error) this.#onBatch(slot, msg);
          },
        }),
      };
      slot.host.start();
      this.#workers.push(slot);
    }
    this.#who = nc.subscribe(WHO_SUBJECT, { callback: () => this.#announce() });
    this.#announce();
    this.#heartbeat = setInterval(() => this.#announce(), options.heartbeatMs);
  }

  /** The node's counters. */
  get stats(): FleetNodeStats {
    return {
      workers: this.#workers.length,
      workersBusy: this.#busy(),
      batchesRun: this.#batchesRun,
      tasksRun: this.#tasksRun,
      malformed: this.#malformed.count,
      batchesDropped: this.#dropped,
      batchesRefused: this.#refused.count,
      workerRestarts: this.#restarts,
    };
  }

  /**
   * Says goodbye, stops taking batches and terminates the Workers. Batches in hand are not
   * answered: the servers re-send them elsewhere. Safe to call again.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#heartbeat);
    for (const slot of this.#workers) {
      slot.subscription.unsubscribe();
      slot.host.stop();
      slot.posted.length = 0;
    }
    this.#who.unsubscribe();
    if (this.#nc.isClosed()) return;
    try {
      this.#nc.publish(
        byeSubject(this.name),
        encodeBye({ node: this.name, session: this.#session, secret: this.#secret }),
      );
      await this.#nc.flush();
    } catch { /* the broker is gone: the servers will miss our heartbeats instead */ }
  }

  #busy(): number {
    return this.#workers.filter((slot) => slot.posted.length > 0).length;
  }

  #announce(): void {
    if (this.#closed || this.#nc.isClosed()) return;
    // The end of a burst of malformed or refused batches, in the log too.
    this.#malformed.flush();
    this.#refused.flush();
    try {
      this.#nc.publish(
        helloSubject(this.name),
        encodeHello({
          node: this.name,
          workers: this.#workers.length,
          busy: this.#busy(),
          session: this.#session,
          byeKey: byeKey(this.#secret),
        }),
      );
    } catch { /* reconnecting: the next heartbeat goes out once we are back */ }
  }

  #onBatch(slot: NodeWorker, msg: Msg): void {
    if (this.#closed) return;
    if (!slot.host.running) {
      this.#dropped++; // its Worker module cannot run: the node is stopping
      return;
    }
    let batch: Float64Array;
    try {
      if (!msg.reply) {
        throw new MalformedMessageError("a batch must be a request (no reply subject)");
      }
      batch = decodeBatch(msg.data);
    } catch (error) {
      if (!(error instanceof MalformedMessageError)) throw error;
      this.#malformed.drop(msg.subject, error.message);
      return;
    }
    const tooMuch = this.#pastCaps(batch);
    if (tooMuch) {
      this.#refused.drop(msg.subject, tooMuch);
      return;
    }
    if (slot.posted.length >= this.#options.maxQueuedBatches) {
      this.#dropped++;
      return;
    }
    slot.posted.push(msg);
    slot.host.postMessage(batch);
  }

  /** What in `batch` is past this node's caps, or undefined. */
  #pastCaps(batch: Float64Array): string | undefined {
    const { maxUnits = MAX_UNITS, maxIterationsPerUnit = ITERATIONS_PER_UNIT } = this.#options;
    const iterations = batch[0];
    if (iterations > maxIterationsPerUnit) {
      return `${iterations} additions per unit, past --iterations-per-unit ${maxIterationsPerUnit}`;
    }
    let units = 0;
    for (let at = BATCH_HEADER + 1; at < batch.length; at += TASK_STRIDE) {
      if (batch[at] > maxUnits) {
        return `an increment of ${batch[at]} units, past --max-units ${maxUnits}`;
      }
      units += batch[at];
    }
    const bound = maxBatchAdditions(maxUnits, maxIterationsPerUnit);
    if (units * iterations > bound) {
      return `${units * iterations} additions in one batch, past the ${bound} a server sends`;
    }
    return undefined;
  }

  /** A Worker's message: the report of its oldest batch (it answers them in order). */
  #onReport(slot: NodeWorker, data: unknown): void {
    const msg = slot.posted.shift();
    if (data instanceof Float64Array && msg) {
      this.#batchesRun++;
      this.#tasksRun += data.length / REPORT_STRIDE;
      try {
        msg.respond(encodeReport(data));
      } catch { /* reconnecting: the server re-sends the batch after its deadline */ }
    } else {
      this.#dropped++;
    }
  }

  #onWorkerError(slot: NodeWorker, reason: string): void {
    if (this.#closed) return;
    if (!slot.host.ready) {
      slot.host.stop();
      const broken = `a Worker died before it was ready (${reason}): the Worker ` +
        "module cannot run; check that --allow-read grants every file it imports";
      this.#log(`threadcount node: ${broken}`);
      this.#options.onBroken?.(broken);
      return;
    }
    // Its batches are not answered: the server re-sends them after their deadline.
    this.#log(`threadcount node: Worker ${slot.index} died (${reason}); starting another`);
    this.#dropped += slot.posted.length;
    slot.posted.length = 0;
    this.#restarts++;
    slot.host.replace();
  }
}
