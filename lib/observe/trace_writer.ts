/**
 * Writes a Chrome Trace Event Format file (for ui.perfetto.dev or
 * chrome://tracing): one complete event per increment, on the thread of the
 * Worker that ran it.
 *
 * @module
 */
import type { ServerEvent } from "../server/server_events.ts";
import { writeAll } from "../wire/write_all.ts";

/** Options of {@linkcode TraceWriter.open}. */
export interface TraceWriterOptions {
  /** Workers of the server: each gets a named thread. */
  workers: number;
  /** Bytes held before a write. Defaults to 64 KiB. */
  bufferBytes?: number;
}

const encoder = new TextEncoder();

/**
 * Streams a trace file as the server runs: memory stays bounded however long
 * it runs, and {@linkcode TraceWriter.close} completes the file.
 *
 * @example
 * ```ts ignore
 * import { TraceWriter } from "./trace_writer.ts";
 *
 * const trace = await TraceWriter.open("traces/run.json", { workers: 2 });
 * server.events.subscribe((event) => trace.hear(event));
 * await server.finished;
 * await trace.close();
 * ```
 */
export class TraceWriter {
  #file: Deno.FsFile;
  #origin: number;
  #buffer: string[] = [];
  #bufferedChars = 0;
  #bufferBytes: number;
  #writing: Promise<void> = Promise.resolve();
  #failure: unknown;
  #events = 0;
  #closed?: Promise<number>;

  private constructor(file: Deno.FsFile, origin: number, bufferBytes: number) {
    this.#file = file;
    this.#origin = origin;
    this.#bufferBytes = bufferBytes;
  }

  /**
   * Creates (or truncates) the trace file and writes its header.
   *
   * @param path Where to write.
   * @param options The Workers to name.
   * @returns The writer.
   * @throws {Deno.errors.NotCapable} Without write permission for `path`.
   */
  static async open(path: string | URL, options: TraceWriterOptions): Promise<TraceWriter> {
    const file = await Deno.open(path, { write: true, create: true, truncate: true });
    const writer = new TraceWriter(file, Date.now(), options.bufferBytes ?? 64 * 1024);
    writer.#push(
      `{"displayTimeUnit":"ms","otherData":{"tool":"threadcount"},"traceEvents":[\n` +
        JSON.stringify({
          name: "process_name",
          ph: "M",
          pid: 1,
          tid: 0,
          args: { name: "threadcount server" },
        }),
    );
    for (let worker = 0; worker < options.workers; worker++) {
      writer.#push(
        `,\n${
          JSON.stringify({
            name: "thread_name",
            ph: "M",
            pid: 1,
            tid: worker + 1,
            args: { name: `worker ${worker}` },
          })
        }`,
      );
      writer.#push(
        `,\n${
          JSON.stringify({
            name: "thread_sort_index",
            ph: "M",
            pid: 1,
            tid: worker + 1,
            args: { sort_index: worker },
          })
        }`,
      );
    }
    return writer;
  }

  /** Increments written so far. */
  get events(): number {
    return this.#events;
  }

  /**
   * Takes in a server event; each `task-done` becomes one complete event.
   *
   * @param event The event.
   */
  hear(event: ServerEvent): void {
    if (event.type !== "task-done" || this.#closed) return;
    this.#events++;
    this.#push(
      `,\n${
        JSON.stringify({
          name: event.task,
          cat: "increment",
          ph: "X",
          ts: Math.round((event.startedAt - this.#origin) * 1000),
          dur: Math.max(1, Math.round((event.endedAt - event.startedAt) * 1000)),
          pid: 1,
          tid: event.worker + 1,
          args: {
            conn: event.conn,
            request: event.request,
            units: event.units,
            value: String(event.value),
            done: `${event.done}/${event.total}`,
          },
        })
      }`,
    );
  }

  /**
   * Writes what is held, ends the JSON and closes the file.
   *
   * @returns The number of increments in the file.
   * @throws The first write error, if any write failed.
   */
  close(): Promise<number> {
    this.#closed ??= (async () => {
      this.#push("\n]}\n");
      this.#flush();
      await this.#writing;
      this.#file.close();
      if (this.#failure) throw this.#failure;
      return this.#events;
    })();
    return this.#closed;
  }

  #push(text: string): void {
    this.#buffer.push(text);
    this.#bufferedChars += text.length;
    if (this.#bufferedChars >= this.#bufferBytes) this.#flush();
  }

  #flush(): void {
    if (this.#buffer.length === 0) return;
    const bytes = encoder.encode(this.#buffer.join(""));
    this.#buffer = [];
    this.#bufferedChars = 0;
    this.#writing = this.#writing.then(async () => {
      if (this.#failure) return;
      try {
        await writeAll(this.#file, bytes);
      } catch (error) {
        this.#failure = error;
      }
    });
  }
}
