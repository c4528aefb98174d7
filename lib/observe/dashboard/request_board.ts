/**
 * The dashboard's picture of requests: those being counted (and their
 * Mutex), the tasks each has queued on each Worker, and the last ones finished.
 *
 * Hearing an event costs the same whatever the size of the numbers counted:
 * bigints are turned into text only when a view is taken, once for each
 * request that changed.
 *
 * @module
 */
import { DASHBOARD_FINISHED_KEPT, DASHBOARD_REQUESTS_LISTED } from "../../defaults/defaults.ts";
import type { ServerEvent } from "../../server/server_events.ts";
import type { CounterModel, FinishedView, MutexView, RequestView } from "./dashboard_views.ts";
import { shortNumber } from "./short_number.ts";

/** What the dashboard reads of a request in flight (the server's `RequestProgress`). */
export interface RequestSection {
  request: string;
  conn: string;
  /** Critical sections entered. */
  sections: number;
  /** Sections that had to wait for the Mutex. */
  sectionsWaited: number;
  /** Whether the Mutex is held now. */
  sectionHeld: boolean;
}

/** Options of {@linkcode RequestBoard}. */
export interface RequestBoardOptions {
  /** Workers in the pool at the start: queues are shown for each (more appear as used). */
  workers: number;
  /**
   * The requests the server has in flight, with their critical sections. The
   * board forgets a request the server no longer has, and shows the Mutex from it.
   */
  requestsInFlight?: () => readonly RequestSection[];
}

/** The changes since the last {@linkcode RequestBoard.takeChanges}. */
export interface RequestChanges {
  /** Listed requests that changed, or that joined the list. */
  requests: RequestView[];
  /** Listed requests that ended (or that the server no longer has). */
  ended: string[];
  /** The finished list, when it changed. */
  finished?: FinishedView[];
}

type Outcome = { result: string; ms: number; lost?: number } | { failed: string };

interface Counting {
  request: string;
  conn: string;
  colour: number;
  /** Whether a page was sent it: then its end is sent too. */
  listed: boolean;
  counter: CounterModel;
  start: bigint;
  startText: string;
  targetText: string;
  total: number;
  done: number;
  value: bigint;
  startedAt: number;
  /** Tasks handed to each Worker and not yet done. */
  queued: number[];
}

/**
 * Follows each request from `counting` to its end, as the server's events
 * tell it: lists the oldest {@linkcode DASHBOARD_REQUESTS_LISTED} in flight
 * (and counts the rest), and the last {@linkcode DASHBOARD_FINISHED_KEPT} finished.
 *
 * @example
 * ```ts
 * import { RequestBoard } from "./request_board.ts";
 * import assert from "node:assert/strict";
 *
 * const board = new RequestBoard({ workers: 1 });
 * board.begin({ type: "counting", at: 0, conn: "a", request: "R1", start: 5n, increments: 1 }, 0);
 * board.queue("R1", 0, 1);
 * assert.deepEqual(board.queued(), [1]);
 * board.end({ type: "result", at: 3, conn: "a", request: "R1", value: 6n, ms: 3 });
 * assert.deepEqual(board.queued(), [0]);
 * assert.deepEqual(board.takeChanges().finished?.map((f) => f.result), ["6"]);
 * ```
 */
export class RequestBoard {
  #requestsInFlight?: () => readonly RequestSection[];
  #counting = new Map<string, Counting>();
  #changed = new Set<Counting>();
  /** Requests dropped because the server no longer had them, until their end is heard. */
  #gone = new Map<string, Counting>();
  #ended: string[] = [];
  #finished: FinishedView[] = [];
  #finishedChanged = false;
  /** Tasks handed to each Worker and not yet done. */
  #queued: number[];

  /** @param options The pool's size and the server's requests in flight. */
  constructor(options: RequestBoardOptions) {
    this.#queued = Array(options.workers).fill(0);
    this.#requestsInFlight = options.requestsInFlight;
  }

  /**
   * A request's counting began.
   *
   * @param event Its `counting` event.
   * @param colour Its client's colour key.
   */
  begin(event: Extract<ServerEvent, { type: "counting" }>, colour: number): void {
    const startText = shortNumber(event.start);
    const counting: Counting = {
      request: event.request,
      conn: event.conn,
      colour,
      listed: false,
      counter: event.counter ?? "parallel",
      start: event.start,
      startText,
      targetText: shortNumber(event.start + BigInt(event.increments)),
      total: event.increments,
      done: 0,
      value: event.start,
      startedAt: event.at,
      queued: [],
    };
    this.#counting.set(event.request, counting);
    this.#changed.add(counting);
  }

  /**
   * Counts `delta` tasks of `request` into (or out of) `worker`'s queue.
   *
   * @param request The request.
   * @param worker The Worker's lane.
   * @param delta Tasks handed to it (positive) or taken off it (negative).
   */
  queue(request: string, worker: number, delta: number): void {
    if (delta === 0) return;
    const counting = this.#counting.get(request);
    // Tasks of a request that ended are no longer anyone's: they were already taken off.
    if (!counting) return;
    counting.queued[worker] = Math.max(0, (counting.queued[worker] ?? 0) + delta);
    while (this.#queued.length <= worker) this.#queued.push(0);
    this.#queued[worker] = Math.max(0, this.#queued[worker] + delta);
  }

  /**
   * A task of a request is done: off its Worker's queue, and the counter moves.
   *
   * @param event Its `task-done` event.
   */
  progress(event: Extract<ServerEvent, { type: "task-done" }>): void {
    this.queue(event.request, event.worker, -1);
    const counting = this.#counting.get(event.request);
    if (counting && event.done >= counting.done) {
      counting.done = event.done;
      counting.value = event.value; // kept as a bigint: text only when sent
      this.#changed.add(counting);
    }
  }

  /**
   * A Worker died: its tasks go back to the pool's queue and are handed out again.
   *
   * @param worker The Worker's lane.
   */
  workerReplaced(worker: number): void {
    for (const counting of this.#counting.values()) {
      this.queue(counting.request, worker, -(counting.queued[worker] ?? 0));
    }
  }

  /**
   * A request ended: it leaves the requests in flight and heads the finished list.
   *
   * @param event Its `result` or `request-failed` event.
   */
  end(event: Extract<ServerEvent, { type: "result" | "request-failed" }>): void {
    const outcome: Outcome = event.type === "result"
      ? {
        result: shortNumber(event.value),
        ms: event.ms,
        ...(event.updatesLost === undefined ? {} : { lost: event.updatesLost }),
      }
      : { failed: event.reason };
    const counting = this.#counting.get(event.request);
    if (!counting) {
      const gone = this.#gone.get(event.request);
      if (!gone) return;
      this.#gone.delete(event.request);
      this.#list(gone, event.at, outcome);
      return;
    }
    this.#drop(counting);
    this.#list(counting, event.at, outcome);
  }

  /**
   * The Mutex of each request in flight, as the server reports it; forgets
   * the requests it no longer has (their end, if it comes, still lists them).
   *
   * @returns The rows, or `undefined` when the server does not report them.
   */
  mutex(): MutexView[] | undefined {
    if (!this.#requestsInFlight) return undefined;
    const known = new Set<string>();
    const mutex: MutexView[] = [];
    for (const progress of this.#requestsInFlight()) {
      known.add(progress.request);
      if (mutex.length >= DASHBOARD_REQUESTS_LISTED) continue;
      mutex.push({
        request: progress.request,
        // As its request row names it: by the client's name once it gave one.
        conn: this.#counting.get(progress.request)?.conn ?? progress.conn,
        colour: this.#counting.get(progress.request)?.colour ?? -1,
        sections: progress.sections,
        waited: progress.sectionsWaited,
        held: progress.sectionHeld,
        ...guard(this.#counting.get(progress.request)),
      });
    }
    for (const counting of this.#counting.values()) {
      if (known.has(counting.request)) continue;
      this.#drop(counting);
      this.#gone.set(counting.request, counting);
      if (this.#gone.size > DASHBOARD_FINISHED_KEPT) {
        this.#gone.delete(this.#gone.keys().next().value!);
      }
    }
    return mutex;
  }

  /**
   * The colour key of a request in flight.
   *
   * @param request The request.
   * @returns Its client's colour key, or -1 when it is not in flight.
   */
  colourOf(request: string): number {
    return this.#counting.get(request)?.colour ?? -1;
  }

  /** Tasks handed to each Worker and not yet done, by lane. */
  queued(): number[] {
    return [...this.#queued];
  }

  /** The listed requests in flight (the oldest), from now on known to the pages. */
  requests(): RequestView[] {
    const views: RequestView[] = [];
    for (const counting of this.#counting.values()) {
      if (views.length >= DASHBOARD_REQUESTS_LISTED) break;
      counting.listed = true;
      views.push(view(counting));
    }
    return views;
  }

  /** Requests in flight that are not listed. */
  more(): number {
    return Math.max(0, this.#counting.size - DASHBOARD_REQUESTS_LISTED);
  }

  /** The last requests finished, newest first. */
  finished(): FinishedView[] {
    return [...this.#finished];
  }

  /**
   * What changed since the last call; then forgets it.
   *
   * @returns The changes.
   */
  takeChanges(): RequestChanges {
    const requests: RequestView[] = [];
    let listed = 0;
    for (const counting of this.#counting.values()) {
      if (listed++ >= DASHBOARD_REQUESTS_LISTED) break;
      if (counting.listed && !this.#changed.has(counting)) continue;
      counting.listed = true;
      requests.push(view(counting));
    }
    const changes: RequestChanges = {
      requests,
      ended: this.#ended,
      ...(this.#finishedChanged ? { finished: [...this.#finished] } : {}),
    };
    this.#changed.clear();
    this.#ended = [];
    this.#finishedChanged = false;
    return changes;
  }

  /** Takes a request out of those in flight, and its tasks off the queues. */
  #drop(counting: Counting): void {
    this.#counting.delete(counting.request);
    this.#changed.delete(counting);
    for (const [worker, count] of counting.queued.entries()) {
      if (count) this.#queued[worker] = Math.max(0, this.#queued[worker] - count);
    }
    counting.queued = [];
    if (counting.listed) this.#ended.push(counting.request);
  }

  #list(counting: Counting, at: number, outcome: Outcome): void {
    this.#finished.unshift({
      request: counting.request,
      conn: counting.conn,
      colour: counting.colour,
      start: counting.startText,
      total: counting.total,
      ms: at - counting.startedAt,
      endedAt: at,
      counter: counting.counter,
      ...outcome,
    });
    this.#finished.length = Math.min(this.#finished.length, DASHBOARD_FINISHED_KEPT);
    this.#finishedChanged = true;
  }
}

/** A request in flight as sent: its numbers turned into text here, once per view. */
function view(counting: Counting): RequestView {
  return {
    request: counting.request,
    conn: counting.conn,
    colour: counting.colour,
    start: counting.startText,
    value: counting.done === 0 ? counting.startText : shortNumber(counting.value),
    target: counting.targetText,
    done: counting.done,
    total: counting.total,
    startedAt: counting.startedAt,
    ...guard(counting),
  };
}

/**
 * What guards a request's counter, and for `racy` and `locked` the updates lost
 * so far: increments applied that the counter did not rise by.
 */
function guard(counting: Counting | undefined): { counter: CounterModel; lost?: number } {
  if (!counting || counting.counter === "parallel") return { counter: "parallel" };
  const lost = Math.max(0, counting.done - Number(counting.value - counting.start));
  return { counter: counting.counter, lost };
}
