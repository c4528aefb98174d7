/**
 * Writes a Chrome Trace Event Format file (for ui.perfetto.dev or
 * chrome://tracing) as the server runs: one complete event per increment, on
 * the thread (lane) of the Worker that ran it.
 *
 * The file is in the JSON Array Format, one event a line:
 *
 * ```text
 * [
 * {"name":"process_name",…}
 * ,{"name":"thread_name",…}
 * ,{"name":"R1#1","ph":"X",…}
 * ]
 * ```
 *
 * The format allows the closing `]` to be missing, and Perfetto reads event
 * after event, so a file cut off anywhere (a `SIGKILL`, a power cut) still
 * opens: what is lost is the last line at most, and whatever was not yet
 * written, which is never more than {@linkcode TRACE_FLUSH_MS} old. Writes
 * hold whole lines, so a file cut between two writes also opens in
 * chrome://tracing, which appends the `]` itself. Each comma opens a line
 * rather than ending one, so the complete lines and a `]` are valid JSON.
 *
 * @module
 */
import { TRACE_MAX_MB } from "../../constCS.ts";
import type { ServerEvent } from "../server/server_events.ts";
import { writeAll } from "../wire/write_all.ts";

/**
 * Milliseconds between writes of what the trace holds: a trace cut off by a
 * `SIGKILL` misses at most this much (plus one write's time), well under the
 * second that Perfetto users can lose.
 */
export const TRACE_FLUSH_MS = 250;

/**
 * Most bytes of trace text held in memory, waiting for or in a write. When the
 * disk cannot keep up, events beyond this are dropped and counted (the
 * server is never slowed by its trace). 16 MiB is about 90 000 increments,
 * 0.2 s of the fastest run (`--iterations-per-unit 0`), which then loses none
 * on this machine; with 4 MiB it lost 5 % of them while the event loop was busy.
 */
export const TRACE_MEMORY_BYTES = 16 * 1024 * 1024;

/** A write starts as soon as this much is held, without waiting for the timer. */
const WRITE_CHUNK_BYTES = 64 * 1024;

/** Room kept under `maxBytes` for the last notices and the closing `]`. */
const CLOSING_RESERVE_BYTES = 1024;
/** Room kept for the line that records a run of drops (its text is about 200 chars). */
const DROPPED_NOTICE_CHARS = 256;

/** The smallest `maxBytes`: the header, a few increments and the closing reserve. */
export const TRACE_MIN_BYTES = 4096;

/** Largest `|value|` written as a number; larger values are left out (see `hear`). */
const MAX_EXACT_VALUE = BigInt(Number.MAX_SAFE_INTEGER);

/** Options of {@linkcode TraceWriter.open}. */
export interface TraceWriterOptions {
  /**
   * Lanes named as the file opens, `0 … workers-1`, so that idle Workers show
   * too. Any other lane is named the first time an increment runs on it.
   */
  workers?: number;
  /**
   * Names lane `index` (a Worker; thread id `index + 1`) in the trace, e.g.
   * `node-a/worker 1`. Called once per lane, the first time it appears.
   * Defaults to `worker <index>`.
   */
  laneName?: (index: number) => string;
  /**
   * Largest file, in bytes: once the next increment would not fit, the writer
   * adds a notice that says so, ends the JSON and traces nothing more (the
   * file stays valid). Defaults to {@linkcode TRACE_MAX_MB} MiB; at least
   * {@linkcode TRACE_MIN_BYTES}; `Infinity` for no cap.
   */
  maxBytes?: number;
  /**
   * Most bytes held in memory (see {@linkcode TRACE_MEMORY_BYTES}, the default):
   * past it, events are dropped, counted in {@linkcode TraceWriter.dropped},
   * recorded in the file once writes catch up, and reported to `onDropped`.
   */
  maxMemoryBytes?: number;
  /** Milliseconds between writes, at most 1000; defaults to {@linkcode TRACE_FLUSH_MS}. */
  flushMs?: number;
  /**
   * Hears that `count` events (increments, request starts) were dropped
   * because the disk could not keep up (each run of drops is recorded in the
   * file as it ends): at most once a second, and once more on close, so a log
   * line per call stays quiet.
   */
  onDropped?: (count: number) => void;
  /**
   * Hears, once, that tracing stopped before `close()`: the file reached
   * `maxBytes`, or a write failed. `reason` is a sentence for the log.
   */
  onStopped?: (reason: string) => void;
  /** Hears each write land on disk, with the file's size so far in bytes. */
  onWritten?: (fileBytes: number) => void;
}

const encoder = new TextEncoder();

/** One complete event a line, each after the first opened by a comma. */
function line(event: string): string {
  return `,${event}\n`;
}

/** A size for people: `256 MiB`, `0.01 MiB`. */
function mebibytes(bytes: number): string {
  return `${Number((bytes / 1024 / 1024).toPrecision(3))} MiB`;
}

/** A number for a trace, shortened when long (one conversion per request, never per increment). */
function shortNumber(text: string): string {
  const digits = text.replace("-", "").length;
  return digits <= 24 ? text : `${text.slice(0, 12)}…${text.slice(-8)} (${digits} digits)`;
}

/**
 * Streams a trace file as the server runs, with bounded memory, at least every
 * {@linkcode TRACE_FLUSH_MS}, up to a size cap; {@linkcode TraceWriter.close}
 * (or, on a forced exit, {@linkcode TraceWriter.closeNow}) ends the JSON.
 *
 * Increments go on lane `worker + 1`; each request's start goes once, as an
 * instant event on the process when its counting begins, so an increment's
 * value is `start + done` and no big number is turned into text per increment.
 *
 * @example
 * ```ts
 * import { TraceWriter } from "./trace_writer.ts";
 * import assert from "node:assert/strict";
 *
 * const path = await Deno.makeTempFile({ suffix: ".json" });
 * const trace = await TraceWriter.open(path, { workers: 1 });
 * trace.hear({
 *   type: "task-done", at: 2, conn: "127.0.0.1:5000", request: "R1", task: "R1#1", worker: 0,
 *   units: 3, startedAt: 1, endedAt: 2, value: 11n, done: 1, total: 1,
 * });
 * assert.equal(await trace.close(), 1);
 * const events = JSON.parse(await Deno.readTextFile(path));
 * assert.deepEqual(events.filter((e: { ph: string }) => e.ph === "X").map((e: { name: string }) => e.name), ["R1#1"]);
 * await Deno.remove(path);
 * ```
 */
export class TraceWriter {
  #file: Deno.FsFile;
  #path: string | URL;
  #origin: number;
  #laneName: (index: number) => string;
  #maxBytes: number;
  #maxMemoryBytes: number;
  #onDropped?: (count: number) => void;
  #onStopped?: (reason: string) => void;
  #onWritten?: (fileBytes: number) => void;
  #timer: ReturnType<typeof setInterval>;

  /** Lanes named in the file, and the names asked for so far. */
  #lanes = new Set<number>();
  #laneNames = new Map<number, string>();
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

  #events = 0;
  #dropped = 0;
  #droppedRun = 0;
  #droppedUnreported = 0;
  #droppedReportedAt = -Infinity;
  /** No more events are taken; the closing `]` is held. */
  #stopped = false;
  #ended = false;
  #failure: unknown;
  #closed?: Promise<number>;
  #fileClosed = false;

  private constructor(file: Deno.FsFile, path: string | URL, options: TraceWriterOptions) {
    this.#file = file;
    this.#path = path;
    this.#origin = Date.now();
    this.#laneName = options.laneName ?? ((index) => `worker ${index}`);
    this.#maxBytes = options.maxBytes ?? TRACE_MAX_MB * 1024 * 1024;
    this.#maxMemoryBytes = options.maxMemoryBytes ?? TRACE_MEMORY_BYTES;
    this.#onDropped = options.onDropped;
    this.#onStopped = options.onStopped;
    this.#onWritten = options.onWritten;
    this.#timer = setInterval(() => this.#flush(), options.flushMs ?? TRACE_FLUSH_MS);
    Deno.unrefTimer(this.#timer);
  }

  /**
   * Creates (or truncates) the trace file and writes its header.
   *
   * @param path Where to write.
   * @param options Lanes, caps and callbacks; see {@linkcode TraceWriterOptions}.
   * @returns The writer; its timer does not keep the process alive.
   * @throws {RangeError} When `maxBytes`, `maxMemoryBytes` or `flushMs` is out of range.
   * @throws {Deno.errors.NotCapable} Without write permission for `path`.
   */
  static async open(path: string | URL, options: TraceWriterOptions = {}): Promise<TraceWriter> {
    const { maxBytes, maxMemoryBytes, flushMs = TRACE_FLUSH_MS, workers = 0 } = options;
    if (maxBytes !== undefined && !(maxBytes >= TRACE_MIN_BYTES)) {
      throw new RangeError(
        `'maxBytes' must be at least ${TRACE_MIN_BYTES} (or Infinity): received ${maxBytes}`,
      );
    }
    if (maxMemoryBytes !== undefined && !(maxMemoryBytes > 0)) {
      throw new RangeError(`'maxMemoryBytes' must be positive: received ${maxMemoryBytes}`);
    }
    if (!(flushMs > 0 && flushMs <= 1000)) {
      throw new RangeError(`'flushMs' must be in (0, 1000]: received ${flushMs}`);
    }
    const file = await Deno.open(path, { write: true, create: true, truncate: true });
    const writer = new TraceWriter(file, path, options);
    const header = "[\n" +
      JSON.stringify({
        name: "process_name",
        ph: "M",
        pid: 1,
        tid: 0,
        args: { name: "threadcount server" },
      }) +
      "\n";
    writer.#take(header);
    for (let index = 0; index < workers; index++) {
      writer.#lanes.add(index);
      writer.#take(writer.#laneLines(index));
    }
    return writer;
  }

  /**
   * Whether {@linkcode TraceWriter.hear} still takes events: false once the
   * trace reached `maxBytes`, a write failed, or it was closed. Subscribe with
   * `{ tasks: () => trace.active }` and a stopped trace costs nothing per increment.
   */
  get active(): boolean {
    return !this.#stopped;
  }

  /** Increments in the file (taken in, written or about to be). */
  get events(): number {
    return this.#events;
  }

  /**
   * Bytes of trace text in memory now, waiting for or in a write: never more
   * than `maxMemoryBytes` (plus the last notices), however slow the disk.
   */
  get heldBytes(): number {
    return this.#pendingChars + this.#queuedBytes + (this.#inFlight?.length ?? 0);
  }

  /** Events (increments, request starts) dropped because the disk could not keep up. */
  get dropped(): number {
    return this.#dropped;
  }

  /**
   * Takes in a server event: a `task-done` becomes one complete event on its
   * Worker's lane (with the counter's `value` only while it is a safe integer:
   * the request's start, recorded once, and `done` give it otherwise); a
   * `counting` becomes one instant event with the request's start. Others are
   * ignored, and so is everything once the writer has stopped or closed.
   *
   * @param event The event.
   */
  hear(event: ServerEvent): void {
    if (this.#stopped) return;
    if (event.type === "task-done") {
      const value = event.value >= -MAX_EXACT_VALUE && event.value <= MAX_EXACT_VALUE
        ? `,"value":${Number(event.value)}`
        : "";
      const increment = line(
        `{"name":${JSON.stringify(event.task)},"cat":"increment","ph":"X",` +
          `"ts":${Math.round((event.startedAt - this.#origin) * 1000)},` +
          `"dur":${Math.max(1, Math.round((event.endedAt - event.startedAt) * 1000))},` +
          `"pid":1,"tid":${event.worker + 1},"args":{"conn":${JSON.stringify(event.conn)},` +
          `"request":${JSON.stringify(event.request)},"units":${event.units},` +
          `"done":${event.done},"total":${event.total}${value}}}`,
      );
      const known = this.#lanes.has(event.worker);
      if (!this.#admit(known ? increment : this.#laneLines(event.worker) + increment)) return;
      if (!known) this.#lanes.add(event.worker);
      this.#events++;
    } else if (event.type === "counting") {
      const start = String(event.start);
      this.#admit(line(JSON.stringify({
        name: `${event.request}: ${event.increments} increments from ${shortNumber(start)}`,
        cat: "request",
        ph: "i",
        s: "p",
        ts: Math.round((event.at - this.#origin) * 1000),
        pid: 1,
        tid: 0,
        args: { conn: event.conn, request: event.request, start, increments: event.increments },
      })));
    }
  }

  /**
   * Writes what is held, ends the JSON and closes the file.
   *
   * @returns The number of increments in the file.
   * @throws The first write error, if a write failed.
   */
  close(): Promise<number> {
    this.#closed ??= this.#end();
    return this.#closed;
  }

  async #end(): Promise<number> {
    this.#finish();
    this.#flush();
    while (this.#writing) await this.#writing;
    if (!this.#fileClosed) {
      this.#fileClosed = true;
      this.#file.close();
    }
    if (this.#failure) throw this.#failure;
    return this.#events;
  }

  /**
   * Ends the file synchronously, for a forced exit (`Deno.exit` right after):
   * writes what is held and the closing `]`, blocking until the disk takes
   * them. A write still under way is written again, at its place, through a
   * second handle, so the file is complete whichever lands last; this holds
   * too while a `close()` is still writing. `close()` after it resolves once
   * the write under way lands (that is how a test, or a server that lives on,
   * releases the file); `closeNow()` after `close()` has resolved does nothing.
   *
   * @returns The number of increments in the file.
   * @throws The error of the last write, if the disk refuses it.
   */
  closeNow(): number {
    if (this.#fileClosed) return this.#events;
    this.#finish();
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
    // A write under way still lands (the same bytes); then the file is closed.
    this.#closed ??= this.#end();
    this.#closed.catch(() => {});
    return this.#events;
  }

  /** Stops taking events and holds the last notice and the closing `]` (once). */
  #finish(): void {
    clearInterval(this.#timer);
    this.#stopped = true;
    if (this.#ended) return;
    this.#ended = true;
    this.#takeDroppedNotice(this.#droppedNotice());
    this.#reportDropped(true);
    this.#take("]\n");
  }

  /** The two metadata lines that name lane `index` (thread `index + 1`). */
  #laneLines(index: number): string {
    let name = this.#laneNames.get(index);
    if (name === undefined) this.#laneNames.set(index, name = this.#laneName(index));
    const tid = index + 1;
    return line(
      `{"name":"thread_name","ph":"M","pid":1,"tid":${tid},"args":{"name":${
        JSON.stringify(name)
      }}}`,
    ) +
      line(
        `{"name":"thread_sort_index","ph":"M","pid":1,"tid":${tid},"args":{"sort_index":${index}}}`,
      );
  }

  /**
   * Takes `text` in if it fits under the caps: the file's (else tracing stops),
   * then memory's (else it is dropped and counted).
   */
  #admit(text: string): boolean {
    // While the disk falls behind every increment is dropped here: check for room first, and
    // build the notice of the drops only once there is (it is at most a few hundred chars).
    const chars = text.length + (this.#droppedRun > 0 ? DROPPED_NOTICE_CHARS : 0);
    if (this.#acceptedBytes + chars + CLOSING_RESERVE_BYTES > this.#maxBytes) {
      this.#stop(
        `the trace reached its size cap of ${mebibytes(this.#maxBytes)} ` +
          `(--trace-max-mb) with ${this.#events} increments; tracing stopped there and the file ` +
          "is complete. To trace more, raise --trace-max-mb.",
      );
      return false;
    }
    if (this.heldBytes + chars > this.#maxMemoryBytes) {
      this.#dropped++;
      this.#droppedRun++;
      return false;
    }
    this.#takeDroppedNotice(this.#droppedNotice());
    this.#take(text);
    return true;
  }

  /** Takes in the notice of the run of drops that just ended, and reports it. */
  #takeDroppedNotice(notice: string): void {
    if (notice === "") return;
    this.#droppedUnreported += this.#droppedRun;
    this.#droppedRun = 0;
    this.#take(notice);
    this.#reportDropped(false);
  }

  /** Tells `onDropped` what was dropped since it last heard, at most once a second (or `now`). */
  #reportDropped(now: boolean): void {
    const at = Date.now();
    if (this.#droppedUnreported === 0 || (!now && at - this.#droppedReportedAt < 1000)) return;
    const count = this.#droppedUnreported;
    this.#droppedUnreported = 0;
    this.#droppedReportedAt = at;
    this.#onDropped?.(count);
  }

  /** The line that records the current run of drops; "" if there is none. */
  #droppedNotice(): string {
    const count = this.#droppedRun;
    if (count === 0) return "";
    return this.#notice(`${count} events dropped: the disk could not keep up`, {
      dropped: count,
      droppedSoFar: this.#dropped,
    });
  }

  /** A global instant event about the trace itself, as one line of the file. */
  #notice(name: string, args: Record<string, unknown>): string {
    return line(JSON.stringify({
      name,
      cat: "trace",
      ph: "i",
      s: "g",
      ts: Math.round((Date.now() - this.#origin) * 1000),
      pid: 1,
      tid: 0,
      args,
    }));
  }

  /** Stops tracing early, once: notes why in the file and ends it. */
  #stop(reason: string): void {
    if (this.#stopped) return;
    this.#take(this.#notice("trace stopped", { reason }));
    this.#finish();
    this.#flush();
    this.#onStopped?.(reason);
  }

  #take(text: string): void {
    this.#pending.push(text);
    this.#pendingChars += text.length;
    this.#acceptedBytes += text.length;
    if (this.#pendingChars >= WRITE_CHUNK_BYTES) this.#flush();
  }

  /**
   * Encodes the text held into a chunk for the write queue. Bytes live outside
   * the JavaScript heap, so a backlog costs the garbage collector nothing: with
   * text it would be copied at every young-generation collection, and those come
   * faster the bigger the request's numbers are.
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

  /** Queues what is held and starts writing the queue, unless a write is under way. */
  #flush(): void {
    this.#seal();
    if (this.#writing || this.#queue.length === 0 || this.#failure) return;
    this.#writing = this.#drain();
  }

  /**
   * Writes the queue until it is empty, all that is queued in one write: on a
   * busy event loop a write's completion waits its turn, so one write per turn
   * must carry everything held, not one chunk.
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
      this.#onWritten?.(this.#fileBytes);
    }
    this.#writing = undefined;
  }

  /** A write failed: tracing stops, and `close()` will throw the error. */
  #fail(error: unknown): void {
    this.#failure = error;
    this.#pending = [];
    this.#pendingChars = 0;
    this.#queue = [];
    this.#queuedBytes = 0;
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#onStopped?.(
      `writing the trace failed (${(error as Error)?.message ?? error}); tracing stopped. ` +
        "Free some disk space or trace to another file.",
    );
  }
}

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
