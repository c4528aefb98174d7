/**
 * Replies to one connection, coalesced: a reply to a pipelined request is held
 * while the next request is already in hand, and the held replies go out in one
 * socket write, as Redis writes a client's replies once per turn of its event
 * loop. A reply is never held past a bound of bytes or of time, and whoever
 * needs to know that a reply reached the socket hears it when it did.
 *
 * @module
 */
import { type ByteSink, writeAll } from "./write_all.ts";
import { REPLY_HOLD_BYTES, REPLY_HOLD_MS } from "../defaults/defaults.ts";

/** Options of {@linkcode ReplyWriter}. */
export interface ReplyWriterOptions {
  /** Most bytes held; reaching it writes them. Defaults to {@linkcode REPLY_HOLD_BYTES}. */
  maxHeldBytes?: number;
  /** Most milliseconds a reply is held. Defaults to {@linkcode REPLY_HOLD_MS}. */
  maxHoldMs?: number;
  /**
   * Called once for each write that fails, before anyone awaiting a write hears of it: the
   * client cannot be written to any more (whatever is held then is dropped).
   */
  onWriteFailed?: (error: unknown) => void;
}

/**
 * Hears whether a held reply reached the socket: with no argument once it was
 * written, with the error when it never can be.
 */
export type ReplySettled = (error?: unknown) => void;

/**
 * Holds replies and writes them together. {@linkcode ReplyWriter.hold} keeps a
 * reply (and writes what is held once a bound is reached);
 * {@linkcode ReplyWriter.flush} writes everything held in one write;
 * {@linkcode ReplyWriter.send} does both. Replies keep their order, and one
 * write is in flight at a time.
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
 * // Held up to a minute, not the default 2 ms: the clock never splits the holds below.
 * const replies = new ReplyWriter(sink, { maxHoldMs: 60_000 });
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
  #onWriteFailed?: (error: unknown) => void;
  #held = "";
  /** Who hears of the held replies, in order. */
  #settles: ReplySettled[] = [];
  /** When the oldest held reply was held (`performance.now()`). */
  #heldSince = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** The write in flight, if any: the next one starts after it. */
  #writing: Promise<void> | undefined;
  /** When the write in flight started (`performance.now()`). */
  #writingSince: number | undefined;

  /**
   * @param sink Where the replies go: the client's connection.
   * @param options The bounds on holding.
   */
  constructor(sink: ByteSink, options: ReplyWriterOptions = {}) {
    this.#sink = sink;
    this.#maxHeldBytes = options.maxHeldBytes ?? REPLY_HOLD_BYTES;
    this.#maxHoldMs = options.maxHoldMs ?? REPLY_HOLD_MS;
    this.#onWriteFailed = options.onWriteFailed;
  }

  /**
   * Since when (`performance.now()`) the write in flight has waited for the client to
   * read; undefined when no write is in flight. A write queued behind it is timed from its own
   * start.
   */
  get writingSince(): number | undefined {
    return this.#writingSince;
  }

  /** Whether replies are held, unwritten. */
  get holding(): boolean {
    return this.#held.length > 0;
  }

  /**
   * Holds a reply for the next write; writes everything held at once if the
   * bytes held reach their bound or the oldest reply has been held long
   * enough. A held reply is written within `maxHoldMs` whatever the caller
   * does next (a timer sees to it).
   *
   * @param text The reply, with its line ending.
   * @param settled Hears when the reply reached the socket, or that it never will.
   * @returns Undefined when the reply is only held; else the write it set off.
   * @throws Whatever the sink throws when a write is due.
   */
  hold(text: string, settled?: ReplySettled): Promise<void> | undefined {
    if (this.#held.length === 0) {
      this.#heldSince = performance.now();
      if (this.#maxHoldMs > 0) this.#timer = setTimeout(this.#writeOverdue, this.#maxHoldMs);
    }
    this.#held += text;
    if (settled) this.#settles.push(settled);
    // UTF-16 units: replies are ASCII, and an escaped line stays within a few bytes a unit.
    if (
      this.#held.length >= this.#maxHeldBytes ||
      performance.now() - this.#heldSince >= this.#maxHoldMs
    ) {
      return this.flush();
    }
    return undefined;
  }

  /** The timer's write: a failure is heard through `onWriteFailed` and by the next write. */
  #writeOverdue = (): void => void this.flush().catch(() => {});

  /**
   * Writes everything held, in one write (looping over short writes), after
   * the write in flight if there is one.
   *
   * @throws Whatever the sink throws: the held replies are dropped (their
   *   listeners hear the error), the client cannot get them.
   */
  flush(): Promise<void> {
    if (this.#writing) return this.#writing.then(() => this.flush());
    if (this.#held.length === 0) return Promise.resolve();
    clearTimeout(this.#timer);
    const text = this.#held;
    const settles = this.#settles;
    this.#held = "";
    this.#settles = [];
    this.#writingSince = performance.now();
    const writing = writeAll(this.#sink, text).then(
      () => {
        this.#writing = this.#writingSince = undefined;
        for (const settled of settles) settled();
      },
      (error) => {
        this.#writing = this.#writingSince = undefined;
        this.#onWriteFailed?.(error);
        for (const settled of settles) settled(error);
        // Nothing more can be written: what was held meanwhile is dropped, its timer stopped.
        this.abandon(error);
        throw error;
      },
    );
    this.#writing = writing;
    return writing;
  }

  /**
   * Writes a reply now, after any held ones.
   *
   * @param text The reply, with its line ending.
   * @param settled Hears when the reply reached the socket, or that it never will.
   */
  send(text: string, settled?: ReplySettled): Promise<void> {
    this.#held += text;
    if (settled) this.#settles.push(settled);
    return this.flush();
  }

  /**
   * Drops what is held, unwritten: the client is gone. Listeners hear `error`.
   *
   * @param error Why the replies cannot be written.
   */
  abandon(error: unknown): void {
    clearTimeout(this.#timer);
    const settles = this.#settles;
    this.#held = "";
    this.#settles = [];
    for (const settled of settles) settled(error);
  }
}
