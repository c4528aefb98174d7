/**
 * The idle sweep: while clients wait for a slot, one timer for the whole
 * server (not one per line) sends the served clients that hold their slot
 * without using it back to the end of the line (after the slot hold), or
 * closes them (after the idle timeout).
 *
 * @module
 */
import { SLOT_HOLD_MS } from "../defaults/defaults.ts";
import type { ServerEvents } from "./server_events.ts";
import type { Interruption } from "./session_context.ts";

/** A served session, as the sweep sees it. */
export interface SweptSession {
  /** How long it has gone without a complete request with work, in ms. */
  idleFor(now: number): number;
  /** How long it has held its slot as it is now (its turn, or its idle time if longer), in ms. */
  heldFor(now: number): number;
  /** How long its write in flight has waited for the client to read, in ms. */
  unreadFor(now: number): number;
  /** Wakes it from its wait for a line. */
  interrupt(reason: Interruption): void;
}

/** A connection, as the sweep sees it. */
export interface SweptConnection {
  /** Its session, while it is served. */
  readonly session: SweptSession | undefined;
  /** The client's address, for events. */
  readonly peer: string;
  /** Closes its socket: the session's write fails, and it ends. */
  close(): void;
}

/** Options of {@linkcode IdleSweep}. */
export interface IdleSweepOptions {
  /** How long a served client may idle, or leave a reply unread, while others wait, in ms. */
  timeoutMs: number;
  /**
   * How long a served client may idle while others wait before it goes back to the end of
   * the line, in ms ({@linkcode SLOT_HOLD_MS} by default).
   */
  holdMs?: number;
  /** Whether anyone waits for a slot: only then is idling a waste. */
  crowded: () => boolean;
  /**
   * Whether anyone waits with a request ready: only then is a client that idles for the hold
   * sent back in line (by default, whenever anyone waits).
   */
  wanted?: () => boolean;
  /** The connections open now. */
  connections: () => Iterable<SweptConnection>;
  /** Where a write timeout is told. */
  events: ServerEvents;
}

/**
 * Sweeps the served connections every quarter of the hold or the timeout,
 * whichever is shorter (5 ms to 1 s): one whose reply has gone unread for the
 * timeout is closed; one idle for the timeout is interrupted, to answer
 * `ERR idle-timeout` and close; one that has held its slot for the hold (its
 * turn, or its idle time), while someone in line has a request ready, is
 * interrupted, to go back to the end of the line once its
 * request in hand is answered.
 *
 * @example
 * ```ts
 * import { IdleSweep } from "./idle_sweep.ts";
 * import { ServerEvents } from "./server_events.ts";
 * import assert from "node:assert/strict";
 *
 * const interrupted = Promise.withResolvers<string>();
 * const session = {
 *   idleFor: () => 60_000,
 *   heldFor: () => 60_000,
 *   unreadFor: () => 0,
 *   interrupt: (reason: string) => interrupted.resolve(reason),
 * };
 * using _sweep = new IdleSweep({
 *   timeoutMs: 20,
 *   crowded: () => true,
 *   connections: () => [{ session, peer: "127.0.0.1:5000", close: () => {} }],
 *   events: new ServerEvents(),
 * });
 * assert.equal(await interrupted.promise, "idle");
 * ```
 */
export class IdleSweep implements Disposable {
  #options: IdleSweepOptions;
  #timer: ReturnType<typeof setInterval>;

  /** @param options The timeout, and what to sweep. */
  constructor(options: IdleSweepOptions) {
    this.#options = options;
    const shortest = Math.min(options.timeoutMs, options.holdMs ?? SLOT_HOLD_MS);
    const everyMs = Math.min(1000, Math.max(5, shortest / 4));
    this.#timer = setInterval(() => this.#sweep(), everyMs);
  }

  /** Stops sweeping. */
  [Symbol.dispose](): void {
    clearInterval(this.#timer);
  }

  #sweep(): void {
    const { timeoutMs, holdMs = SLOT_HOLD_MS, crowded, connections, events } = this.#options;
    if (!crowded()) return;
    const wanted = (this.#options.wanted ?? crowded)();
    const now = performance.now();
    for (const connection of connections()) {
      const session = connection.session;
      if (session === undefined) continue;
      const unread = session.unreadFor(now);
      if (unread > 0 && unread >= timeoutMs) {
        // A reply unread this long while others wait: close, with nothing more sent.
        events.emit({
          type: "client-error",
          at: Date.now(),
          conn: connection.peer,
          code: "write-timeout",
          message: `a reply went unread for ${timeoutMs / 1000} s while other clients wait; ` +
            "connection closed",
        });
        connection.close();
        continue;
      }
      const idle = session.idleFor(now);
      if (idle > 0 && idle >= timeoutMs) session.interrupt("idle");
      // Counting or not: the session goes back in line once its request in hand is answered.
      else if (wanted && session.heldFor(now) >= holdMs) session.interrupt("hold");
    }
  }
}

/**
 * The message of `ERR idle-timeout`.
 *
 * @param timeoutMs The idle timeout, in ms.
 * @returns What happened and what to do next.
 *
 * @example
 * ```ts
 * import { idleTimedOut } from "./idle_sweep.ts";
 * import assert from "node:assert/strict";
 *
 * assert.match(idleTimedOut(50), /^no complete request for 0.05 s while other clients wait/);
 * ```
 */
export function idleTimedOut(timeoutMs: number): string {
  return `no complete request for ${timeoutMs / 1000} s while other clients wait; ` +
    "reconnect to go on";
}
