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
import type { SteppingLimits } from "./stepping.ts";

/** The limits a session enforces (and those of its stepped counts). */
export interface SessionLimits extends SteppingLimits {
  maxIncrements: number;
  /** How long a served client may go without a complete request while others wait, in ms. */
  idleTimeoutMs: number;
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
}

/** Why the server interrupts a session's wait for a line. */
export type Interruption = "idle" | "draining";
