/**
 * One client's session: reads its request lines in order, runs each command
 * (a count on the Worker pool, or one answered at once), and writes the replies.
 *
 * @module
 */
import { SLOT_HOLD_MS } from "../defaults/defaults.ts";
import type { LineEvent, LineReader } from "../wire/line_reader.ts";
import {
  closesConnection,
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
import { counterRefusal, countFailure, failureReason } from "./count_refusals.ts";
import type { CounterModel } from "../counter/counter_model.ts";
import { NoWorkersError } from "../pool/job_queue.ts";
import type { Interruption, SessionConnection, SessionContext } from "./session_context.ts";
import { TurnedAway } from "./session_context.ts";
import { tooMuchWork } from "./work_estimate.ts";
import { idleTimedOut } from "./idle_sweep.ts";
import { Stepping } from "./stepping.ts";
import { SlotClock } from "./slot_clock.ts";

/** A wait for a line cut short: the sweep's interruption is handled as the reader's. */
const INTERRUPTED: LineEvent = { kind: "interrupted" };

/** What a command's handler returns: why the session ends, or nothing to go on. */
type Outcome = string | undefined;

/** What runs one kind of command. */
type Handler<C = Command> = (session: Session, command: C) => Promise<Outcome> | Outcome;

/** The handler of each kind of command: one table, read once per request. */
type CommandTable = { [K in Command["kind"]]: Handler<Extract<Command, { kind: K }>> };

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
  /** How long it idled, and how long it has held its slot. */
  #clock: SlotClock;
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
  /** Why, once it is gone: a hang-up, unless the teacher stopped it ({@linkcode Session.stop}). */
  #goneReason = "client disconnected";
  /** Back to the end of the line (`SessionConnection.requeue`). */
  #requeue?: () => Promise<void>;
  #stepping: Stepping; // SCHEDULE and STEP: its stepped counts

  /**
   * @param connection The client's connection, its line reader and its address.
   * @param context The server's parts, shared by every session.
   */
  constructor(connection: SessionConnection, context: SessionContext) {
    this.#reader = connection.reader;
    this.#peer = connection.peer;
    this.#clock = new SlotClock(connection.connectedAt);
    this.#requeue = connection.requeue;
    this.#context = context;
    this.#counter = context.counterModel ?? "parallel";
    this.#replies = new ReplyWriter(connection.sink, {
      maxHeldBytes: context.limits.replyHoldBytes,
      maxHoldMs: context.limits.replyHoldMs,
      onWriteFailed: () => {
        // Reset, or closed by the server's write timeout: nothing more can reach this client.
        this.#writeFailed = true;
        this.#inHand?.cancel(new Error(this.#goneReason));
      },
    });
    this.#stepping = new Stepping(connection, context, (text) => this.#replies.send(text));
  }

  /** How long without a complete request with work, in ms: {@linkcode SlotClock.idleFor}. */
  idleFor(now: number): number {
    return this.#clock.idleFor(now);
  }

  /** How long it has held its slot as it is now, in ms: {@linkcode SlotClock.heldFor}. */
  heldFor(now: number): number {
    return this.#clock.heldFor(now);
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
   * if it has still been idle for the timeout; for `hold`, it goes back to the end of the line
   * if it has still been idle for the slot hold; for `draining`, it closes with
   * `ERR shutting-down`.
   *
   * @param reason Why.
   */
  interrupt(reason: Interruption): void {
    this.#interruption = reason;
    this.#reader.interrupt();
  }

  /** Abandons the count in hand, if any (its client went, or the grace period ended). */
  cancel(reason: unknown): void {
    this.#inHand?.cancel(reason);
  }

  /** The teacher stopped this client: its socket is closing; the log says why, not "hang-up". */
  stop(reason: string): void {
    this.#goneReason = reason;
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
          const reason = "server shutting down";
          const message = "the server is shutting down; reconnect in a moment";
          return (await this.#sendError("shutting-down", message, reason)) ?? reason;
        }
        // Held replies go out before the session waits for its client: they are all it has.
        if (replies.holding && !reader.lineReady) await replies.flush();
        // A turn over while its next request is ready (a pipelining client): back in line too.
        const turnOver = this.#interruption === "hold" && reader.lineReady;
        const event = turnOver ? INTERRUPTED : await reader.next();
        const outcome = event.kind === "line"
          ? await this.#run(event.text)
          : await this.#readerEvent(event);
        if (outcome !== undefined) return outcome;
      }
    } finally {
      // Every way out: held replies still go to a half-closed client; their waiters hear.
      if (replies.holding) {
        if (this.#writeFailed) replies.abandon(new Error(this.#goneReason));
        else await replies.flush().catch(() => {});
      }
    }
  }

  /** What the reader said, when it is not a line. */
  #readerEvent(event: Exclude<LineEvent, { kind: "line" }>): Promise<Outcome> | Outcome {
    const { limits } = this.#context;
    switch (event.kind) {
      case "interrupted": {
        const reason = this.#interruption;
        this.#interruption = undefined;
        // An interruption that raced with a complete request is stale: wait again.
        const idle = this.idleFor(performance.now());
        if (reason === "idle" && idle >= limits.idleTimeoutMs) {
          return this.#sendError("idle-timeout", idleTimedOut(limits.idleTimeoutMs), "idle");
        }
        const held = this.heldFor(performance.now());
        if (reason === "hold" && held >= (limits.slotHoldMs ?? SLOT_HOLD_MS)) {
          return this.#backInLine();
        }
        return undefined; // draining is checked before the next wait
      }
      case "end":
        return "end of input";
      case "too-long":
        return this.#sendError(
          "line-too-long",
          `a request line may be at most ${event.limit} bytes; closing the connection`,
          "line too long",
        );
      case "bad-encoding":
        return this.#sendError(
          "bad-encoding",
          `the line (${event.bytes} bytes) is not valid UTF-8`,
        );
    }
  }

  /** Between requests, while others wait: back to the end of the line, keeping the connection. */
  async #backInLine(): Promise<Outcome> {
    try {
      await this.#requeue?.();
      this.#clock.turnStarted();
    } catch (error) {
      if (this.#clientGone()) return this.#goneReason;
      if (!(error instanceof TurnedAway)) return undefined; // shutting down: checked next
      return this.#sendError(error.code, error.message, `turned away: ${error.code}`);
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
    return (Session.#commands[command.kind] as Handler)(this, command);
  }

  static #commands: CommandTable = {
    empty: () => undefined,
    stop: (session) => session.#replies.send(formatBye()).then(() => "STOP"),
    stats: (session) => session.#ack(formatStats(session.#context.stats())),
    progress: (session, command) => {
      session.#progress = command.on;
      return session.#ack(formatOk(command));
    },
    counter: (session, command) => session.#setCounter(command),
    name: (session, { name }) => {
      session.#context.events.emit({ type: "named", at: Date.now(), conn: session.#peer, name });
      return session.#ack(formatOk({ kind: "name", name }));
    },
    count: (session, command) =>
      session.#stepping.refuse(command, session.#counter) ?? session.#count(command),
    stepping: (session, { command }) => session.#stepping.command(command, session.#counter),
  };

  #setCounter(command: Extract<Command, { kind: "counter" }>): Promise<Outcome> {
    const { model } = command;
    const refusal = counterRefusal(model, this.#context.sharedCounters ?? true);
    if (refusal) return this.#sendError("bad-request", refusal);
    this.#counter = model;
    this.#askedCounter = true;
    return this.#ack(formatOk(command));
  }

  /** A count: refused at once when it is too much work. */
  #count(command: CountCommand): Promise<Outcome> {
    const { limits, estimateMs } = this.#context, ms = estimateMs(command.increments);
    if (ms > limits.maxRequestMs) {
      return this.#sendError("too-much-work", tooMuchWork(command.increments, ms, limits));
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
    this.#clock.countStarted();
    const count = new CountRequest(command, {
      conn: this.#peer,
      model: this.#counter,
      progress: this.#progress,
      client: this,
      context,
      gate: this.#stepping.gate(),
    });
    let failure = "unknown";
    let endsWithReply = false;
    try {
      if (this.#clientGone()) throw new Error(this.#goneReason);
      if (context.stopping.aborted) throw context.stopping.reason;
      this.#inHand = count;
      try {
        await this.#stepping.drive(count);
      } finally {
        this.#inHand = undefined;
      }
      // The classic reply, unless the client asked for a counter model: then the lesson too.
      const lost = this.#askedCounter ? count.updatesLost : undefined;
      // The request ends when its reply reaches the socket: held for a pipelined burst, later.
      endsWithReply = true;
      await this.#reply(
        formatValue(count.value, lost),
        (error) => count.end(error === undefined ? undefined : this.#goneReason),
      );
      return undefined;
    } catch (error) {
      const disconnected = this.#clientGone();
      const gone = disconnected ? this.#goneReason : undefined;
      failure = failureReason(error, { gone, stopped: context.stopping.aborted });
      if (disconnected) return this.#goneReason;
      const [code, message] = countFailure(count.request, failure, {
        stopped: context.stopping.aborted,
        noWorkers: error instanceof NoWorkersError,
      });
      try {
        return await this.#sendError(code, message, "server shutting down");
      } catch {
        return this.#goneReason;
      }
    } finally {
      if (!endsWithReply) count.end(failure);
      this.#clock.countEnded(command.increments > 0);
    }
  }

  /** Whether the client has gone: its input ended, or a write to it failed. */
  #clientGone(): boolean {
    return this.#reader.atEnd || this.#writeFailed;
  }

  /** Answers a request: held while the client's next one is in hand (it pipelines), else sent. */
  #reply(text: string, settled?: ReplySettled): Promise<void> | undefined {
    return this.#reader.lineReady
      ? this.#replies.hold(text, settled)
      : this.#replies.send(text, settled);
  }

  /** Answers a setting or `STATS`, and goes on. */
  async #ack(text: string): Promise<Outcome> {
    await this.#reply(text);
    return undefined;
  }

  /**
   * Tells the log and the client of an error, after any held replies.
   *
   * @param reason Why the session ends, for the log, when the code closes the connection
   *   (`closesConnection` of replies.ts decides which do).
   * @returns The reason when the code closes the connection; nothing to go on.
   */
  async #sendError(code: ErrorCode, message: string, reason: string = code): Promise<Outcome> {
    const at = Date.now();
    this.#context.events.emit({ type: "client-error", at, conn: this.#peer, code, message });
    await this.#replies.send(formatError(code, message));
    return closesConnection(code) ? reason : undefined;
  }
}
