/**
 * The event streams of the dashboard's open pages: at most a bounded number,
 * each with a bounded queue of messages it has not taken yet, and a page that
 * stops reading is dropped rather than buffered for.
 *
 * @module
 */
import {
  DASHBOARD_MAX_PAGES,
  DASHBOARD_STREAM_MAX_QUEUED_BYTES,
  DASHBOARD_STREAM_STALL_MS,
} from "../../defaults/defaults.ts";

/** Options of {@linkcode PageStreams}. */
export interface PageStreamsOptions {
  /** Pages open at once. Defaults to {@linkcode DASHBOARD_MAX_PAGES}. */
  maxPages?: number;
  /** Bytes a page may leave untaken. Defaults to {@linkcode DASHBOARD_STREAM_MAX_QUEUED_BYTES}. */
  maxQueuedBytes?: number;
  /** How long a message may wait untaken, in ms. Defaults to {@linkcode DASHBOARD_STREAM_STALL_MS}. */
  stallMs?: number;
}

/** Why a page was dropped: it left too many bytes, or a message too long, untaken. */
export class SlowPageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SlowPageError";
  }
}

interface Page {
  controller: ReadableStreamDefaultController<Uint8Array>;
  /** Messages not taken yet, with when each was queued (ms since the epoch). */
  queue: { bytes: Uint8Array; at: number }[];
  queuedBytes: number;
  /** Whether the reader waits for the next message: it goes to it at once. */
  pulling: boolean;
}

/**
 * The open pages' streams. A stream is pulled by whoever sends it on (Deno's
 * HTTP server, as the socket takes bytes): a message goes to it when it asks,
 * and waits in the page's queue until then. The messages are shared between
 * pages, never copied. A page whose queue passes `maxQueuedBytes`, or whose
 * oldest message has waited `stallMs`, is dropped: its stream errors, which
 * closes its connection (a browser's `EventSource` reconnects by itself and
 * gets a fresh snapshot).
 *
 * @example
 * ```ts
 * import { PageStreams } from "./page_streams.ts";
 * import assert from "node:assert/strict";
 *
 * const pages = new PageStreams({ maxPages: 1 });
 * const stream = pages.open(new TextEncoder().encode("first\n"), 0);
 * assert.ok(stream);
 * assert.equal(pages.open(new Uint8Array(1), 0), undefined, "one page at most");
 * pages.send(new TextEncoder().encode("second\n"), 1);
 * const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
 * assert.equal((await reader.read()).value, "first\n");
 * assert.equal((await reader.read()).value, "second\n");
 * await reader.cancel();
 * assert.equal(pages.size, 0);
 * ```
 */
export class PageStreams {
  #pages = new Set<Page>();
  #maxPages: number;
  #maxQueuedBytes: number;
  #stallMs: number;
  #dropped = 0;

  /**
   * @param options The bounds.
   * @throws {RangeError} When a bound is not a positive integer.
   */
  constructor(options: PageStreamsOptions = {}) {
    const {
      maxPages = DASHBOARD_MAX_PAGES,
      maxQueuedBytes = DASHBOARD_STREAM_MAX_QUEUED_BYTES,
      stallMs = DASHBOARD_STREAM_STALL_MS,
    } = options;
    for (const [name, value] of Object.entries({ maxPages, maxQueuedBytes, stallMs })) {
      if (!Number.isSafeInteger(value) || value < 1) {
        throw new RangeError(`'${name}' must be a positive integer: received ${value}`);
      }
    }
    this.#maxPages = maxPages;
    this.#maxQueuedBytes = maxQueuedBytes;
    this.#stallMs = stallMs;
  }

  /** Pages open now. */
  get size(): number {
    return this.#pages.size;
  }

  /** Pages that may be open at once. */
  get maxPages(): number {
    return this.#maxPages;
  }

  /** Pages dropped so far because they did not read. */
  get dropped(): number {
    return this.#dropped;
  }

  /**
   * Opens a page's stream, starting with `first`.
   *
   * @param first Its first message (the snapshot).
   * @param now Ms since the epoch.
   * @returns The stream, or `undefined` when `maxPages` are open.
   */
  open(first: Uint8Array, now: number): ReadableStream<Uint8Array> | undefined {
    if (this.#pages.size >= this.#maxPages) return undefined;
    // The stream calls `start` at once, in its constructor, and `pull` and `cancel` only
    // later: by then the page, which holds the stream's controller, is made.
    let controller: ReadableStreamDefaultController<Uint8Array> | undefined;
    const stream = new ReadableStream<Uint8Array>({
      start: (it) => void (controller = it),
      pull: () => {
        const next = page.queue.shift();
        if (!next) {
          page.pulling = true;
          return;
        }
        page.queuedBytes -= next.bytes.length;
        page.controller.enqueue(next.bytes);
      },
      cancel: () => void this.#pages.delete(page),
    }, { highWaterMark: 0 });
    if (!controller) throw new Error("unreachable: a ReadableStream starts in its constructor");
    const page: Page = {
      controller,
      queue: [{ bytes: first, at: now }],
      queuedBytes: first.length,
      pulling: false,
    };
    this.#pages.add(page);
    return stream;
  }

  /**
   * Sends a message to every page; drops the pages that left too much untaken.
   *
   * @param bytes The message.
   * @param now Ms since the epoch.
   */
  send(bytes: Uint8Array, now: number): void {
    for (const page of this.#pages) {
      if (page.pulling) {
        page.pulling = false;
        page.controller.enqueue(bytes);
        continue;
      }
      page.queue.push({ bytes, at: now });
      page.queuedBytes += bytes.length;
      if (page.queuedBytes > this.#maxQueuedBytes) {
        this.#drop(page, `it left more than ${this.#maxQueuedBytes} bytes unread`);
      } else if (now - page.queue[0].at >= this.#stallMs) {
        this.#drop(page, `it left a message unread for ${this.#stallMs} ms`);
      }
    }
  }

  /** Ends every page's stream, after the messages it has not taken yet. */
  close(): void {
    for (const page of this.#pages) {
      try {
        for (const { bytes } of page.queue) page.controller.enqueue(bytes);
        page.controller.close();
      } catch { /* the page already went */ }
    }
    this.#pages.clear();
  }

  #drop(page: Page, why: string): void {
    this.#pages.delete(page);
    this.#dropped++;
    page.queue = [];
    page.controller.error(new SlowPageError(`dashboard page dropped: ${why}`));
  }
}
