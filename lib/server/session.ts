/**
 * One client's session: reads its request lines in order, runs each count on
 * the Worker pool, and writes the replies.
 *
 * @module
 */
import type { LineReader } from "../wire/line_reader.ts";
import {
  type CountCommand,
  formatBye,
  formatError,
  formatOk,
  formatProgress,
  formatStats,
  formatValue,
  parseCommand,
  ProtocolError,
} from "../wire/protocol.ts";
import type { ByteSink } from "../wire/write_all.ts";
import { type ReplySettled, ReplyWriter } from "../wire/reply_writer.ts";
import { RequestCounter, type ValueReporter } from "./request_counter.ts";
import type { ServerEvent, ServerEvents } from "./server_events.ts";
import type { JobOptions, RunningJob, TaskReport, WorkerPool } from "../pool/worker_pool.ts";
import { CounterCell } from "../counter/counter_cell.ts";
import type { CounterModel } from "../counter/counter_model.ts";
import { NoWorkersError } from "../pool/job_queue.ts";
import type { ServerStats } from "./server_options.ts";

/** The limits a session enforces. */
export interface SessionLimits {
  maxIncrements: number;
  /** How long a served client may go without a complete request while others wait, in ms. */
  idleTimeoutMs: number;
  /** Least time between two progress lines, in ms. */
  progressIntervalMs: number;
  /** Most work one request may ask for, in seconds of the whole pool's time (estimated). */
  maxRequestSeconds: number;
  /** Most bytes of replies held for a pipelining client's next ones (default: `REPLY_HOLD_BYTES` of reply_writer.ts). */
  replyHoldBytes?: number;
  /** Most ms a reply is held for a pipelining client's next ones (default: `REPLY_HOLD_MS` of reply_writer.ts). */
  replyHoldMs?: number;
}

/** A request being counted, as the server, STATS and the dashboard see it. */
export interface RequestProgress {
  /** `R<n>`, unique in this server's life. */
  readonly request: string;
  /** The client's address. */
  readonly conn: string;
  /** The value counting started from. */
  readonly start: bigint;
  /** Increments asked for. */
  readonly increments: number;
  /** When counting started, in ms since the Unix epoch. */
  readonly startedAt: number;
  /** Increments applied so far. */
  readonly done: number;
  /** The counter's value now. */
  readonly value: bigint;
  /** Critical sections entered (one per batch of reports applied). */
  readonly sections: number;
  /** Sections that had to wait for the Mutex because another held it. */
  readonly sectionsWaited: number;
  /** Whether a section holds the Mutex now. */
  readonly sectionHeld: boolean;
}

/** What a session needs from its server. */
export interface SessionContext {
  /** Runs the increments: the Worker pool, or a runner of one Worker per increment. */
  pool: Pick<WorkerPool, "start">;
  /** The counter model of a connection that has not sent `COUNTER` (`--counter`); `parallel` if none. */
  counterModel?: CounterModel;
  /**
   * Whether `racy` and `locked` counters can work: false when increments may run on other
   * machines (a fleet), which cannot share the counter's memory.
   */
  sharedCounters?: boolean;
  events: ServerEvents;
  limits: SessionLimits;
  drawUnits: () => number;
  nextRequestId: () => number;
  /** Estimated seconds of the whole pool's time that `increments` increments take. */
  estimateSeconds: (increments: number) => number;
  /** The `STATS` reply, as an object to send as JSON. */
  stats: () => ServerStats;
  /** Registers a request in flight until the result is disposed of. */
  begin: (request: RequestProgress) => Disposable;
  /** Aborts when the server starts shutting down: finish the request in hand, take no more. */
  draining: AbortSignal;
  /**
   * Aborts when the grace period is over: abandon the request in hand. (The server then
   * cancels the count each session has in hand, through its {@linkcode SessionHandle}.)
   */
  stopping: AbortSignal;
  /** Watches each job, when the server may have no Worker up (a fleet only). */
  watchJob?: (job: RunningJob) => void;
}

/** How the server sees a session, to close it when it idles or the server drains. */
export interface SessionHandle {
  /**
   * Since when (`performance.now()`) the session has gone without a complete
   * request: set when it gets its slot and after each count it answers;
   * undefined while a count runs. Empty lines, half lines, STATS and PROGRESS do not reset it.
   */
  readonly idleSince: number | undefined;
  /** Since when a write to the client has waited for the client to read; undefined when none waits. */
  readonly writingSince: number | undefined;
  /**
   * The count in hand, if any: the server cancels it when the client goes or the grace
   * period ends (no listener per session on the server's signals).
   */
  readonly job: Pick<RunningJob, "cancel"> | undefined;
  /** Wakes the session from its wait for a line, to close it for this reason. */
  interrupt(reason: "idle" | "draining"): void;
}

/** A connection as its session gets it from the server. */
export interface SessionInput {
  /**
   * The connection's line reader, made before the client got its slot, so that a waiting
   * client's hang-up is seen.
   */
  readonly reader: LineReader;
  /** `aborted` once the client's input has ended or failed: the client is gone. */
  readonly gone: { readonly aborted: boolean };
  /**
   * Set by the session as it starts: how the server sees it, to time it out, interrupt it,
   * and cancel its count. The server drops it when the session has ended.
   */
  handle?: SessionHandle;
}

/** What a session keeps between its requests; also the server's handle on it. */
interface SessionState extends SessionHandle {
  idleSince: number | undefined;
  writingSince: number | undefined;
  /** Whether the client asked for progress lines. */
  progress: boolean;
  /** The counter model of this connection's counts. */
  counter: CounterModel;
  /** Whether the client sent `COUNTER`: then its answers say how many updates were lost. */
  askedCounter: boolean;
  /** The count in hand, to cancel when the client leaves or the grace period ends. */
  job: RunningJob | undefined;
  /** Aborted when the client has closed its side or its connection failed. */
  gone: { readonly aborted: boolean };
  /** Whether a write to the client failed: it is gone too, even if its input has not ended. */
  writeFailed: boolean;
  /** The client's replies: `send` writes now, after any held ones; each write is timed. */
  replies: ReplyWriter;
  /**
   * Answers a request: the reply is held while the client's next request is already in hand
   * (it pipelines), so that a burst of requests gets one write; written at once otherwise.
   */
  reply(text: string, settled?: ReplySettled): Promise<void> | undefined;
}

/**
 * Serves one connection until `STOP`, end of input, a fatal error or shutdown.
 *
 * @param conn The client's connection (it is not closed here).
 * @param peer The client's address, for events.
 * @param context The server's parts.
 * @param input The connection's line reader and `gone`; the session sets its `handle`.
 * @returns Why the session ended, for the log.
 */
export async function serveSession(
  conn: ByteSink,
  peer: string,
  context: SessionContext,
  input: SessionInput,
): Promise<string> {
  const { events, limits } = context;
  const { reader, gone } = input;
  let interruption: "idle" | "draining" | undefined;
  // One object is the session's state and the server's handle on it.
  const session: SessionState = {
    progress: false,
    counter: context.counterModel ?? "parallel",
    askedCounter: false,
    job: undefined,
    gone,
    writeFailed: false,
    replies: undefined as unknown as ReplyWriter, // set just below: it reports to this object
    reply(text, settled) {
      return reader.lineReady ? replies.hold(text, settled) : replies.send(text, settled);
    },
    idleSince: performance.now(),
    // Kept by the reply writer (a plain field: a getter would make this object a slow one).
    writingSince: undefined,
    interrupt(reason) {
      interruption = reason;
      reader.interrupt();
    },
  };
  const replies = session.replies = new ReplyWriter(conn, {
    maxHeldBytes: limits.replyHoldBytes,
    maxHoldMs: limits.replyHoldMs,
    onWriteFailed: () => {
      // Reset, or closed by the server's write timeout: nothing more can reach this client.
      session.writeFailed = true;
      session.job?.cancel(new Error("client disconnected"));
    },
    clock: session,
  });
  const sendError = async (code: ProtocolError["code"], message: string) => {
    events.emit({ type: "client-error", at: Date.now(), conn: peer, code, message });
    await replies.send(formatError(code, message));
  };
  input.handle = session;

  try {
    while (true) {
      if (context.draining.aborted) {
        await sendError("shutting-down", "the server is shutting down; reconnect in a moment");
        return "server shutting down";
      }
      // Held replies go out before the session waits for its client: they are all it has.
      if (replies.holding && !reader.lineReady) await replies.flush();
      const event = await reader.next();
      if (event.kind === "interrupted") {
        const reason = interruption;
        interruption = undefined;
        // An interruption that raced with a complete request is stale: wait again.
        const idleMs = session.idleSince === undefined ? 0 : performance.now() - session.idleSince;
        if (reason === "idle" && idleMs >= limits.idleTimeoutMs) {
          await sendError(
            "idle-timeout",
            `no complete request for ${limits.idleTimeoutMs / 1000} s while other clients wait; ` +
              "reconnect to go on",
          );
          return "idle";
        }
        continue; // draining is checked at the top
      }
      switch (event.kind) {
        case "end":
          return "end of input";
        case "too-long":
          await sendError(
            "line-too-long",
            `a request line may be at most ${event.limit} bytes; closing the connection`,
          );
          return "line too long";
        case "bad-encoding":
          await sendError("bad-encoding", `the line (${event.bytes} bytes) is not valid UTF-8`);
          continue;
      }
      let command;
      try {
        command = parseCommand(event.text, { maxIncrements: limits.maxIncrements });
      } catch (error) {
        if (!(error instanceof ProtocolError)) throw error;
        await sendError(error.code, error.message);
        continue;
      }
      switch (command.kind) {
        case "empty":
          continue;
        case "stop":
          await replies.send(formatBye());
          return "STOP";
        case "stats":
          await session.reply(formatStats(context.stats()));
          continue;
        case "progress":
          session.progress = command.on;
          await session.reply(formatOk(command));
          continue;
        case "counter":
          if (command.model !== "parallel" && context.sharedCounters === false) {
            await sendError(
              "bad-request",
              `COUNTER ${command.model} needs every increment on the server's own machine (its ` +
                "counter lives in memory shared with the local Workers), and this server counts on " +
                "worker nodes too (--nats): only COUNTER parallel here",
            );
            continue;
          }
          session.counter = command.model;
          session.askedCounter = true;
          await session.reply(formatOk(command));
          continue;
        case "count": {
          const seconds = context.estimateSeconds(command.increments);
          const idleBefore = session.idleSince;
          if (seconds > limits.maxRequestSeconds) {
            await sendError(
              "too-much-work",
              `${command.increments} increments would keep every Worker busy for about ` +
                `${formatDuration(seconds)}; the limit is ${
                  formatDuration(limits.maxRequestSeconds)
                } ` +
                "a request (--max-request-seconds): ask for fewer increments",
            );
            continue;
          }
          session.idleSince = undefined;
          const outcome = await runCount(command, peer, context, session);
          // A request with work resets the idle clock; `0 0`, like STATS, is not enough to keep a
          // slot while others wait.
          session.idleSince = command.increments > 0 ? performance.now() : idleBefore;
          if (outcome !== "answered") return outcome;
        }
      }
    }
  } finally {
    // Every way out: what is held still goes to a client that only half-closed, and whoever
    // waits to hear of a held reply hears either way.
    if (replies.holding) {
      if (session.writeFailed) replies.abandon(new Error("client disconnected"));
      else await replies.flush().catch(() => {});
    }
  }
}

/** `42 s`, `7.5 min`, `3.2 h`. */
function formatDuration(seconds: number): string {
  if (seconds < 120) return `${Math.ceil(seconds)} s`;
  if (seconds < 7200) return `${(seconds / 60).toFixed(1)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

/** A section that cannot await: no progress lines to write. */
const SYNC_SECTION = { mayAwait: false } as const;
/** A section that may await a progress line. */
const AWAITING_SECTION = { mayAwait: true } as const;
/** Hears nothing: a section with no one to tell of each value. */
const NO_REPORT = (): void => {};

/**
 * One count in flight: the job the pool runs (its callbacks are this object's
 * methods) and the request as STATS and the dashboard see it (its figures read
 * from its counter). One object per request, where closures, an options object
 * and a view with getters were five: this runs for every `1 1` a busy server answers.
 */
class Count implements JobOptions, RequestProgress {
  readonly request: string;
  readonly conn: string;
  readonly start: bigint;
  readonly increments: number;
  readonly startedAt: number;
  /** Job option: one task per increment. */
  readonly tasks: number;
  /** Job option: the server's unit drawer. */
  readonly drawUnits: () => number;
  /** Job option: the shared cell of a `racy` or `locked` count. */
  readonly counterCell: CounterCell | undefined;
  readonly counter: RequestCounter<TaskReport>;
  /** Sections that await (progress lines only): made on first need. */
  awaiting: Promise<bigint>[] | undefined;
  workersStarted = 0;
  workerStartMs = 0;
  #context: SessionContext;
  #session: SessionState;
  /** Whether the client asked for progress lines: only they make a section await. */
  #progress: boolean;
  #lastProgressAt = -Infinity;
  /**
   * Increments applied so far: counted, not derived from the value (a bigint subtraction
   * per increment would cost more the longer the start number).
   */
  #reported = 0;
  #reportValue: ValueReporter<TaskReport> | undefined;

  constructor(
    request: string,
    conn: string,
    command: CountCommand,
    context: SessionContext,
    session: SessionState,
  ) {
    this.request = request;
    this.conn = conn;
    this.start = command.start;
    this.increments = this.tasks = command.increments;
    this.startedAt = Date.now();
    this.drawUnits = context.drawUnits;
    const model = session.counter;
    // racy and locked: the Workers keep the counter themselves, in memory shared with them.
    this.counterCell = model === "parallel" || command.increments === 0
      ? undefined
      : CounterCell.create(model, command.increments);
    this.counter = new RequestCounter<TaskReport>(
      command.start,
      this.counterCell ? { cell: this.counterCell, taskNo: (task) => task.taskNo } : undefined,
    );
    this.#context = context;
    this.#session = session;
    this.#progress = session.progress;
  }

  get done(): number {
    return this.counter.applied;
  }

  get value(): bigint {
    return this.counter.value;
  }

  get sections(): number {
    return this.counter.sections;
  }

  get sectionsWaited(): number {
    return this.counter.sectionsWaited;
  }

  get sectionHeld(): boolean {
    return this.counter.held;
  }

  /** Job callback: a task was queued on a Worker. */
  onDispatch(taskNo: number, worker: number, units: number): void {
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

  /** Job callback: a batch of tasks ran; each is applied in the counter's critical section. */
  onDone(reports: TaskReport[]): void {
    for (const task of reports) {
      if (task.workerStartMs === undefined) continue;
      this.workersStarted++;
      this.workerStartMs += task.workerStartMs;
    }
    let report: ValueReporter<TaskReport> = NO_REPORT;
    if (this.#progress || this.#context.events.wantsTaskEvents()) {
      report = this.#reportValue ??= (value, task) => this.#report(value, task);
    } else {
      this.#reported += reports.length; // nobody to tell of each value: the section only counts
    }
    const section = this.counter.add(
      reports,
      report,
      this.#progress ? AWAITING_SECTION : SYNC_SECTION,
    );
    if (section instanceof Promise) {
      section.catch(() => {}); // awaited by runCount, unless the job fails first
      (this.awaiting ??= []).push(section);
    }
  }

  /** Tells of one value, inside the critical section. */
  #report(value: bigint, task: TaskReport): Promise<void> | void {
    this.#reported++;
    const session = this.#session;
    const { events, limits, stopping } = this.#context;
    if (session.gone.aborted || session.writeFailed || stopping.aborted) return;
    // racy: values repeat and fall back, so count the tasks applied instead.
    const done = this.counterCell ? this.counter.applied : this.#reported;
    if (events.wantsTaskEvents()) {
      const record = this.counter.record(task);
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
      }
      if (task.workerStartMs !== undefined) event.workerStartMs = task.workerStartMs;
      events.emit(event);
    }
    if (!this.#progress) return;
    const now = performance.now();
    if (now - this.#lastProgressAt < limits.progressIntervalMs && done < this.increments) return;
    this.#lastProgressAt = now;
    // Awaited inside the critical section: a client that does not read holds back its own request.
    return session.replies.send(formatProgress(done, this.increments));
  }
}

/**
 * Runs one count: every increment a task on the pool, each applied to the
 * request's counter in its critical section, then the answer. Whatever
 * happens, the request ends exactly once: one `result` (the answer was
 * written) or one `request-failed` event.
 *
 * @returns "answered", or why the connection must close.
 */
async function runCount(
  command: CountCommand,
  peer: string,
  context: SessionContext,
  session: SessionState,
): Promise<string> {
  const { events } = context;
  const request = `R${context.nextRequestId()}`;
  const startedAt = performance.now();
  const model = session.counter;
  const count = new Count(request, peer, command, context, session);
  const { counter, counterCell: cell } = count;
  const counting: ServerEvent & { type: "counting" } = {
    type: "counting",
    at: Date.now(),
    conn: peer,
    request,
    start: command.start,
    increments: command.increments,
  };
  if (model !== "parallel") counting.counter = model;
  events.emit(counting);
  const inFlight = context.begin(count);

  let failure = "unknown";
  let endsWithReply = false;
  try {
    if (session.gone.aborted) throw new Error("client disconnected");
    if (context.stopping.aborted) throw context.stopping.reason;
    if (command.increments > 0) {
      const job = context.pool.start(count);
      session.job = job;
      context.watchJob?.(job);
      try {
        await job.done;
        if (count.awaiting) await Promise.all(count.awaiting);
      } finally {
        session.job = undefined;
      }
    }
    // The classic reply, unless the client asked for a counter model: then the lesson too.
    const lost = session.askedCounter ? counter.updatesLost : undefined;
    // The request ends when its reply reaches the socket: held for a pipelined burst, later.
    endsWithReply = true;
    await session.reply(
      formatValue(counter.value, lost),
      (error) => end(error === undefined ? undefined : "client disconnected"),
    );
    return "answered";
  } catch (error) {
    const disconnected = session.gone.aborted || session.writeFailed;
    failure = disconnected
      ? "client disconnected"
      : context.stopping.aborted
      ? "server shut down before it finished"
      : error instanceof Error
      ? error.message
      : String(error);
    if (disconnected) return "client disconnected";
    const [code, message] = context.stopping.aborted
      ? ["shutting-down", `the server stopped before ${request} finished; send it again later`]
      : error instanceof NoWorkersError
      ? ["no-workers", `${request} failed: ${failure}`]
      : ["worker-failed", `${request} failed: ${failure}`];
    events.emit({ type: "client-error", at: Date.now(), conn: peer, code, message });
    try {
      await session.replies.send(formatError(code as ProtocolError["code"], message));
    } catch {
      return "client disconnected";
    }
    return context.stopping.aborted ? "server shutting down" : "answered";
  } finally {
    if (!endsWithReply) end(failure);
  }

  /** Ends the request: `failure` undefined when its answer was written. */
  function end(failure: string | undefined): void {
    // Workers still waiting for this request's lock must not wait for ever.
    if (failure !== undefined) cell?.abandon();
    if (failure === undefined) {
      const result: ServerEvent & { type: "result" } = {
        type: "result",
        at: Date.now(),
        conn: peer,
        request,
        value: counter.value,
        ms: performance.now() - startedAt,
      };
      if (model !== "parallel") {
        result.counter = model;
        result.updatesLost = counter.updatesLost;
      }
      if (count.workersStarted > 0) {
        result.workerStarts = { count: count.workersStarted, ms: count.workerStartMs };
      }
      events.emit(result);
    } else {
      events.emit({ type: "request-failed", at: Date.now(), conn: peer, request, reason: failure });
    }
    inFlight[Symbol.dispose](); // after its end is told, as the listeners of `result` expect
  }
}
