/**
 * One client's session: reads its request lines in order, runs each count on
 * the Worker pool, and writes the replies.
 *
 * @module
 */
import { type ByteSource, LineReader } from "../wire/line_reader.ts";
import { type CountCommand, formatError, parseCommand, ProtocolError } from "../wire/protocol.ts";
import { RequestCounter } from "./request_counter.ts";
import type { ServerEvents } from "./server_events.ts";
import { type ByteSink, writeAll } from "../wire/write_all.ts";
import type { RunningJob, TaskReport, WorkerPool } from "../pool/worker_pool.ts";
import { NoWorkersError } from "../fleet/no_workers.ts";

/** The limits a session enforces. */
export interface SessionLimits {
  maxIncrements: number;
  maxLineBytes: number;
  /** Classic framing's silence, in ms (0: off). */
  silenceMs: number;
  /** How long a served client may stay silent while others wait, in ms. */
  idleTimeoutMs: number;
  /** Least time between two progress lines, in ms. */
  progressIntervalMs: number;
}

/** What a session needs from its server. */
export interface SessionContext {
  pool: WorkerPool;
  events: ServerEvents;
  limits: SessionLimits;
  drawUnits: () => number;
  nextRequestId: () => number;
  /** The `STATS` reply, as an object to send as JSON. */
  stats: () => Record<string, number>;
  /**
   * Registers a session with the server, which interrupts it (`idle` or
   * `draining`) through the handle. Disposing of the result unregisters it.
   */
  track: (handle: SessionHandle) => Disposable;
  /** Aborts when the server starts shutting down: finish the request in hand, take no more. */
  draining: AbortSignal;
  /** Aborts when the grace period is over: abandon the request in hand. */
  stopping: AbortSignal;
  /** Watches each job, when the server may have no Worker up (a fleet only). */
  watchJob?: (job: RunningJob) => void;
}

/** How the server sees a session, to close it when it idles or the server drains. */
export interface SessionHandle {
  /** Since when (`performance.now()`) the session has waited for a whole line; undefined while busy. */
  readonly waitingSince: number | undefined;
  /** Wakes the session from its wait for a line, to close it for this reason. */
  interrupt(reason: "idle" | "draining"): void;
}

/** What a session keeps between its requests. */
interface SessionState {
  /** Whether the client asked for progress lines. */
  progress: boolean;
  /** The count in hand, to cancel when the client leaves or the grace period ends. */
  job: RunningJob | undefined;
  /** Whether the client has closed its side. */
  gone: boolean;
}

/**
 * Serves one connection until `STOP`, end of input, a fatal error or shutdown.
 *
 * @param conn The client's connection (it is not closed here).
 * @param peer The client's address, for events.
 * @param context The server's parts.
 * @returns Why the session ended, for the log.
 */
export async function serveSession(
  conn: ByteSource & ByteSink,
  peer: string,
  context: SessionContext,
): Promise<string> {
  const { events, limits } = context;
  const session: SessionState = { progress: false, job: undefined, gone: false };
  const reader = new LineReader(conn, {
    maxLineBytes: limits.maxLineBytes,
    silenceMs: limits.silenceMs,
    onEnd: () => {
      session.gone = true;
      session.job?.cancel(new Error("client disconnected"));
    },
  });
  const sendError = async (code: ProtocolError["code"], message: string) => {
    events.emit({ type: "client-error", at: Date.now(), conn: peer, code, message });
    await writeAll(conn, formatError(code, message));
  };
  let interruption: "idle" | "draining" | undefined;
  const handle = {
    waitingSince: undefined as number | undefined,
    interrupt(reason: "idle" | "draining") {
      interruption = reason;
      reader.interrupt();
    },
  };
  using _tracked = context.track(handle);
  // The count in hand, if any, is cancelled when the client leaves (onEnd above) or the grace
  // period ends: one listener per session, not one per request.
  const onStopping = () => session.job?.cancel(context.stopping.reason);
  context.stopping.addEventListener("abort", onStopping, { once: true });
  using _listening = {
    [Symbol.dispose]: () => context.stopping.removeEventListener("abort", onStopping),
  };

  while (true) {
    if (context.draining.aborted) {
      await sendError("shutting-down", "the server is shutting down; reconnect in a moment");
      return "server shutting down";
    }
    handle.waitingSince = performance.now();
    const event = await reader.next();
    const waitedMs = performance.now() - handle.waitingSince;
    handle.waitingSince = undefined;
    if (event.kind === "interrupted") {
      const reason = interruption;
      interruption = undefined;
      // An interruption that raced with a line that arrived is stale: wait again.
      if (reason === "idle" && waitedMs >= limits.idleTimeoutMs) {
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
        await writeAll(conn, "BYE\n");
        return "STOP";
      case "stats":
        await writeAll(conn, `${JSON.stringify(context.stats())}\n`);
        continue;
      case "progress":
        session.progress = command.on;
        await writeAll(conn, `OK progress ${command.on ? "on" : "off"}\n`);
        continue;
      case "count": {
        const outcome = await runCount(command, conn, peer, context, session);
        if (outcome !== "answered") return outcome;
      }
    }
  }
}

/**
 * Runs one count: every increment a task on the pool, each applied to the
 * request's counter in its critical section, then the answer.
 *
 * @returns "answered", or why the connection must close.
 */
async function runCount(
  command: CountCommand,
  conn: ByteSink,
  peer: string,
  context: SessionContext,
  session: SessionState,
): Promise<string> {
  const { events, limits } = context;
  const { start, increments } = command;
  const request = `R${context.nextRequestId()}`;
  const startedAt = performance.now();
  events.emit({ type: "counting", at: Date.now(), conn: peer, request, start, increments });

  const counter = new RequestCounter(start);
  // Only progress lines make the critical section await; without them it never yields.
  const progress = session.progress;
  const sections: Promise<bigint>[] = [];
  let lastProgressAt = -Infinity;

  const report = (value: bigint, task: TaskReport): Promise<void> | void => {
    if (session.gone || context.stopping.aborted) return;
    const done = Number(value - start);
    if (events.wantsTaskEvents()) {
      events.emit({
        type: "task-done",
        at: Date.now(),
        conn: peer,
        request,
        task: `${request}#${task.taskNo}`,
        worker: task.worker,
        units: task.units,
        startedAt: task.startedAt,
        endedAt: task.endedAt,
        value,
        done,
        total: increments,
      });
    }
    if (!progress) return;
    const now = performance.now();
    if (now - lastProgressAt < limits.progressIntervalMs && done < increments) return;
    lastProgressAt = now;
    // Awaited inside the critical section: a client that does not read holds back its own request.
    return writeAll(conn, `PROGRESS ${done} ${increments}\n`);
  };

  try {
    if (session.gone) throw new Error("client disconnected");
    if (context.stopping.aborted) throw context.stopping.reason;
    if (increments > 0) {
      const job = context.pool.start({
        tasks: increments,
        drawUnits: context.drawUnits,
        onDispatch: (taskNo, worker, units) => {
          if (!events.wantsTaskEvents()) return;
          events.emit({
            type: "task-start",
            at: Date.now(),
            conn: peer,
            task: `${request}#${taskNo}`,
            worker,
            units,
          });
        },
        onDone: (reports) => {
          const section = counter.add(reports, report, { mayAwait: progress });
          if (section instanceof Promise) {
            section.catch(() => {}); // awaited below, unless the job fails first
            sections.push(section);
          }
        },
      });
      session.job = job;
      context.watchJob?.(job);
      try {
        await job.done;
        if (sections.length > 0) await Promise.all(sections);
      } finally {
        session.job = undefined;
      }
    }
  } catch (error) {
    const reason = session.gone
      ? "client disconnected"
      : context.stopping.aborted
      ? "server shut down before it finished"
      : error instanceof Error
      ? error.message
      : String(error);
    events.emit({ type: "request-failed", at: Date.now(), conn: peer, request, reason });
    if (session.gone) return "client disconnected";
    const [code, message] = context.stopping.aborted
      ? ["shutting-down", `the server stopped before ${request} finished; send it again later`]
      : error instanceof NoWorkersError
      ? ["no-workers", `${request} failed: ${reason}`]
      : ["worker-failed", `${request} failed: ${reason}`];
    events.emit({ type: "client-error", at: Date.now(), conn: peer, code, message });
    await writeAll(conn, formatError(code as ProtocolError["code"], message));
    return context.stopping.aborted ? "server shutting down" : "answered";
  }
  await writeAll(conn, `${counter.value}\n`);
  events.emit({
    type: "result",
    at: Date.now(),
    conn: peer,
    request,
    value: counter.value,
    ms: performance.now() - startedAt,
  });
  return "answered";
}
