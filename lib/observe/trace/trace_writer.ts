/**
 * Writes a Chrome Trace Event Format file (for ui.perfetto.dev or
 * chrome://tracing) as the server runs: one complete event per increment, on
 * the thread (lane) of the Worker that ran it. The lines are `trace_format.ts`'s;
 * the file and its bounds, `bounded_file_writer.ts`'s.
 *
 * A file cut off anywhere (a `SIGKILL`, a power cut) still opens, missing at
 * most the last line and what was not yet written, which is never more than
 * {@linkcode TRACE_FLUSH_MS} old.
 *
 * @module
 */
import type { ServerEvent } from "../../server/server_events.ts";
import { BoundedFileWriter } from "./bounded_file_writer.ts";
import { TRACE_END, TRACE_HEADER, TraceLines } from "./trace_format.ts";
import {
  TRACE_FLUSH_MS,
  TRACE_MAX_MB,
  TRACE_MEMORY_BYTES,
  TRACE_MIN_BYTES,
} from "../../defaults/defaults.ts";

/** Room kept under `maxBytes` for the last notices and the closing `]`. */
const CLOSING_RESERVE_BYTES = 1024;
/** Room kept for the line that records a run of drops (its text is about 200 chars). */
const DROPPED_NOTICE_CHARS = 256;

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
}

/** A size for people: `256 MiB`, `0.01 MiB`. */
function mebibytes(bytes: number): string {
  return `${Number((bytes / 1024 / 1024).toPrecision(3))} MiB`;
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
  /** Opened by {@linkcode TraceWriter.open}, which alone makes writers. */
  #file!: BoundedFileWriter;
  #lines: TraceLines;
  #laneName: (index: number) => string;
  #maxBytes: number;
  #onDropped?: (count: number) => void;
  #onStopped?: (reason: string) => void;

  /** Lanes named in the file, and the names asked for so far. */
  #lanes = new Set<number>();
  #laneNames = new Map<number, string>();
  #events = 0;
  #dropped = 0;
  #droppedRun = 0;
  #droppedUnreported = 0;
  #droppedReportedAt = -Infinity;
  /** No more events are taken; the closing `]` is held. */
  #stopped = false;
  #ended = false;
  #closed?: Promise<number>;

  private constructor(options: TraceWriterOptions & { maxBytes: number }) {
    this.#lines = new TraceLines();
    this.#laneName = options.laneName ?? ((index) => `worker ${index}`);
    this.#maxBytes = options.maxBytes;
    this.#onDropped = options.onDropped;
    this.#onStopped = options.onStopped;
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
    const {
      maxBytes = TRACE_MAX_MB * 1024 * 1024,
      maxMemoryBytes = TRACE_MEMORY_BYTES,
      flushMs = TRACE_FLUSH_MS,
      workers = 0,
    } = options;
    if (!(maxBytes >= TRACE_MIN_BYTES)) {
      throw new RangeError(
        `'maxBytes' must be at least ${TRACE_MIN_BYTES} (or Infinity): received ${maxBytes}`,
      );
    }
    const writer = new TraceWriter({ ...options, maxBytes });
    writer.#file = await BoundedFileWriter.open(path, {
      maxBytes,
      maxMemoryBytes,
      flushMs,
      onFailed: (error) => writer.#fail(error),
    });
    writer.#file.write(TRACE_HEADER);
    for (let index = 0; index < workers; index++) {
      writer.#lanes.add(index);
      writer.#file.write(writer.#laneLines(index));
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
    return this.#file.heldBytes;
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
      const increment = this.#lines.increment(event);
      const known = this.#lanes.has(event.worker);
      if (!this.#admit(known ? increment : this.#laneLines(event.worker) + increment)) return;
      if (!known) this.#lanes.add(event.worker);
      this.#events++;
    } else if (event.type === "counting") {
      this.#admit(this.#lines.requestStart(event));
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
    await this.#file.close();
    return this.#events;
  }

  /**
   * Ends the file synchronously, for a forced exit (`Deno.exit` right after):
   * writes what is held and the closing `]`, blocking until the disk takes
   * them, complete even with a write under way or a `close()` still writing
   * (see {@linkcode BoundedFileWriter.closeNow}). `close()` after it resolves
   * once the write under way lands (that is how a test, or a server that lives
   * on, releases the file); `closeNow()` after `close()` has resolved does nothing.
   *
   * @returns The number of increments in the file.
   * @throws The error of the last write, if the disk refuses it.
   */
  closeNow(): number {
    if (this.#file.closed) return this.#events;
    this.#finish();
    this.#file.closeNow();
    this.#closed ??= this.#end();
    this.#closed.catch(() => {});
    return this.#events;
  }

  /** Stops taking events and holds the last notice and the closing `]` (once). */
  #finish(): void {
    this.#stopped = true;
    if (this.#ended) return;
    this.#ended = true;
    this.#takeDroppedNotice(this.#droppedNotice());
    this.#reportDropped(true);
    this.#file.write(TRACE_END);
  }

  /** The two metadata lines that name lane `index`, asking its name once. */
  #laneLines(index: number): string {
    let name = this.#laneNames.get(index);
    if (name === undefined) this.#laneNames.set(index, name = this.#laneName(index));
    return this.#lines.lane(index, name);
  }

  /**
   * Takes `text` in if it fits under the caps: the file's (else tracing stops),
   * then memory's (else it is dropped and counted).
   */
  #admit(text: string): boolean {
    // Room is checked before the notice of a run of drops is built: while the disk falls
    // behind, every increment comes here to be dropped.
    const chars = text.length + (this.#droppedRun > 0 ? DROPPED_NOTICE_CHARS : 0);
    if (!this.#file.fitsFile(chars + CLOSING_RESERVE_BYTES)) {
      this.#stop(
        `the trace reached its size cap of ${mebibytes(this.#maxBytes)} ` +
          `(--trace-max-mb) with ${this.#events} increments; tracing stopped there and the file ` +
          "is complete. To trace more, raise --trace-max-mb.",
      );
      return false;
    }
    if (!this.#file.fitsMemory(chars)) {
      this.#dropped++;
      this.#droppedRun++;
      return false;
    }
    this.#takeDroppedNotice(this.#droppedNotice());
    this.#file.write(text);
    return true;
  }

  /** Takes in the notice of the run of drops that just ended, and reports it. */
  #takeDroppedNotice(notice: string): void {
    if (notice === "") return;
    this.#droppedUnreported += this.#droppedRun;
    this.#droppedRun = 0;
    this.#file.write(notice);
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
    return this.#lines.notice(`${count} events dropped: the disk could not keep up`, {
      dropped: count,
      droppedSoFar: this.#dropped,
    });
  }

  /** Stops tracing early, once: notes why in the file and ends it. */
  #stop(reason: string): void {
    if (this.#stopped) return;
    this.#file.write(this.#lines.notice("trace stopped", { reason }));
    this.#finish();
    this.#file.flush();
    this.#onStopped?.(reason);
  }

  /** A write failed: tracing stops, and `close()` will throw the error. */
  #fail(error: unknown): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#onStopped?.(
      `writing the trace failed (${(error as Error)?.message ?? error}); tracing stopped. ` +
        "Free some disk space or trace to another file.",
    );
  }
}
