/**
 * One client's session: reads its request lines in order, runs each command
 * (a count on the Worker pool, or one answered at once), and writes the replies.
 *
 * @module
 */
import type { LineEvent, LineReader } from "../wire/line_reader.ts";
import {
  type Command,
  type CountCommand,
  type ErrorCode,
  formatBye,
  formatError,
  formatOk,
  formatProgress,
  formatStats,
  formatValue,
  parseCommand,
  ProtocolError,
} from "../wire/protocol.ts";
import { type ReplySettled, ReplyWriter } from "../wire/reply_writer.ts";
import { type CountClient, CountRequest } from "./count_request.ts";
import type { CounterModel } from "../counter/counter_model.ts";
import { NoWorkersError } from "../pool/job_queue.ts";
import type { Interruption, SessionConnection, SessionContext } from "./session_context.ts";
import { formatDuration } from "./work_estimate.ts";

/** The `COUNTER` command. */
type CounterCommand = Extract<Command, { kind: "counter" }>;

/** What a command's handler returns: why the session ends, or nothing to go on. */
type Outcome = string | undefined;

/** The handler of each kind of command: one table, read once per request. */
type CommandTable = {
  [K in Command["kind"]]: (
    session: Session,
    command: Extract<Command, { kind: K }>,
  ) => Promise<Outcome> | Outcome;
};

/**
 * Serves one connection until `STOP`, end of input, a fatal error or shutdown.
 * The session alone keeps its state; its server calls its methods: to time it
 * ({@linkcode Session.idleFor}, {@linkcode Session.unreadFor}), to wake it
 * ({@linkcode Session.interrupt}) and to abandon its count ({@linkcode Session.cancel}).
 *
 * @example
 * ```ts
 * import { Session } from "./session.ts";
 * import type { SessionContext } from "./session_context.ts";
 * import { LineReader } from "../wire/line_reader.ts";
 * import assert from "node:assert/strict";
 *
 * // A client that sends `STOP` and reads the reply.
 * const written: string[] = [];
 * const conn = {
 *   sent: false,
 *   read(p: Uint8Array) {
 *     if (this.sent) return Promise.resolve(null);
 *     this.sent = true;
 *     return Promise.resolve(new TextEncoder().encodeInto("STOP\n", p).written);
 *   },
 *   write(p: Uint8Array) {
 *     written.push(new TextDecoder().decode(p));
 *     return Promise.resolve(p.length);
 *   },
 * };
 * const reader = new LineReader(conn, { maxLineBytes: 64 });
 * // STOP needs no more of the server than this.
 * const context = { limits: { maxIncrements: 10 }, draining: new AbortController().signal };
 * const connection = { sink: conn, reader, peer: "127.0.0.1:5000" };
 * const session = new Session(connection, context as SessionContext);
 * assert.equal(await session.serve(), "STOP");
 * assert.deepEqual(written, ["BYE\n"]);
 * ```
 */
export class Session implements CountClient {
  #reader: LineReader;
  #peer: string;
  #context: SessionContext;
  #replies: ReplyWriter;
  /**
   * Since when (`performance.now()`) the session has gone without a complete request: set
   * when it starts and after each count with work it answers; undefined while a count runs.
   */
  #idleSince: number | undefined = performance.now();
  #interruption: Interruption | undefined;
  /** Whether the client asked for progress lines. */
  #progress = false;
  /** The counter model of this connection's counts. */
  #counter: CounterModel;
  /** Whether the client sent `COUNTER`: then its answers say how many updates were lost. */
  #askedCounter = false;
  /** The count in hand, to cancel when the client leaves or the grace period ends. */
  #inHand: CountRequest | undefined;
  /** Whether a write to the client failed: it is gone, even if its input has not ended. */
  #writeFailed = false;

  /**
   * @param connection The client's connection, its line reader and its address.
   * @param context The server's parts, shared by every session.
   */
  constructor(connection: SessionConnection, context: SessionContext) {
    this.#reader = connection.reader;
    this.#peer = connection.peer;
    this.#context = context;
    this.#counter = context.counterModel ?? "parallel";
    this.#replies = new ReplyWriter(connection.sink, {
      maxHeldBytes: context.limits.replyHoldBytes,
      maxHoldMs: context.limits.replyHoldMs,
      onWriteFailed: () => {
        // Reset, or closed by the server's write timeout: nothing more can reach this client.
        this.#writeFailed = true;
        this.#inHand?.cancel(new Error("client disconnected"));
      },
    });
  }

  /**
   * How long the session has gone without a complete request with work, in ms: 0 while a
   * count runs. Empty lines, half lines, `STATS`, `PROGRESS` and `0 0` do not reset it.
   *
   * @param now `performance.now()`.
   * @returns The time, in ms.
   */
  idleFor(now: number): number {
    return this.#idleSince === undefined ? 0 : now - this.#idleSince;
  }

  /**
   * How long the write in flight has waited for the client to read, in ms: 0 when none waits.
   *
   * @param now `performance.now()`.
   * @returns The time, in ms.
   */
  unreadFor(now: number): number {
    const since = this.#replies.writingSince;
    return since === undefined ? 0 : now - since;
  }

  /**
   * Wakes the session from its wait for a line. For `idle`, it closes with `ERR idle-timeout`
   * if it has still been idle for the timeout; for `draining`, with `ERR shutting-down`.
   *
   * @param reason Why.
   */
  interrupt(reason: Interruption): void {
    this.#interruption = reason;
    this.#reader.interrupt();
  }

  /**
   * Abandons the count in hand, if any (its client went, or the grace period ended).
   *
   * @param reason Why.
   */
  cancel(reason: unknown): void {
    this.#inHand?.cancel(reason);
  }

  /** For the count in hand: whether its client and the server still hear it. */
  listening(): boolean {
    return !this.#clientGone() && !this.#context.stopping.aborted;
  }

  /** For the count in hand: writes a progress line. */
  progress(done: number, total: number): Promise<void> {
    return this.#replies.send(formatProgress(done, total));
  }

  /**
   * Serves the connection (it is not closed here).
   *
   * @returns Why the session ended, for the log.
   */
  async serve(): Promise<string> {
    const reader = this.#reader;
    const replies = this.#replies;
    try {
      while (true) {
        if (this.#context.draining.aborted) {
          await this.#sendError(
            "shutting-down",
            "the server is shutting down; reconnect in a moment",
          );
          return "server shutting down";
        }
        // Held replies go out before the session waits for its client: they are all it has.
        if (replies.holding && !reader.lineReady) await replies.flush();
        const event = await reader.next();
        const outcome = event.kind === "line"
          ? await this.#run(event.text)
          : await this.#readerEvent(event);
        if (outcome !== undefined) return outcome;
      }
    } finally {
      // Every way out: what is held still goes to a client that only half-closed, and whoever
      // waits to hear of a held reply hears either way.
      if (replies.holding) {
        if (this.#writeFailed) replies.abandon(new Error("client disconnected"));
        else await replies.flush().catch(() => {});
      }
    }
  }

  /** What the reader said, when it is not a line. */
  async #readerEvent(event: Exclude<LineEvent, { kind: "line" }>): Promise<Outcome> {
    const { limits } = this.#context;
    switch (event.kind) {
      case "interrupted": {
        const reason = this.#interruption;
        this.#interruption = undefined;
        // An interruption that raced with a complete request is stale: wait again.
        if (reason === "idle" && this.idleFor(performance.now()) >= limits.idleTimeoutMs) {
          await this.#sendError(
            "idle-timeout",
            `no complete request for ${limits.idleTimeoutMs / 1000} s while other clients wait; ` +
              "reconnect to go on",
          );
          return "idle";
        }
        return undefined; // draining is checked before the next wait
      }
      case "end":
        return "end of input";
      case "too-long":
        await this.#sendError(
          "line-too-long",
          `a request line may be at most ${event.limit} bytes; closing the connection`,
        );
        return "line too long";
      case "bad-encoding":
        await this.#sendError("bad-encoding", `the line (${event.bytes} bytes) is not valid UTF-8`);
        return undefined;
    }
  }

  /** Parses a request line and runs its command. */
  #run(line: string): Promise<Outcome> | Outcome {
    let command: Command;
    try {
      command = parseCommand(line, { maxIncrements: this.#context.limits.maxIncrements });
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      return this.#sendError(error.code, error.message);
    }
    // The table's handler for this kind: TypeScript cannot pair the two by itself.
    const handler = Session.#commands[command.kind] as (
      session: Session,
      command: Command,
    ) => Promise<Outcome> | Outcome;
    return handler(this, command);
  }

  static #commands: CommandTable = {
    empty: () => undefined,
    stop: async (session) => {
      await session.#replies.send(formatBye());
      return "STOP";
    },
    stats: async (session) => {
      await session.#reply(formatStats(session.#context.stats()));
      return undefined;
    },
    progress: async (session, command) => {
      session.#progress = command.on;
      await session.#reply(formatOk(command));
      return undefined;
    },
    counter: (session, command) => session.#setCounter(command),
    name: async (session, command) => {
      session.#context.events.emit({
        type: "named",
        at: Date.now(),
        conn: session.#peer,
        name: command.name,
      });
      await session.#reply(formatOk(command));
      return undefined;
    },
    count: (session, command) => session.#count(command),
  };

  async #setCounter(command: CounterCommand): Promise<Outcome> {
    const { model } = command;
    if (model !== "parallel" && this.#context.sharedCounters === false) {
      return this.#sendError(
        "bad-request",
        `COUNTER ${model} needs every increment on the server's own machine (its ` +
          "counter lives in memory shared with the local Workers), and this server counts on " +
          "worker nodes too (--nats): only COUNTER parallel here",
      );
    }
    this.#counter = model;
    this.#askedCounter = true;
    await this.#reply(formatOk(command));
    return undefined;
  }

  /** A count: refused at once when it is too much work. */
  #count(command: CountCommand): Promise<Outcome> {
    const { limits } = this.#context;
    const ms = this.#context.estimateMs(command.increments);
    if (ms > limits.maxRequestMs) {
      return this.#sendError(
        "too-much-work",
        `${command.increments} increments would keep every Worker busy for about ` +
          `${formatDuration(ms)}; the limit is ${formatDuration(limits.maxRequestMs)} ` +
          "a request (--max-request-seconds): ask for fewer increments",
      );
    }
    return this.#runCount(command);
  }

  /**
   * Runs one count and answers it. Whatever happens, the request ends exactly once.
   *
   * @returns Nothing when answered, or why the connection must close.
   */
  async #runCount(command: CountCommand): Promise<Outcome> {
    const context = this.#context;
    const idleBefore = this.#idleSince;
    this.#idleSince = undefined;
    const count = new CountRequest(command, {
      conn: this.#peer,
      model: this.#counter,
      progress: this.#progress,
      client: this,
      context,
    });
    let failure = "unknown";
    let endsWithReply = false;
    try {
      if (this.#clientGone()) throw new Error("client disconnected");
      if (context.stopping.aborted) throw context.stopping.reason;
      this.#inHand = count;
      try {
        await count.run();
      } finally {
        this.#inHand = undefined;
      }
      // The classic reply, unless the client asked for a counter model: then the lesson too.
      const lost = this.#askedCounter ? count.updatesLost : undefined;
      // The request ends when its reply reaches the socket: held for a pipelined burst, later.
      endsWithReply = true;
      await this.#reply(
        formatValue(count.value, lost),
        (error) => count.end(error === undefined ? undefined : "client disconnected"),
      );
      return undefined;
    } catch (error) {
      const disconnected = this.#clientGone();
      failure = disconnected
        ? "client disconnected"
        : context.stopping.aborted
        ? "server shut down before it finished"
        : error instanceof Error
        ? error.message
        : String(error);
      if (disconnected) return "client disconnected";
      const request = count.request;
      const [code, message]: [ErrorCode, string] = context.stopping.aborted
        ? ["shutting-down", `the server stopped before ${request} finished; send it again later`]
        : error instanceof NoWorkersError
        ? ["no-workers", `${request} failed: ${failure}`]
        : ["worker-failed", `${request} failed: ${failure}`];
      try {
        await this.#sendError(code, message);
      } catch {
        return "client disconnected";
      }
      return context.stopping.aborted ? "server shutting down" : undefined;
    } finally {
      if (!endsWithReply) count.end(failure);
      // A request with work resets the idle clock; `0 0`, like STATS, is not enough to keep a
      // slot while others wait.
      this.#idleSince = command.increments > 0 ? performance.now() : idleBefore;
    }
  }

  /** Whether the client has gone: its input ended, or a write to it failed. */
  #clientGone(): boolean {
    return this.#reader.atEnd || this.#writeFailed;
  }

  /**
   * Answers a request: the reply is held while the client's next request is already in hand
   * (it pipelines), so that a burst of requests gets one write; written at once otherwise.
   */
  #reply(text: string, settled?: ReplySettled): Promise<void> | undefined {
    return this.#reader.lineReady
      ? this.#replies.hold(text, settled)
      : this.#replies.send(text, settled);
  }

  /** Tells the log and the client of an error, after any held replies. */
  async #sendError(code: ErrorCode, message: string): Promise<Outcome> {
    this.#context.events.emit({
      type: "client-error",
      at: Date.now(),
      conn: this.#peer,
      code,
      message,
    });
    await this.#replies.send(formatError(code, message));
    return undefined;
  }
}
