/**
 * Replies to one connection, coalesced: a reply to a pipelined request is held
 * while the next request is already in hand, and the held replies go out in one
 * socket write, as Redis writes a client's replies once per turn of its event
 * loop. A reply is never held past a bound of bytes or of time.
 *
 * @module
 */
import { type ByteSink, writeAll } from "./write_all.ts";

/** Most bytes of replies held before they are written, whatever comes next. */
export const REPLY_HOLD_BYTES = 16 * 1024;
/** Most milliseconds a reply is held for the replies after it. */
export const REPLY_HOLD_MS = 2;

/** Options of {@linkcode ReplyWriter}. */
export interface ReplyWriterOptions {
  /** Most bytes held; reaching it writes them. Defaults to {@linkcode REPLY_HOLD_BYTES}. */
  maxHeldBytes?: number;
  /** Most milliseconds a reply is held. Defaults to {@linkcode REPLY_HOLD_MS}. */
  maxHoldMs?: number;
}

/**
 * Holds replies and writes them together. {@linkcode ReplyWriter.hold} keeps a
 * reply (and writes what is held once a bound is reached);
 * {@linkcode ReplyWriter.flush} writes everything held in one write;
 * {@linkcode ReplyWriter.send} does both. Replies keep their order.
 *
 * @example
 * ```ts
 * import { ReplyWriter } from "./reply_writer.ts";
 * import assert from "node:assert/strict";
 *
 * const writes: string[] = [];
 * const sink = {
 *   write(p: Uint8Array) {
 *     writes.push(new TextDecoder().decode(p));
 *     return Promise.resolve(p.length);
 *   },
 * };
 * const replies = new ReplyWriter(sink);
 * await replies.hold("3\n");
 * await replies.hold("5\n");
 * await replies.send("BYE\n");
 * assert.deepEqual(writes, ["3\n5\nBYE\n"]);
 * ```
 */
export class ReplyWriter {
  #sink: ByteSink;
  #maxHeldBytes: number;
  #maxHoldMs: number;
  #held = "";
  /** When the oldest held reply was held (`performance.now()`). */
  #heldSince = 0;

  /**
   * @param sink Where the replies go: the client's connection.
   * @param options The bounds on holding.
   */
  constructor(sink: ByteSink, options: ReplyWriterOptions = {}) {
    this.#sink = sink;
    this.#maxHeldBytes = options.maxHeldBytes ?? REPLY_HOLD_BYTES;
    this.#maxHoldMs = options.maxHoldMs ?? REPLY_HOLD_MS;
  }

  /** Whether replies are held, unwritten. */
  get holding(): boolean {
    return this.#held.length > 0;
  }

  /**
   * Whether the oldest held reply would be held too long if the caller waited
   * `ms` more milliseconds before writing (0: whether it is held too long now).
   */
  overdue(ms = 0): boolean {
    return this.holding && performance.now() + ms - this.#heldSince >= this.#maxHoldMs;
  }

  /**
   * Holds a reply for the next write; writes everything held at once if the
   * bytes held reach their bound or the oldest reply has been held long enough.
   *
   * @param text The reply, with its line ending.
   * @returns A promise that resolves when the reply is held or written.
   * @throws Whatever the sink throws when a write is due.
   */
  hold(text: string): Promise<void> {
    if (this.#held.length === 0) this.#heldSince = performance.now();
    this.#held += text;
    // UTF-16 units: replies are ASCII, and an escaped line stays within a few bytes a unit.
    if (this.#held.length >= this.#maxHeldBytes || this.overdue()) return this.flush();
    return Promise.resolve();
  }

  /**
   * Writes everything held, in one write (looping over short writes).
   *
   * @throws Whatever the sink throws: the held replies are dropped, the client cannot get them.
   */
  flush(): Promise<void> {
    if (this.#held.length === 0) return Promise.resolve();
    const text = this.#held;
    this.#held = "";
    return writeAll(this.#sink, text);
  }

  /**
   * Writes a reply now, after any held ones.
   *
   * @param text The reply, with its line ending.
   */
  send(text: string): Promise<void> {
    this.#held += text;
    return this.flush();
  }
}
