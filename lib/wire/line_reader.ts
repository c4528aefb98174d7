/**
 * Line framing over a byte source: splits `\n`-terminated lines (dropping a
 * `\r` before the `\n`), bounds memory per connection, and supports the
 * original client's "classic framing": a partial line followed by a short
 * silence counts as a whole line.
 *
 * @module
 */
import { LINE_BUFFER_INITIAL_BYTES, LINE_MIN_READ_BYTES } from "../defaults/defaults.ts";

/** Where bytes come from: `Deno.Conn`, `Deno.stdin` or an in-memory source. */
export interface ByteSource {
  /** Reads into `p`; resolves to the count read, or `null` at end of input. */
  read(p: Uint8Array): Promise<number | null>;
}

/** One thing read from the source. */
export type LineEvent =
  /** A whole line, without its ending. */
  | { kind: "line"; text: string }
  /** A line longer than the limit; the reader can no longer find line boundaries. */
  | { kind: "too-long"; limit: number }
  /** A line whose bytes are not UTF-8; it is skipped and reading goes on. */
  | { kind: "bad-encoding"; bytes: number }
  /** End of input (or the source failed); no more events follow. */
  | { kind: "end" }
  /** {@linkcode LineReader.interrupt} was called while the caller waited. */
  | { kind: "interrupted" };

/** Options of {@linkcode LineReader}. */
export interface LineReaderOptions {
  /** Longest line accepted, in bytes, without its ending. */
  maxLineBytes: number;
  /**
   * Milliseconds of silence after which a partial line is taken as whole;
   * 0 turns classic framing off (a partial line then ends only at end of input).
   */
  silenceMs?: number;
  /** Size of each read from the source. Defaults to 8 KiB. */
  chunkBytes?: number;
  /**
   * Most bytes held ahead of the caller (lines not yet taken, and one partial
   * line); past this, reading pauses until the caller takes lines (push back).
   * Reading ahead is what lets a client that pipelined a burst and closed be
   * seen to go at once. Defaults to one line plus one read: `maxLineBytes + 2 +
   * chunkBytes`; never less than that.
   */
  readAheadBytes?: number;
  /** Called once when the source reaches its end or fails, even while nobody reads. */
  onEnd?: () => void;
  /**
   * Called when reading pauses because the read-ahead is full, even while nobody reads:
   * until the caller takes lines, an end of input behind what is held cannot be seen.
   */
  onFull?: () => void;
}

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;
const END: LineEvent = Object.freeze({ kind: "end" });
const INTERRUPTED: LineEvent = Object.freeze({ kind: "interrupted" });
const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Reads lines from a byte source, one {@linkcode LineEvent} per call of
 * {@linkcode LineReader.next}. It reads ahead while the caller works (so
 * `onEnd` reports a vanished peer at once) but never holds
 * more than about one line limit plus one chunk: past that it stops reading,
 * which pushes back on a client that sends faster than it is served.
 *
 * @example
 * ```ts
 * import { LineReader } from "./line_reader.ts";
 * import assert from "node:assert/strict";
 *
 * const data = new TextEncoder().encode("2 10\r\nSTOP\n");
 * let done = false;
 * const source = {
 *   read(p: Uint8Array) {
 *     if (done) return Promise.resolve(null);
 *     done = true;
 *     p.set(data);
 *     return Promise.resolve(data.length);
 *   },
 * };
 * const reader = new LineReader(source, { maxLineBytes: 100 });
 * assert.deepEqual(await reader.next(), { kind: "line", text: "2 10" });
 * assert.deepEqual(await reader.next(), { kind: "line", text: "STOP" });
 * assert.deepEqual(await reader.next(), { kind: "end" });
 * ```
 */
export class LineReader {
  #source: ByteSource;
  #maxLineBytes: number;
  #silenceMs: number;
  #chunkBytes: number;
  #buffer: Uint8Array;
  /** The most the buffer grows to: a whole line, its ending, and one read. */
  #capacity: number;
  #start = 0;
  #end = 0;
  /** Bytes from #start up to here hold no newline: a long line arriving in pieces is scanned once. */
  #scanned = 0;
  #reading = false;
  #atEnd = false;
  #failed = false;
  /** Settles the call of `next()` that waits, if one does. */
  #waiter?: (event: LineEvent) => void;
  /** The classic framing's silence timer, while a partial line waits. */
  #silence?: ReturnType<typeof setTimeout>;
  #interrupted = false;
  #onEnd?: () => void;
  #onFull?: () => void;

  /**
   * @param source Where the bytes come from.
   * @param options Line limit and framing.
   */
  constructor(source: ByteSource, options: LineReaderOptions) {
    const { maxLineBytes, silenceMs = 0, chunkBytes = 8 * 1024 } = options;
    if (!Number.isInteger(maxLineBytes) || maxLineBytes < 1) {
      throw new RangeError(`'maxLineBytes' must be a positive integer: received ${maxLineBytes}`);
    }
    this.#source = source;
    this.#maxLineBytes = maxLineBytes;
    this.#silenceMs = silenceMs;
    this.#chunkBytes = chunkBytes;
    this.#onEnd = options.onEnd;
    this.#onFull = options.onFull;
    // Start small and grow on demand: most lines are a few bytes, and a server may hold
    // thousands of connections.
    this.#capacity = Math.max(options.readAheadBytes ?? 0, maxLineBytes + 2 + chunkBytes);
    this.#buffer = new Uint8Array(Math.min(LINE_BUFFER_INITIAL_BYTES, this.#capacity));
    this.#fill();
  }

  /**
   * Whether a whole line is held, so that {@linkcode LineReader.next} returns it
   * without waiting: the peer sent its next request before reading the last
   * reply (it pipelines).
   */
  get lineReady(): boolean {
    if (this.#failed) return false;
    // Asked once a request: a plain loop, no subarray to allocate.
    const buffer = this.#buffer;
    for (let i = Math.max(this.#start, this.#scanned); i < this.#end; i++) {
      if (buffer[i] === NEWLINE) return true;
    }
    // No newline up to #end: the next scan starts there (a long line is still scanned once).
    this.#scanned = this.#end;
    return false;
  }

  /** Whether the source has reached its end. */
  get atEnd(): boolean {
    return this.#atEnd;
  }

  /**
   * Waits for the next line (or the end of input). One call at a time: await
   * each before the next.
   *
   * @returns The next event; after `end` or `too-long`, every call returns `end`.
   * @throws {Error} (rejects) When another call still waits.
   */
  next(): Promise<LineEvent> {
    if (this.#waiter) {
      return Promise.reject(
        new Error("LineReader.next() was called while another call waits: await each call first"),
      );
    }
    const event = this.#poll(false);
    if (event) return Promise.resolve(event);
    // No async frame held while a connection waits: one promise, settled by #wake.
    const { promise, resolve } = Promise.withResolvers<LineEvent>();
    this.#waiter = resolve;
    this.#armSilence();
    return promise;
  }

  /**
   * Wakes a caller waiting in {@linkcode LineReader.next} (or the next one to
   * call it, if no line is ready): it returns `interrupted`. Lines already held
   * are not lost. Used to end an idle session without a timer per line.
   */
  interrupt(): void {
    this.#interrupted = true;
    this.#wake();
  }

  /**
   * The next event that can be told now, or undefined when it must wait for input.
   *
   * @param silent Whether classic framing's silence has passed since the last arrival.
   */
  #poll(silent: boolean): LineEvent | undefined {
    if (this.#failed) return END;
    const found = this.#scanned < this.#end
      ? this.#buffer.subarray(0, this.#end).indexOf(NEWLINE, Math.max(this.#start, this.#scanned))
      : -1;
    this.#scanned = this.#end;
    if (found >= 0) {
      let lineEnd = found;
      const next = lineEnd + 1;
      if (lineEnd > this.#start && this.#buffer[lineEnd - 1] === CARRIAGE_RETURN) lineEnd--;
      if (lineEnd - this.#start > this.#maxLineBytes) return this.#tooLong();
      return this.#take(this.#start, lineEnd, next);
    }
    if (this.#interrupted) {
      this.#interrupted = false;
      return INTERRUPTED;
    }
    const pending = this.#end - this.#start;
    // One more byte than the limit may be a `\r` still waiting for its `\n`.
    if (pending > this.#maxLineBytes + 1) return this.#tooLong();
    if (this.#atEnd) {
      if (pending === 0) return END;
      if (pending > this.#maxLineBytes) return this.#tooLong();
      return this.#take(this.#start, this.#end, this.#end);
    }
    if (silent && pending > 0) {
      const end = this.#buffer[this.#end - 1] === CARRIAGE_RETURN ? this.#end - 1 : this.#end;
      if (end - this.#start > this.#maxLineBytes) return this.#tooLong();
      return this.#take(this.#start, end, this.#end);
    }
    return undefined;
  }

  /** Something happened (input, its end, an interruption): settle a waiting call if it can be. */
  #wake(): void {
    if (!this.#waiter) return;
    this.#settle(this.#poll(false));
  }

  #settle(event: LineEvent | undefined): void {
    if (!event) {
      this.#armSilence(); // a new arrival starts the silence again
      return;
    }
    const resolve = this.#waiter!;
    this.#waiter = undefined;
    if (this.#silence !== undefined) {
      clearTimeout(this.#silence);
      this.#silence = undefined;
    }
    resolve(event);
  }

  /** Classic framing: a partial line waits for the silence, counted from its last arrival. */
  #armSilence(): void {
    if (this.#silenceMs <= 0 || this.#end === this.#start) return;
    if (this.#silence !== undefined) clearTimeout(this.#silence);
    this.#silence = setTimeout(() => {
      this.#silence = undefined;
      if (this.#waiter) this.#settle(this.#poll(true));
    }, this.#silenceMs);
  }

  #take(from: number, to: number, next: number): LineEvent {
    const bytes = this.#buffer.subarray(from, to);
    this.#start = this.#scanned = next;
    // A read in flight writes at #end: move nothing under it.
    if (this.#start === this.#end && !this.#reading) this.#start = this.#end = this.#scanned = 0;
    let event: LineEvent;
    try {
      event = { kind: "line", text: utf8.decode(bytes) };
    } catch {
      event = { kind: "bad-encoding", bytes: bytes.length };
    }
    this.#fill();
    return event;
  }

  #tooLong(): LineEvent {
    // Framing is lost: drop what is held and read no more.
    this.#failed = true;
    this.#start = this.#end = this.#scanned = 0;
    this.#buffer = new Uint8Array(0);
    return { kind: "too-long", limit: this.#maxLineBytes };
  }

  /** Starts a read if none is running, input remains and there is room. */
  #fill(): void {
    if (this.#reading || this.#atEnd || this.#failed) return;
    // Full (a whole line and a read ahead of the caller): wait for it to take lines (push back).
    // Reading on until then lets a client that pipelined a burst and closed be seen to go.
    if (
      this.#capacity - (this.#end - this.#start) < Math.min(LINE_MIN_READ_BYTES, this.#chunkBytes)
    ) {
      this.#onFull?.();
      return;
    }
    // Too little room at the end: move what is held to the front, then grow if still short.
    const least = Math.max(1, Math.min(LINE_MIN_READ_BYTES, this.#buffer.length >> 1));
    if (this.#buffer.length - this.#end < least && this.#start > 0) {
      this.#buffer.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#scanned -= this.#start;
      this.#start = 0;
    }
    if (this.#buffer.length - this.#end < least && this.#buffer.length < this.#capacity) {
      const wanted = Math.max(this.#buffer.length * 2, this.#end + LINE_MIN_READ_BYTES);
      const grown = new Uint8Array(Math.min(this.#capacity, wanted));
      grown.set(this.#buffer.subarray(0, this.#end));
      this.#buffer = grown;
    }
    this.#reading = true;
    const target = this.#end === 0 && this.#buffer.length <= this.#chunkBytes
      ? this.#buffer
      : this.#buffer.subarray(this.#end, this.#end + this.#chunkBytes);
    this.#source.read(target).then(this.#onRead, this.#onRead);
  }

  /** Settles a read: a count, `null` at the end, or what a failed read threw (the end too). */
  #onRead = (outcome: number | null | unknown): void => {
    const count = typeof outcome === "number" ? outcome : null;
    this.#reading = false;
    if (count === null) {
      this.#atEnd = true;
      this.#onEnd?.();
    } else {
      this.#end += count;
    }
    this.#wake();
    this.#fill();
  };
}

/**
 * Adapts a stream of byte chunks (a process's stdout, a fetch body) into a
 * {@linkcode ByteSource}.
 *
 * @param stream The stream; it is locked to the returned source.
 * @returns A source that reads the stream's bytes in order.
 *
 * @example
 * ```ts
 * import { LineReader, streamSource } from "./line_reader.ts";
 * import assert from "node:assert/strict";
 *
 * const stream = ReadableStream.from([new TextEncoder().encode("a\nb\n")]);
 * const reader = new LineReader(streamSource(stream), { maxLineBytes: 10 });
 * assert.deepEqual(await reader.next(), { kind: "line", text: "a" });
 * ```
 */
export function streamSource(stream: ReadableStream<Uint8Array>): ByteSource {
  const reader = stream.getReader();
  let rest: Uint8Array = new Uint8Array(0);
  return {
    async read(p) {
      if (rest.length === 0) {
        const { value, done } = await reader.read();
        if (done) return null;
        rest = value;
      }
      const n = Math.min(p.length, rest.length);
      p.set(rest.subarray(0, n));
      rest = rest.subarray(n);
      return n;
    },
  };
}
