/**
 * What a session gets from its server: the parts every session shares, its
 * limits, and the connection it serves.
 *
 * @module
 */
import type { LineReader } from "../wire/line_reader.ts";
import type { ByteSink } from "../wire/write_all.ts";
import type { CountContext } from "./count_request.ts";
import type { CounterModel } from "../counter/counter_model.ts";
import type { ServerStats } from "./server_options.ts";
import type { ErrorCode } from "../wire/protocol.ts";
import type { SteppingLimits } from "./stepping.ts";

/** The limits a session enforces (and those of its stepped counts). */
export interface SessionLimits extends SteppingLimits {
  maxIncrements: number;
  /** How long a served client may go without a complete request while others wait, in ms. */
  idleTimeoutMs: number;
  /**
   * How long a served client may go without a complete request while others wait before it
   * goes back to the end of the line, in ms (default: `SLOT_HOLD_MS` of idle_sweep.ts).
   */
  slotHoldMs?: number;
  /** Least time between two progress lines, in ms. */
  progressIntervalMs: number;
  /** Most work one request may ask for, in seconds of the whole pool's time (estimated). */
  maxRequestMs: number;
  /** Most bytes of replies held for a pipelining client's next ones (default: `REPLY_HOLD_BYTES` of reply_writer.ts). */
  replyHoldBytes?: number;
  /** Most ms a reply is held for a pipelining client's next ones (default: `REPLY_HOLD_MS` of reply_writer.ts). */
  replyHoldMs?: number;
}

/** What a session needs from its server: one object that every session shares. */
export interface SessionContext extends CountContext {
  /** The counter model of a connection that has not sent `COUNTER` (`--counter`); `parallel` if none. */
  counterModel?: CounterModel;
  /**
   * Whether `racy` and `locked` counters can work: false when increments may run on other
   * machines (a fleet), which cannot share the counter's memory.
   */
  sharedCounters?: boolean;
  limits: SessionLimits;
  /** Estimated seconds of the whole pool's time that `increments` increments take. */
  estimateMs: (increments: number) => number;
  /** The `STATS` reply, as an object to send as JSON. */
  stats: () => ServerStats;
  /** Aborts when the server starts shutting down: finish the request in hand, take no more. */
  draining: AbortSignal;
  /**
   * Aborts when the grace period is over: abandon the request in hand. (The server then
   * calls `Session.cancel` on every session.)
   */
  stopping: AbortSignal;
}

/** The connection a session serves. */
export interface SessionConnection {
  /** Where the replies go (the session does not close it). */
  sink: ByteSink;
  /**
   * Its request lines, read from the start (before the client had a slot, so that a waiting
   * client's hang-up is seen). Once the reader is at its end, the client has gone.
   */
  reader: LineReader;
  /** The client's address, for events. */
  peer: string;
  /**
   * When the client connected (`performance.now()`): its idle clock starts there, so that one
   * who waited in line and sent nothing does not get a fresh hold when its turn comes.
   * Defaults to when the session starts.
   */
  connectedAt?: number;
  /**
   * Sends the client back to the end of the line, keeping its connection: resolves when its
   * turn has come again (at once when no one waits), rejects when it hangs up meanwhile or
   * the server shuts down. Without it, a session keeps its slot until it ends.
   */
  requeue?: () => Promise<void>;
}

/**
 * Why the server interrupts a session's wait for a line: it idled for the idle timeout
 * (`idle`: close) or the slot hold (`hold`: back in line) while others wait, or the server is
 * draining.
 */
export type Interruption = "idle" | "hold" | "draining";

/**
 * Why a connection is turned away before its turn (it sent too much while in line, or its
 * address has too many connections): the error its client is told, before the connection
 * closes.
 */
export class TurnedAway extends Error {
  /** The `ERR` code; one that closes the connection. */
  readonly code: ErrorCode;

  /**
   * @param code The `ERR` code.
   * @param message What happened and what to do next.
   */
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = "TurnedAway";
    this.code = code;
  }
}
