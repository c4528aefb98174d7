/**
 * A file written in the background from text handed to it, with bounded
 * memory and a size cap: the caller asks whether text fits, then hands it
 * over, and never waits for the disk.
 *
 * @module
 */
import { writeAll } from "../../wire/write_all.ts";

/** A write starts as soon as this much is held, without waiting for the timer. */
const WRITE_CHUNK_BYTES = 64 * 1024;

/** Options of {@linkcode BoundedFileWriter.open}. */
export interface BoundedFileWriterOptions {
  /** Largest file, in bytes, as {@linkcode BoundedFileWriter.fitsFile} counts it; `Infinity` for no cap. */
  maxBytes: number;
  /** Most bytes held in memory, as {@linkcode BoundedFileWriter.fitsMemory} counts them. */
  maxMemoryBytes: number;
  /** Milliseconds between writes of what is held, at most 1000. */
  flushMs: number;
  /** Hears, once, that a write failed: nothing more is written, and `close()` throws the error. */
  onFailed?: (error: unknown) => void;
}

/**
 * Writes text to a file on its own timer (and whenever a chunk's worth is
 * held), in whole pieces as handed over, so the file on disk always ends
 * where a piece ended.
 *
 * @example
 * ```ts
 * import { BoundedFileWriter } from "./bounded_file_writer.ts";
 * import assert from "node:assert/strict";
 *
 * const path = await Deno.makeTempFile();
 * const file = await BoundedFileWriter.open(path, {
 *   maxBytes: 1024, maxMemoryBytes: 1024, flushMs: 250,
 * });
 * if (file.fitsFile(6) && file.fitsMemory(6)) file.write("hello\n");
 * await file.close();
 * assert.equal(await Deno.readTextFile(path), "hello\n");
 * await Deno.remove(path);
 * ```
 */
export class BoundedFileWriter {
  #file: Deno.FsFile;
  #path: string | URL;
  #maxBytes: number;
  #maxMemoryBytes: number;
  #onFailed?: (error: unknown) => void;
  #timer: ReturnType<typeof setInterval>;

  /** Text not yet encoded (at most a chunk), then encoded chunks waiting for a write. */
  #pending: string[] = [];
  #pendingChars = 0;
  #queue: Uint8Array[] = [];
  #queuedBytes = 0;
  /** Bytes of the write under way, and where in the file they start. */
  #inFlight?: Uint8Array;
  #inFlightAt = 0;
  #writing?: Promise<void>;
  /** Bytes on disk, and bytes taken in (on disk, in flight or pending). */
  #fileBytes = 0;
  #acceptedBytes = 0;
  #failure: unknown;
  #closing?: Promise<void>;
  #fileClosed = false;

  private constructor(file: Deno.FsFile, path: string | URL, options: BoundedFileWriterOptions) {
    this.#file = file;
    this.#path = path;
    this.#maxBytes = options.maxBytes;
    this.#maxMemoryBytes = options.maxMemoryBytes;
    this.#onFailed = options.onFailed;
    this.#timer = setInterval(() => this.flush(), options.flushMs);
    Deno.unrefTimer(this.#timer);
  }

  /**
   * Creates (or truncates) the file.
   *
   * @param path Where to write.
   * @param options The caps, the timer and who hears of a failure.
   * @returns The writer; its timer does not keep the process alive.
   * @throws {RangeError} When `maxMemoryBytes` or `flushMs` is out of range.
   * @throws {Deno.errors.NotCapable} Without write permission for `path`.
   */
  static async open(
    path: string | URL,
    options: BoundedFileWriterOptions,
  ): Promise<BoundedFileWriter> {
    const { maxMemoryBytes, flushMs } = options;
    if (!(maxMemoryBytes > 0)) {
      throw new RangeError(`'maxMemoryBytes' must be positive: received ${maxMemoryBytes}`);
    }
    if (!(flushMs > 0 && flushMs <= 1000)) {
      throw new RangeError(`'flushMs' must be in (0, 1000]: received ${flushMs}`);
    }
    const file = await Deno.open(path, { write: true, create: true, truncate: true });
    return new BoundedFileWriter(file, path, options);
  }

  /** Bytes of text in memory now, waiting for or in a write. */
  get heldBytes(): number {
    return this.#pendingChars + this.#queuedBytes + (this.#inFlight?.length ?? 0);
  }

  /** Whether the file is closed: by `close()`, or by `closeNow()` with no write under way. */
  get closed(): boolean {
    return this.#fileClosed;
  }

  /**
   * Whether `chars` more characters keep the file within `maxBytes`.
   *
   * @param chars Characters the caller means to write.
   * @returns Whether they fit.
   */
  fitsFile(chars: number): boolean {
    return this.#acceptedBytes + chars <= this.#maxBytes;
  }

  /**
   * Whether `chars` more characters keep memory within `maxMemoryBytes`.
   *
   * @param chars Characters the caller means to write.
   * @returns Whether they fit.
   */
  fitsMemory(chars: number): boolean {
    return this.heldBytes + chars <= this.#maxMemoryBytes;
  }

  /**
   * Takes `text` to write, whether it fits or not (ask first with
   * {@linkcode BoundedFileWriter.fitsFile} and {@linkcode BoundedFileWriter.fitsMemory}).
   *
   * @param text Text to append to the file.
   */
  write(text: string): void {
    this.#pending.push(text);
    this.#pendingChars += text.length;
    this.#acceptedBytes += text.length;
    if (this.#pendingChars >= WRITE_CHUNK_BYTES) this.flush();
  }

  /** Starts writing all that is held, unless a write is under way (it takes the rest after it). */
  flush(): void {
    this.#seal();
    if (this.#writing || this.#queue.length === 0 || this.#failure) return;
    this.#writing = this.#drain();
  }

  /**
   * Writes what is held and closes the file.
   *
   * @throws The first write error, if a write failed.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    clearInterval(this.#timer);
    this.flush();
    while (this.#writing) await this.#writing;
    if (!this.#fileClosed) {
      this.#fileClosed = true;
      this.#file.close();
    }
    if (this.#failure) throw this.#failure;
  }

  /**
   * Writes what is held synchronously, for a forced exit, blocking until the
   * disk takes it. A write still under way is written again, at its place,
   * through a second handle, so the file is complete whichever lands last;
   * this holds too while a `close()` is still writing. The write under way
   * then lands and `close()` closes the file; after a `close()` that resolved,
   * this does nothing.
   *
   * @throws The error of the last write, if the disk refuses it.
   */
  closeNow(): void {
    if (this.#fileClosed) return;
    clearInterval(this.#timer);
    this.#seal();
    const rest = this.#queue;
    this.#queue = [];
    this.#queuedBytes = 0;
    if (this.#inFlight) {
      const again = Deno.openSync(this.#path, { write: true });
      try {
        again.seekSync(this.#inFlightAt, Deno.SeekMode.Start);
        writeAllSync(again, this.#inFlight);
        for (const chunk of rest) writeAllSync(again, chunk);
      } finally {
        again.close();
      }
    } else {
      // No write under way, so close() is not waiting on one: the file is ours to close.
      this.#fileClosed = true;
      try {
        for (const chunk of rest) writeAllSync(this.#file, chunk);
      } finally {
        this.#file.close();
      }
    }
    this.close().catch(() => {});
  }

  /**
   * Encodes the text held into a chunk for the write queue: a backlog of bytes
   * lives outside the JavaScript heap, where the garbage collector never copies it.
   */
  #seal(): void {
    if (this.#pending.length === 0) return;
    const bytes = encoder.encode(this.#pending.join(""));
    this.#acceptedBytes += bytes.length - this.#pendingChars; // text outside ASCII takes more bytes
    this.#pending = [];
    this.#pendingChars = 0;
    this.#queue.push(bytes);
    this.#queuedBytes += bytes.length;
  }

  /**
   * Writes the queue until it is empty, all that is queued in one write: a
   * write's completion waits its turn on a busy event loop, so each must carry everything held.
   */
  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const bytes = this.#queue.length === 1 ? this.#queue[0] : concat(this.#queue);
      this.#queue = [];
      this.#queuedBytes = 0;
      this.#inFlight = bytes;
      this.#inFlightAt = this.#fileBytes;
      try {
        await writeAll(this.#file, bytes);
        this.#fileBytes += bytes.length;
      } catch (error) {
        this.#fail(error);
        break;
      } finally {
        this.#inFlight = undefined;
      }
    }
    this.#writing = undefined;
  }

  /** A write failed: nothing more is written, and `close()` will throw the error. */
  #fail(error: unknown): void {
    this.#failure = error;
    this.#pending = [];
    this.#pendingChars = 0;
    this.#queue = [];
    this.#queuedBytes = 0;
    clearInterval(this.#timer);
    this.#onFailed?.(error);
  }
}

const encoder = new TextEncoder();

/** The chunks, one after another, in one array. */
function concat(chunks: Uint8Array[]): Uint8Array {
  const all = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    all.set(chunk, at);
    at += chunk.length;
  }
  return all;
}

/** Writes all of `bytes` with blocking writes. */
function writeAllSync(file: Deno.FsFile, bytes: Uint8Array): void {
  while (bytes.length > 0) bytes = bytes.subarray(file.writeSync(bytes));
}
