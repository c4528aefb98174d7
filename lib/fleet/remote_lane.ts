/**
 * A lane of the pool on one Worker of a worker node, reached through NATS: the
 * same scheduler that feeds the local Workers feeds it, fairly, and it answers
 * through the same {@linkcode LaneListener}. Named `node-name/worker k`.
 *
 * A lane is a seat in the pool: the fleet binds it to a node's Worker, and when
 * that node leaves or is lost, unbinds it and may bind it to another node's Worker
 * later (the pool's lanes are never removed, so its lane numbers stay put).
 *
 * A batch is one NATS message to the Worker's own subject, with a reply subject of
 * the server's inbox (`reply_inbox.ts`); a reply is its report, believed only once it
 * is checked against the batch (`report_check.ts`): a reply that does not check out
 * is counted and dropped, and the batch waits on for a good one. A batch that gets
 * no good reply by its deadline is lost: its tasks go back to the scheduler
 * (`LaneListener.onReturn`: to any lane, local ones included, not charged to the
 * tasks) and run again. A reply that comes after that is dropped and counted: a
 * task is applied at most once, by its id.
 *
 * The deadline: {@linkcode RemoteLaneOptions.minDeadlineMs} plus three times the
 * batch's expected run time, counting the batches queued ahead of it at the same
 * Worker, within bounds (`unit_time.ts`). The expected time per unit starts at a
 * slow machine's (100 million additions a second) and then follows what this
 * Worker's checked reports measure.
 *
 * A lane whose batch found no good reply in time is benched (`lane_backoff.ts`):
 * it gets nothing for a second, then one batch; if that one fails too, twice as
 * long, and so on. So a Worker that never answers costs at most one batch sent per
 * back-off. Until it has answered well (and after each failure), a lane takes one
 * batch at a time.
 *
 * @module
 */
import { MAX_BATCHES_IN_FLIGHT } from "../defaults/defaults.ts";
import type { Msg, NatsConnection } from "@nats-io/transport-node";
import type { Lane, LaneListener, LaneTask } from "../pool/lane.ts";
import { REPORT_STRIDE, taskBatch } from "../pool/worker_messages.ts";
import { decodeReport, encodeBatch, MalformedMessageError, runSubject } from "./fleet_wire.ts";
import type { MalformedMessages } from "./malformed_messages.ts";
import { checkReport } from "./report_check.ts";
import { LaneBackoff } from "./lane_backoff.ts";
import { UnitTime } from "./unit_time.ts";
import type { OpenReply, ReplyInbox } from "./reply_inbox.ts";

/** What a lane bound to no Worker is called. */
export const FREE_LANE_NAME = "remote (free)";

/** Options of {@linkcode RemoteLane}. */
export interface RemoteLaneOptions<T extends LaneTask> {
  /** The connection to the broker. */
  nc: NatsConnection;
  /** Where the replies come. */
  inbox: ReplyInbox;
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
  /** Hears of each batch lost (no good reply by its deadline, or no node to take it). */
  onLost?: (lane: RemoteLane<T>, reason: string) => void;
  /** Hears of the first good reply since the lane was bound: its node works. */
  onAnswered?: (lane: RemoteLane<T>) => void;
}

interface Batch<T extends LaneTask> {
  tasks: Map<number, T>;
  /** Units of each task sent, by id. */
  units: Map<number, number>;
  /** Tasks sent in it. */
  count: number;
  unitsTotal: number;
  cost: number;
  sentAt: number;
  timer?: ReturnType<typeof setTimeout>;
  reply?: OpenReply;
  live: boolean;
}

/** The clock of the Workers' reports: ms since the epoch, fine-grained. */
function now(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * A {@linkcode Lane} on one Worker of a worker node.
 *
 * Room: only while it is bound, its node is up and it is not benched; then one batch
 * until it has answered well, and after that two at a time, so the Worker does not idle
 * through the round trip, and more while they are cheap (see {@linkcode RemoteLane.hasRoom}).
 */
export class RemoteLane<T extends LaneTask> implements Lane<T> {
  #options: RemoteLaneOptions<T>;
  #node: string | undefined;
  #worker = 0;
  #name = FREE_LANE_NAME;
  #subject = "";
  #up = false;
  #closed = false;
  #batches = new Set<Batch<T>>();
  #load = 0;
  #inFlight = 0;
  #unitTime: UnitTime;
  #answered = false;
  #trusted = false;
  #backoff = new LaneBackoff(() => {
    if (this.isUp) this.#options.listener.onReady(this);
  });

  /**
   * Makes the lane, bound to no Worker (see {@linkcode RemoteLane.bind}).
   *
   * @param options The connection, the work model, the listener.
   */
  constructor(options: RemoteLaneOptions<T>) {
    this.#options = options;
    this.#unitTime = new UnitTime(options.iterationsPerUnit);
  }

  /** `node-name/worker k`, or {@linkcode FREE_LANE_NAME}. */
  get name(): string {
    return this.#name;
  }

  /** The node's name, while bound. */
  get node(): string | undefined {
    return this.#node;
  }

  /** The Worker's index on its node. */
  get worker(): number {
    return this.#worker;
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

  /** Whether it is bound and its node is taken to be up (benched or not). */
  get isUp(): boolean {
    return this.#up && !this.#closed && this.#node !== undefined;
  }

  /** Whether its last batch failed (no good reply in time) and none has answered well since. */
  get failing(): boolean {
    return this.#backoff.failing;
  }

  /** How long its batches have failed in a row, in ms (see `LaneBackoff.failingFor`). */
  failingFor(now: number): number {
    return this.#backoff.failingFor(now);
  }

  /**
   * Whether it may take another batch: bound, up, not benched; one batch while it has not
   * yet answered well; else two at a time, and more (up to {@linkcode MAX_BATCHES_IN_FLIGHT})
   * while all it holds is less than one batch's work. Cheap increments cross the network in
   * several messages at once, so the round trips overlap; costly ones never queue more than
   * two batches at a node.
   */
  hasRoom(): boolean {
    if (!this.isUp || this.#backoff.benched) return false;
    const batches = this.#batches.size;
    if (!this.#trusted) return batches === 0;
    return batches < 2 ||
      (batches < MAX_BATCHES_IN_FLIGHT && this.#load < this.#options.batchWork);
  }

  /**
   * Binds the lane to Worker `worker` of `node`, down until {@linkcode RemoteLane.up}: a new
   * Worker to it, with the first guess of its speed, not yet trusted.
   *
   * @param node The node's name.
   * @param worker The Worker's index on its node.
   */
  bind(node: string, worker: number): void {
    this.unbind("the lane was bound again");
    this.#node = node;
    this.#worker = worker;
    this.#name = `${node}/worker ${worker}`;
    this.#subject = runSubject(node, worker);
    this.#unitTime = new UnitTime(this.#options.iterationsPerUnit);
  }

  /**
   * Unbinds the lane: its batches in flight go back to the scheduler at once, and it takes
   * nothing until bound again.
   *
   * @param reason Why, for the tasks handed back.
   */
  unbind(reason: string): void {
    this.down(reason);
    this.#node = undefined;
    this.#name = FREE_LANE_NAME;
    this.#answered = false;
    this.#trusted = false;
    this.#backoff.reset();
  }

  /**
   * Sends a batch with its deadline, its reply subject in the server's inbox.
   *
   * @param tasks The tasks, run in this order.
   */
  send(tasks: readonly T[]): void {
    if (this.#closed || this.#node === undefined) return;
    const numbers = taskBatch(tasks, this.#options.iterationsPerUnit);
    const batch: Batch<T> = {
      tasks: new Map(),
      units: new Map(),
      count: tasks.length,
      unitsTotal: 0,
      cost: 0,
      sentAt: now(),
      live: true,
    };
    for (const task of tasks) {
      batch.tasks.set(task.id, task);
      batch.units.set(task.id, task.units);
      batch.unitsTotal += task.units;
      batch.cost += task.cost;
    }
    let unitsAhead = 0;
    for (const ahead of this.#batches) unitsAhead += ahead.unitsTotal;
    this.#batches.add(batch);
    this.#load += batch.cost;
    this.#inFlight += tasks.length;
    const deadline = this.#unitTime.deadline(
      this.#options.minDeadlineMs,
      unitsAhead + batch.unitsTotal,
    );
    const name = this.#name;
    const subject = this.#subject;
    batch.timer = setTimeout(
      () => this.#fail(batch, `no reply from ${name} within ${deadline} ms`),
      deadline,
    );
    batch.reply = this.#options.inbox.open((msg) => this.#onReply(batch, msg));
    try {
      this.#options.nc.publish(subject, encodeBatch(numbers), { reply: batch.reply.subject });
    } catch (error) {
      // Reconnecting: the broker buffers nothing more; the batch goes elsewhere.
      queueMicrotask(() =>
        this.#lose(batch, `the batch to ${name} failed: ${(error as Error).message}`)
      );
    }
  }

  /**
   * Takes the node for up: the lane may take batches again.
   */
  up(): void {
    if (this.#up || this.#closed || this.#node === undefined) return;
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
    for (const batch of [...this.#batches]) this.#lose(batch, reason);
  }

  /** Stops the lane: its batches in flight are forgotten, late replies dropped. */
  close(): void {
    this.#closed = true;
    this.#up = false;
    this.#backoff.reset();
    for (const batch of this.#batches) {
      batch.live = false;
      clearTimeout(batch.timer);
      batch.reply?.close();
    }
    this.#batches.clear();
    this.#load = 0;
    this.#inFlight = 0;
  }

  #forget(batch: Batch<T>): boolean {
    if (!batch.live) return false;
    batch.live = false;
    clearTimeout(batch.timer);
    batch.reply?.close();
    this.#batches.delete(batch);
    this.#load -= batch.cost;
    this.#inFlight -= batch.count;
    return true;
  }

  #lose(batch: Batch<T>, reason: string): void {
    if (!this.#forget(batch)) return;
    this.#handBack(reason, [...batch.tasks.values()]);
    this.#options.onLost?.(this, reason);
  }

  /**
   * A batch got no good reply in time: it and every batch behind it at the Worker go back to
   * the scheduler, and the lane is benched.
   */
  #fail(batch: Batch<T>, reason: string): void {
    if (!batch.live) return;
    for (const lost of [...this.#batches]) this.#lose(lost, reason);
    this.#trusted = false;
    this.#backoff.fail();
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
    if (this.isUp) queueMicrotask(() => listener.onReady(this));
  }

  #onReply(batch: Batch<T>, msg: Msg): void {
    if (!batch.live) return;
    if (msg.headers?.hasError && msg.headers.code === 503) {
      // "No responders": nothing listens on the subject (the node stopped or was killed), so
      // its batches go elsewhere at once. A failure, not the node's end: anyone who hears a
      // batch can forge this status, so the node goes only when it falls silent.
      this.#fail(batch, `no node listens on ${this.#subject}`);
      return;
    }
    let times: Float64Array;
    try {
      times = checkReport(decodeReport(msg.data), { ...batch, receivedAt: now() });
    } catch (error) {
      if (!(error instanceof MalformedMessageError)) throw error;
      // Counted and dropped; the batch waits on for a true answer until its deadline.
      this.#options.malformed.drop(`the reply of ${this.#subject}`, error.message);
      return;
    }
    const ran: T[] = [];
    let units = 0;
    let spent = 0;
    for (let at = 0; at < times.length; at += REPORT_STRIDE) {
      const task = batch.tasks.get(times[at])!;
      batch.tasks.delete(task.id);
      ran.push(task);
      units += times[at + 1];
      spent += times[at + 3] - times[at + 2];
    }
    const missing = [...batch.tasks.values()];
    this.#forget(batch);
    this.#trusted = true;
    this.#backoff.succeed();
    if (units > 0) this.#unitTime.measured(spent, units);
    if (!this.#answered) {
      this.#answered = true;
      this.#options.onAnswered?.(this);
    }
    if (ran.length > 0) this.#options.listener.onReport(this, ran, times);
    if (missing.length > 0) {
      this.#options.malformed.drop(
        `the reply of ${this.#subject}`,
        `${missing.length} task(s) of the batch missing`,
      );
      this.#handBack(`${this.#name} left tasks out of its reply`, missing);
    }
  }
}
