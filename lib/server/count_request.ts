/**
 * One count in flight: its counter, its job on the pool, what it tells the
 * server's events and its client while it runs, and how it ends.
 *
 * @module
 */
import type { CountCommand } from "../wire/protocol.ts";
import { RequestCounter, type ValueReporter } from "./request_counter.ts";
import type { ServerEvent, ServerEvents } from "./server_events.ts";
import type { JobOptions, RunningJob, TaskReport, WorkerPool } from "../pool/worker_pool.ts";
import { CounterCell } from "../counter/counter_cell.ts";
import type { StepGate } from "../counter/step_gate.ts";
import type { CounterModel } from "../counter/counter_model.ts";
import type { RequestLedger, RequestProgress } from "./request_ledger.ts";

/** What every count of a server shares. */
export interface CountContext {
  /** Runs the increments: the Worker pool, or a runner of one Worker per increment. */
  pool: Pick<WorkerPool, "start">;
  /** Watches each job, when the server may have no Worker up (a fleet only). */
  watchJob?: (job: RunningJob) => void;
  events: ServerEvents;
  /** Names the requests, holds those in flight, adds up their lost updates. */
  ledger: RequestLedger;
  drawUnits: () => number;
  limits: {
    /** Least time between two progress lines, in ms. */
    progressIntervalMs: number;
  };
}

/** The session a count runs for, as the count sees it. */
export interface CountClient {
  /** Whether anyone still hears the count: false once its client has gone or the server stops. */
  listening(): boolean;
  /**
   * Tells the client how far the count has come. The count awaits it inside its critical
   * section: a client that does not read holds back its own request.
   */
  progress(done: number, total: number): Promise<void>;
}

/** Options of {@linkcode CountRequest}. */
export interface CountRequestOptions {
  /** The client's address. */
  conn: string;
  /** The counter model of this count. */
  model: CounterModel;
  /** Whether the client asked for progress lines. */
  progress: boolean;
  /** The session the count runs for. */
  client: CountClient;
  /** The server's parts. */
  context: CountContext;
  /**
   * A stepped count's schedule (`racy` and `locked` only): increment k is then pinned to
   * Worker (k − 1) mod the gate's Workers, and each of its steps waits for its turn.
   */
  gate?: StepGate;
}

/** A section that cannot await: no progress lines to write. */
const SYNC_SECTION = { mayAwait: false } as const;
/** A section that may await a progress line. */
const AWAITING_SECTION = { mayAwait: true } as const;
/** Hears nothing: a section with no one to tell of each value. */
const NO_REPORT = (): void => {};

/**
 * One count in flight: every increment a task on the pool, each applied to the
 * request's counter in its critical section. It is held in the server's ledger
 * from construction until it ends, exactly once: one `result` event (its answer
 * was written) or one `request-failed`.
 *
 * @example
 * ```ts
 * import { CountRequest } from "./count_request.ts";
 * import { RequestLedger } from "./request_ledger.ts";
 * import { ServerEvents } from "./server_events.ts";
 * import { WorkerPool } from "../pool/worker_pool.ts";
 * import assert from "node:assert/strict";
 *
 * using pool = new WorkerPool({ size: 1, iterationsPerUnit: 0 });
 * const ledger = new RequestLedger();
 * const client = { listening: () => true, progress: () => Promise.resolve() };
 * const events = new ServerEvents();
 * const context = { pool, events, ledger, drawUnits: () => 0, limits: { progressIntervalMs: 0 } };
 * const count = new CountRequest({ kind: "count", start: 2n, increments: 10 }, {
 *   conn: "127.0.0.1:5000",
 *   model: "parallel",
 *   progress: false,
 *   client,
 *   context,
 * });
 * assert.equal(ledger.inFlightCount, 1);
 * await count.run();
 * assert.equal(count.value, 12n);
 * count.end();
 * assert.equal(ledger.inFlightCount, 0);
 * ```
 */
export class CountRequest implements RequestProgress {
  readonly request: string;
  readonly conn: string;
  readonly start: bigint;
  readonly increments: number;
  readonly startedAt: number;
  #began: number;
  #model: CounterModel;
  /** The shared cell of a `racy` or `locked` count, where its Workers keep the counter. */
  #cell: CounterCell | undefined;
  #counter: RequestCounter<TaskReport>;
  #client: CountClient;
  #context: CountContext;
  /** Whether the client asked for progress lines: only they make a section await. */
  #progress: boolean;
  /** The job on the pool, once started. */
  #job: RunningJob | undefined;
  #cancelled = new AbortController();
  /** Sections that await (progress lines only): made on first need. */
  #awaiting: Promise<bigint>[] | undefined;
  #workersStarted = 0;
  #workerStartMs = 0;
  #lastProgressAt = -Infinity;
  /**
   * Increments applied so far: counted, not derived from the value (a bigint subtraction
   * per increment would cost more the longer the start number).
   */
  #reported = 0;
  #reportValue: ValueReporter<TaskReport> | undefined;
  #ended = false;

  /**
   * Names the request, holds it in the ledger and emits `counting`.
   *
   * @param command What the client asked for.
   * @param options Its client, its counter model, and the server's parts.
   */
  constructor(command: CountCommand, options: CountRequestOptions) {
    const { context, model } = options;
    this.request = context.ledger.name();
    this.conn = options.conn;
    this.start = command.start;
    this.increments = command.increments;
    this.startedAt = Date.now();
    this.#began = performance.now();
    this.#model = model;
    // racy and locked: the Workers keep the counter themselves, in memory shared with them.
    this.#cell = model === "parallel" || command.increments === 0
      ? undefined
      : CounterCell.create(model, command.increments, options.gate);
    this.#counter = new RequestCounter<TaskReport>(
      command.start,
      this.#cell ? { cell: this.#cell, taskNo: (task) => task.taskNo } : undefined,
    );
    this.#client = options.client;
    this.#context = context;
    this.#progress = options.progress;
    const counting: ServerEvent & { type: "counting" } = {
      type: "counting",
      at: this.startedAt,
      conn: this.conn,
      request: this.request,
      start: this.start,
      increments: this.increments,
    };
    if (model !== "parallel") counting.counter = model;
    context.events.emit(counting);
    context.ledger.begin(this);
  }

  get done(): number {
    return this.#counter.applied;
  }

  get value(): bigint {
    return this.#counter.value;
  }

  get sections(): number {
    return this.#counter.sections;
  }

  get sectionsWaited(): number {
    return this.#counter.sectionsWaited;
  }

  get sectionHeld(): boolean {
    return this.#counter.held;
  }

  /** The shared cell of a `racy` or `locked` count: what its Workers read and wrote. */
  get cell(): CounterCell | undefined {
    return this.#cell;
  }

  /** Increments whose update another task's write erased (`racy` only). */
  get updatesLost(): number {
    return this.#counter.updatesLost;
  }

  /**
   * Runs the increments on the pool and applies each to the counter.
   *
   * @returns A promise that resolves when every increment is applied (at once for none).
   * @throws What failed the job (rejects): a Worker, the pool, or the reason given to
   *   {@linkcode CountRequest.cancel}.
   */
  run(): Promise<void> {
    if (this.#cancelled.signal.aborted) return Promise.reject(this.#cancelled.signal.reason);
    if (this.increments === 0) return Promise.resolve();
    const { pool, watchJob } = this.#context;
    const job = pool.start(new CountRequest.#Job(this));
    this.#job = job;
    watchJob?.(job);
    // Only progress lines make a section await: then the last ones may still be writing.
    return this.#progress ? job.done.then(() => this.#sectionsWritten()) : job.done;
  }

  async #sectionsWritten(): Promise<void> {
    if (this.#awaiting) await Promise.all(this.#awaiting);
  }

  /**
   * Cancels the job: queued tasks are dropped, {@linkcode CountRequest.run} rejects with
   * `reason`. Before the job starts, {@linkcode CountRequest.signal} tells whoever holds
   * it back, and it will not start. Does nothing once it has settled.
   *
   * @param reason Why (the client went, or the grace period ended).
   */
  cancel(reason: unknown): void {
    this.#cancelled.abort(reason);
    this.#job?.cancel(reason);
  }

  /** Aborted once the count is cancelled: for a wait before it runs (its stepping turn). */
  get signal(): AbortSignal {
    return this.#cancelled.signal;
  }

  /**
   * Ends the request: emits `result` (with no `failure`: its answer was written) or
   * `request-failed`, and lets it go from the ledger. Only the first call counts.
   *
   * @param failure Why it failed; none when it was answered.
   */
  end(failure?: string): void {
    if (this.#ended) return;
    this.#ended = true;
    const { events, ledger } = this.#context;
    if (failure !== undefined) {
      // Workers still waiting for this request's lock must not wait for ever.
      this.#cell?.abandon();
      events.emit({
        type: "request-failed",
        at: Date.now(),
        conn: this.conn,
        request: this.request,
        reason: failure,
      });
      ledger.end(this);
      return;
    }
    const result: ServerEvent & { type: "result" } = {
      type: "result",
      at: Date.now(),
      conn: this.conn,
      request: this.request,
      value: this.value,
      ms: performance.now() - this.#began,
    };
    if (this.#model !== "parallel") {
      result.counter = this.#model;
      result.updatesLost = this.updatesLost;
    }
    if (this.#workersStarted > 0) {
      result.workerStarts = { count: this.#workersStarted, ms: this.#workerStartMs };
    }
    events.emit(result);
    // After its end is told, as the listeners of `result` expect.
    ledger.end(this, this.updatesLost);
  }

  /** A task was queued on a Worker. */
  #dispatched(taskNo: number, worker: number, units: number): void {
    const { events } = this.#context;
    if (!events.wantsTaskEvents()) return;
    events.emit({
      type: "task-queued",
      at: Date.now(),
      conn: this.conn,
      task: `${this.request}#${taskNo}`,
      worker,
      units,
    });
  }

  /** A batch of tasks ran; each is applied in the counter's critical section. */
  #apply(reports: TaskReport[]): void {
    for (const task of reports) {
      if (task.workerStartMs === undefined) continue;
      this.#workersStarted++;
      this.#workerStartMs += task.workerStartMs;
    }
    let report: ValueReporter<TaskReport> = NO_REPORT;
    if (this.#progress || this.#context.events.wantsTaskEvents()) {
      report = this.#reportValue ??= (value, task) => this.#report(value, task);
    } else {
      this.#reported += reports.length; // nobody to tell of each value: the section only counts
    }
    const section = this.#counter.add(
      reports,
      report,
      this.#progress ? AWAITING_SECTION : SYNC_SECTION,
    );
    if (section instanceof Promise) {
      section.catch(() => {}); // awaited through run(), unless the job fails first
      (this.#awaiting ??= []).push(section);
    }
  }

  /** Tells of one value, inside the critical section. */
  #report(value: bigint, task: TaskReport): Promise<void> | void {
    this.#reported++;
    if (!this.#client.listening()) return;
    const { events, limits } = this.#context;
    // racy: values repeat and fall back, so count the tasks applied instead.
    const done = this.#cell ? this.#counter.applied : this.#reported;
    if (events.wantsTaskEvents()) {
      const record = this.#counter.record(task);
      const event: ServerEvent & { type: "task-done" } = {
        type: "task-done",
        at: Date.now(),
        conn: this.conn,
        request: this.request,
        task: `${this.request}#${task.taskNo}`,
        worker: task.worker,
        units: task.units,
        startedAt: task.startedAt,
        endedAt: task.endedAt,
        value,
        done,
        total: this.increments,
      };
      if (record) {
        event.read = this.start + BigInt(record.read);
        event.erased = record.erased;
        event.readTick = record.readTick;
        event.writeTick = record.writeTick;
      }
      if (task.workerStartMs !== undefined) event.workerStartMs = task.workerStartMs;
      events.emit(event);
    }
    if (!this.#progress) return;
    const now = performance.now();
    if (now - this.#lastProgressAt < limits.progressIntervalMs && done < this.increments) return;
    this.#lastProgressAt = now;
    return this.#client.progress(done, this.increments);
  }

  /**
   * The pool's view of a count: its tasks and their callbacks, apart from the request
   * (one small object, its callbacks on the prototype).
   */
  static #Job = class implements JobOptions {
    readonly tasks: number;
    /** The request, for the dashboard's sample of what each Worker runs. */
    readonly name: string;
    readonly drawUnits: () => number;
    readonly payloads: CounterCell | undefined;
    /** A stepped count's: increment k on Worker (k − 1) mod the schedule's Workers. */
    readonly lane: ((no: number) => number) | undefined;
    #request: CountRequest;

    constructor(request: CountRequest) {
      this.tasks = request.increments;
      this.name = request.request;
      this.drawUnits = request.#context.drawUnits;
      this.payloads = request.#cell;
      const workers = request.#cell?.gate?.workers;
      this.lane = workers ? (no) => (no - 1) % workers : undefined;
      this.#request = request;
    }

    onDispatch(taskNo: number, worker: number, units: number): void {
      this.#request.#dispatched(taskNo, worker, units);
    }

    onDone(reports: TaskReport[]): void {
      this.#request.#apply(reports);
    }
  };
}
