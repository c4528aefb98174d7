/**
 * What the live dashboard shows, gathered from server events and sent in
 * batches: the server is never slowed by more than a few updates a second.
 *
 * Hearing an event costs the same whatever the size of the numbers counted:
 * bigints are turned into text only when an update is taken, once for each
 * request that changed.
 *
 * @module
 */
import type { ServerEvent } from "../server/server_events.ts";
import { dropUndefined, type ServerStats } from "../server/server_options.ts";

/** Time the dashboard keeps finished bars for a page that connects, in ms. */
export const DASHBOARD_HISTORY_MS = 10_000;
/** Most finished bars kept for a page that connects. */
export const DASHBOARD_HISTORY_BARS = 4000;
/** Most bars in one update; the rest are counted as skipped. */
export const DASHBOARD_BARS_PER_UPDATE = 2000;
/** Finished requests the dashboard lists. */
export const DASHBOARD_FINISHED_KEPT = 20;
/** Waiting clients listed by name; the rest are counted. */
export const DASHBOARD_WAITING_LISTED = 50;
/**
 * How long a client's colour stays its own after it leaves, in ms: as long as
 * the longest window the page shows, so its bars never share a colour with a newcomer's.
 */
export const DASHBOARD_COLOUR_HOLD_MS = 60_000;
/** Colours in the palette; past them, a client also gets a pattern (its `cue`). */
export const DASHBOARD_PALETTE_SIZE = 10;
/** Numbers longer than this many characters are sent as their first and last digits. */
export const DASHBOARD_DIGITS_SHOWN = 20;

/**
 * A task a Worker ran, as the dashboard draws it, from the Worker's own clock:
 * `[task, worker, conn, startedAt, endedAt, units]`.
 */
export type TaskBar = [string, number, string, number, number, number];

/**
 * A client's colour: `[conn, colour, cue]`. `colour` indexes the palette; `cue`
 * is 0 while the palette lasts, then 1, 2, … (drawn as stripes with an outline).
 */
export type ClientColour = [string, number, number];

/** A request being counted, as the dashboard shows it. */
export interface RequestView {
  request: string;
  conn: string;
  /** The start, as text (long numbers shortened, see {@linkcode shortNumber}). */
  start: string;
  /** The counter now, as text. */
  value: string;
  /** `start + total`, the value it will reach, as text. */
  target: string;
  /** Increments applied. */
  done: number;
  /** Increments asked for. */
  total: number;
  /** When counting began, ms since the epoch. */
  startedAt: number;
}

/** A finished request: its result, or why it failed. */
export interface FinishedView {
  request: string;
  conn: string;
  start: string;
  total: number;
  /** The answer sent, as text; absent when the request failed. */
  result?: string;
  /** Why it failed; absent when it succeeded. */
  failed?: string;
  /** Time from the request to its end, in ms. */
  ms: number;
  endedAt: number;
}

/** One request's critical section, from the server's own count. */
export interface MutexView {
  request: string;
  conn: string;
  /** Critical sections entered. */
  sections: number;
  /** Sections that had to wait for the Mutex. */
  waited: number;
  /** Whether a section holds the Mutex now. */
  held: boolean;
}

/** Who holds the client slots (the Semaphore) and who waits for one. */
export interface ClientsView {
  /** One entry per slot: the client holding it, or null when it is free. */
  slots: (string | null)[];
  /** Waiting clients in line order, at most `DASHBOARD_WAITING_LISTED`. */
  waiting: string[];
  /** All waiting clients, listed or not. */
  waitingCount: number;
  /** The colour of every client on screen. */
  colours: ClientColour[];
}

/** The figures the dashboard shows. */
export interface DashboardStats extends ServerStats {
  tasks_per_s: number;
  /** Share of Worker time spent running tasks over the last second, 0 to 1. */
  utilisation: number;
}

/** The whole picture, sent to a page when it connects. */
export interface DashboardSnapshot {
  now: number;
  address: string;
  maxClients: number;
  /** The pool's lanes, one per Worker; `worker` numbers index it. */
  lanes: string[];
  /** Finished bars of the last `DASHBOARD_HISTORY_MS`, oldest first. */
  bars: TaskBar[];
  /** Tasks handed to each Worker and not yet done, by lane. */
  queued: number[];
  clients: ClientsView;
  requests: RequestView[];
  /** Present when the server reports its critical sections. */
  mutex?: MutexView[];
  finished: FinishedView[];
  stats: DashboardStats;
}

/** One batch of changes. Fields that did not change are left out. */
export interface DashboardUpdate {
  now: number;
  lanes?: string[];
  /** Tasks finished since the last update (at most `DASHBOARD_BARS_PER_UPDATE`). */
  bars: TaskBar[];
  /** Bars left out of this update because there were too many to draw. */
  skipped: number;
  queued: number[];
  clients?: ClientsView;
  /** Requests in flight that changed. */
  requests: RequestView[];
  /** Requests that ended since the last update (see `finished`). */
  ended: string[];
  mutex?: MutexView[];
  finished?: FinishedView[];
  stats: DashboardStats;
}

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

/** Options of {@linkcode DashboardFeed}. */
export interface DashboardFeedOptions {
  /** The server's address, shown in the header. */
  address: string;
  /** Client slots: the Semaphore's permits. */
  maxClients: number;
  /** The pool's lane names now; may grow. */
  lanes: () => readonly string[];
  /** The server's figures. */
  stats: () => ServerStats;
  /**
   * The requests the server has in flight, with their critical sections. The
   * dashboard forgets a request the server no longer has, and shows the Mutex from it.
   */
  requestsInFlight?: () => readonly RequestSection[];
  /** Defaults to {@linkcode DASHBOARD_HISTORY_MS}. */
  historyMs?: number;
  /** Defaults to {@linkcode DASHBOARD_HISTORY_BARS}. */
  historyBars?: number;
  /** Defaults to {@linkcode DASHBOARD_BARS_PER_UPDATE}. */
  barsPerUpdate?: number;
  /** Defaults to {@linkcode DASHBOARD_FINISHED_KEPT}. */
  finishedKept?: number;
  /** Defaults to {@linkcode DASHBOARD_WAITING_LISTED}. */
  waitingListed?: number;
  /** Defaults to {@linkcode DASHBOARD_COLOUR_HOLD_MS}. */
  colourHoldMs?: number;
  /** Defaults to {@linkcode DASHBOARD_PALETTE_SIZE}. */
  paletteSize?: number;
}

/**
 * A number as the dashboard shows it: whole when short, else its first and
 * last digits and how many there are.
 *
 * @param value The number.
 * @param maxChars Longest text shown whole; defaults to {@linkcode DASHBOARD_DIGITS_SHOWN}.
 * @returns The text.
 *
 * @example
 * ```ts
 * import { shortNumber } from "./dashboard_feed.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(shortNumber(12n), "12");
 * assert.equal(shortNumber(10n ** 40n, 10), "10000…00000 (41 digits)");
 * ```
 */
export function shortNumber(value: bigint, maxChars = DASHBOARD_DIGITS_SHOWN): string {
  const text = value.toString();
  if (text.length <= maxChars) return text;
  const digits = text.length - (value < 0n ? 1 : 0);
  const half = Math.max(1, Math.floor(maxChars / 2));
  return `${text.slice(0, half)}…${text.slice(-half)} (${digits} digits)`;
}

interface Client {
  state: "accepted" | "waiting" | "served";
  colour: number;
  cue: number;
  slot: number;
  /** Whether a bar of its tasks was sent: then its colour is on screen after it leaves. */
  drew: boolean;
}

interface Counting {
  request: string;
  conn: string;
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
 * Keeps the dashboard's picture up to date from server events, and hands out
 * snapshots and batched updates.
 *
 * @example
 * ```ts
 * import { DashboardFeed } from "./dashboard_feed.ts";
 * import assert from "node:assert/strict";
 *
 * const feed = new DashboardFeed({
 *   address: "127.0.0.1:1", maxClients: 2, lanes: () => ["worker 0"],
 *   stats: () => ({ clients_active: 0, clients_waiting: 0, workers: 1, workers_busy: 0,
 *     tasks_queued: 0, tasks_done: 0, requests_in_flight: 0, uptime_s: 0, tasks_in_flight: 0,
 *     tasks_discarded: 0, worker_restarts: 0, batches_sent: 0, requests: 0, accept_errors: 0,
 *     updates_lost: 0, workers_started: 1, worker_start_ms: 0 }),
 * });
 * feed.hear({ type: "accepted", at: 1, conn: "a", active: 0, waiting: 0 });
 * feed.hear({ type: "served", at: 1, conn: "a", active: 1, waiting: 0 });
 * assert.deepEqual(feed.snapshot().clients.slots, ["a", null]);
 * ```
 */
export class DashboardFeed {
  #options: Required<Omit<DashboardFeedOptions, "requestsInFlight">>;
  #requestsInFlight: DashboardFeedOptions["requestsInFlight"];
  #clients = new Map<string, Client>();
  /** Slot holders, by slot. */
  #slots: (string | null)[];
  /** Colour keys (`colour + cue × palette`) held by clients that left, until when. */
  #heldColours = new Map<number, { conn: string; until: number }>();
  #usedColours = new Set<number>();
  #clientsChanged = true;
  #counting = new Map<string, Counting>();
  #changed = new Set<Counting>();
  /** Requests dropped because the server no longer had them, until their end is heard. */
  #gone = new Map<string, Counting>();
  #ended: string[] = [];
  #finished: FinishedView[] = [];
  #finishedChanged = false;
  /** Finished bars kept for a page that connects, oldest first. */
  #history: TaskBar[] = [];
  #bars: TaskBar[] = [];
  #skipped = 0;
  /** Tasks handed to each Worker and not yet done. */
  #queued: number[] = [];
  #lanes: readonly string[] = [];
  /** Finished tasks per 100 ms over the last second, for the rate and utilisation. */
  #buckets = Array.from({ length: 10 }, () => ({ epoch: -1, count: 0, busyMs: 0 }));

  /**
   * @param options The server's shape, its figures and the bounds of what is kept.
   * @throws {RangeError} When a bound is not a positive integer.
   */
  constructor(options: DashboardFeedOptions) {
    const { requestsInFlight, ...rest } = options;
    this.#options = {
      historyMs: DASHBOARD_HISTORY_MS,
      historyBars: DASHBOARD_HISTORY_BARS,
      barsPerUpdate: DASHBOARD_BARS_PER_UPDATE,
      finishedKept: DASHBOARD_FINISHED_KEPT,
      waitingListed: DASHBOARD_WAITING_LISTED,
      colourHoldMs: DASHBOARD_COLOUR_HOLD_MS,
      paletteSize: DASHBOARD_PALETTE_SIZE,
      ...dropUndefined(rest),
      address: rest.address,
      maxClients: rest.maxClients,
      lanes: rest.lanes,
      stats: rest.stats,
    };
    for (
      const name of [
        "maxClients",
        "historyMs",
        "historyBars",
        "barsPerUpdate",
        "finishedKept",
        "waitingListed",
        "colourHoldMs",
        "paletteSize",
      ] as const
    ) {
      const value = this.#options[name];
      if (!Number.isSafeInteger(value) || value < 1) {
        throw new RangeError(`'${name}' must be a positive integer: received ${value}`);
      }
    }
    this.#requestsInFlight = requestsInFlight;
    this.#slots = Array(this.#options.maxClients).fill(null);
    this.#lanes = [...this.#options.lanes()];
    this.#queued = this.#lanes.map(() => 0);
  }

  /**
   * Takes in one server event. Costs the same whatever the size of its numbers.
   *
   * @param event The event.
   */
  hear(event: ServerEvent): void {
    switch (event.type) {
      case "task-queued": // handed to a Worker, not yet run: counted, never drawn as running
        this.#queue(event.task.slice(0, event.task.indexOf("#")), event.worker, 1);
        break;
      case "accepted":
        this.#admit(event.conn, event.at);
        break;
      case "waiting":
        this.#setState(event.conn, "waiting", event.at);
        break;
      case "served":
        this.#setState(event.conn, "served", event.at);
        break;
      case "turned-away":
      case "closed":
        this.#leave(event.conn, event.at);
        break;
      case "counting": {
        const startText = shortNumber(event.start);
        const counting: Counting = {
          request: event.request,
          conn: event.conn,
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
        break;
      }
      case "task-done": {
        this.#record(event.endedAt, event.endedAt - event.startedAt);
        if (this.#bars.length < this.#options.barsPerUpdate) {
          const client = this.#clients.get(event.conn);
          if (client) client.drew = true;
          this.#bars.push([
            event.task,
            event.worker,
            event.conn,
            event.startedAt,
            event.endedAt,
            event.units,
          ]);
        } else {
          this.#skipped++;
        }
        this.#queue(event.request, event.worker, -1);
        const counting = this.#counting.get(event.request);
        if (counting && event.done >= counting.done) {
          counting.done = event.done;
          counting.value = event.value; // kept as a bigint: text only when sent
          this.#changed.add(counting);
        }
        break;
      }
      case "result":
      case "request-failed":
        this.#end(
          event.request,
          event.at,
          event.type === "result"
            ? { result: shortNumber(event.value), ms: event.ms }
            : { failed: event.reason },
        );
        break;
      case "worker-replaced":
        // Its tasks go back to the pool's queue and are handed out again.
        for (const counting of this.#counting.values()) {
          this.#queue(counting.request, event.worker, -(counting.queued[event.worker] ?? 0));
        }
        break;
    }
  }

  /** The whole picture now. */
  snapshot(): DashboardSnapshot {
    const now = Date.now();
    this.#trimHistory(now);
    const mutex = this.#mutex();
    return {
      now,
      address: this.#options.address,
      maxClients: this.#options.maxClients,
      lanes: [...this.#lanes],
      bars: [...this.#history, ...this.#bars],
      queued: [...this.#queued],
      clients: this.#clientsView(now),
      requests: [...this.#counting.values()].map(view),
      ...(mutex ? { mutex } : {}),
      finished: [...this.#finished],
      stats: this.#stats(),
    };
  }

  /** The changes since the last call, then forgets them. */
  takeUpdate(): DashboardUpdate {
    const now = Date.now();
    const lanes = this.#options.lanes();
    const lanesChanged = lanes.length !== this.#lanes.length ||
      lanes.some((name, i) => name !== this.#lanes[i]);
    if (lanesChanged) this.#lanes = [...lanes];
    const mutex = this.#mutex();
    const update: DashboardUpdate = {
      now,
      ...(lanesChanged ? { lanes: [...lanes] } : {}),
      bars: this.#bars,
      skipped: this.#skipped,
      queued: [...this.#queued],
      ...(this.#clientsChanged ? { clients: this.#clientsView(now) } : {}),
      requests: [...this.#changed].map(view),
      ended: this.#ended,
      ...(mutex ? { mutex } : {}),
      ...(this.#finishedChanged ? { finished: [...this.#finished] } : {}),
      stats: this.#stats(),
    };
    for (const bar of this.#bars) this.#history.push(bar);
    this.#trimHistory(now);
    this.#bars = [];
    this.#skipped = 0;
    this.#changed.clear();
    this.#ended = [];
    this.#clientsChanged = false;
    this.#finishedChanged = false;
    return update;
  }

  #queue(request: string, worker: number, delta: number): void {
    if (delta === 0) return;
    const counting = this.#counting.get(request);
    // Tasks of a request that ended are no longer anyone's: they were already taken off.
    if (!counting) return;
    counting.queued[worker] = Math.max(0, (counting.queued[worker] ?? 0) + delta);
    while (this.#queued.length <= worker) this.#queued.push(0);
    this.#queued[worker] = Math.max(0, this.#queued[worker] + delta);
  }

  #end(request: string, at: number, outcome: { result: string; ms: number } | { failed: string }) {
    const counting = this.#counting.get(request);
    if (!counting) {
      const gone = this.#gone.get(request);
      if (!gone) return;
      this.#gone.delete(request);
      this.#list(gone, at, outcome);
      return;
    }
    this.#counting.delete(request);
    this.#changed.delete(counting);
    this.#unqueue(counting);
    this.#ended.push(request);
    this.#list(counting, at, outcome);
  }

  #unqueue(counting: Counting): void {
    for (const [worker, count] of counting.queued.entries()) {
      if (count) this.#queued[worker] = Math.max(0, this.#queued[worker] - count);
    }
    counting.queued = [];
  }

  #list(
    counting: Counting,
    at: number,
    outcome: { result: string; ms: number } | { failed: string },
  ): void {
    const { request } = counting;
    this.#finished.unshift({
      request,
      conn: counting.conn,
      start: counting.startText,
      total: counting.total,
      ms: at - counting.startedAt,
      endedAt: at,
      ...outcome,
    });
    this.#finished.length = Math.min(this.#finished.length, this.#options.finishedKept);
    this.#finishedChanged = true;
  }

  /** The Mutex of each request in flight; drops requests the server no longer has. */
  #mutex(): MutexView[] | undefined {
    if (!this.#requestsInFlight) return undefined;
    const inFlight = this.#requestsInFlight();
    const known = new Set<string>();
    const mutex: MutexView[] = [];
    for (const progress of inFlight) {
      known.add(progress.request);
      mutex.push({
        request: progress.request,
        conn: progress.conn,
        sections: progress.sections,
        waited: progress.sectionsWaited,
        held: progress.sectionHeld,
      });
    }
    // A request the server no longer has leaves the rows even if its end was never heard;
    // its end, if it comes, still lists it as finished.
    for (const counting of this.#counting.values()) {
      if (known.has(counting.request)) continue;
      this.#counting.delete(counting.request);
      this.#changed.delete(counting);
      this.#unqueue(counting);
      this.#ended.push(counting.request);
      this.#gone.set(counting.request, counting);
      if (this.#gone.size > this.#options.finishedKept) {
        this.#gone.delete(this.#gone.keys().next().value!);
      }
    }
    return mutex;
  }

  #admit(conn: string, at: number): void {
    if (this.#clients.has(conn)) return;
    const palette = this.#options.paletteSize;
    let key = 0;
    for (;; key++) {
      if (this.#usedColours.has(key)) continue;
      const held = this.#heldColours.get(key);
      if (held && held.until > at) continue;
      this.#heldColours.delete(key);
      break;
    }
    this.#usedColours.add(key);
    this.#clients.set(conn, {
      state: "accepted",
      colour: key % palette,
      cue: Math.floor(key / palette),
      slot: -1,
      drew: false,
    });
    this.#clientsChanged = true;
  }

  #setState(conn: string, state: "waiting" | "served", at: number): void {
    if (!this.#clients.has(conn)) this.#admit(conn, at);
    const client = this.#clients.get(conn)!;
    if (state === "served" && client.slot < 0) {
      client.slot = this.#slots.indexOf(null);
      if (client.slot >= 0) this.#slots[client.slot] = conn;
    }
    client.state = state;
    this.#clientsChanged = true;
  }

  #leave(conn: string, at: number): void {
    const client = this.#clients.get(conn);
    if (!client) return;
    this.#clients.delete(conn);
    if (client.slot >= 0) this.#slots[client.slot] = null;
    const key = client.colour + client.cue * this.#options.paletteSize;
    this.#usedColours.delete(key);
    // Its bars may still be on screen: keep its colour its own until they are gone. A client
    // that drew nothing (turned away, or gone before counting) frees its colour at once.
    if (client.drew) this.#heldColours.set(key, { conn, until: at + this.#options.colourHoldMs });
    this.#clientsChanged = true;
  }

  #clientsView(now: number): ClientsView {
    const waiting: string[] = [];
    let waitingCount = 0;
    const colours: ClientColour[] = [];
    const palette = this.#options.paletteSize;
    for (const [conn, client] of this.#clients) {
      colours.push([conn, client.colour, client.cue]);
      if (client.state !== "waiting") continue;
      if (waitingCount++ < this.#options.waitingListed) waiting.push(conn);
    }
    for (const [key, held] of this.#heldColours) {
      if (held.until <= now) this.#heldColours.delete(key);
      else colours.push([held.conn, key % palette, Math.floor(key / palette)]);
    }
    return { slots: [...this.#slots], waiting, waitingCount, colours };
  }

  #trimHistory(now: number): void {
    const from = now - this.#options.historyMs;
    let drop = Math.max(0, this.#history.length - this.#options.historyBars);
    while (drop < this.#history.length && this.#history[drop][4] < from) drop++;
    if (drop > 0) this.#history.splice(0, drop);
  }

  #record(at: number, busyMs: number): void {
    const epoch = Math.floor(at / 100);
    const bucket = this.#buckets[epoch % 10];
    if (bucket.epoch !== epoch) {
      bucket.epoch = epoch;
      bucket.count = 0;
      bucket.busyMs = 0;
    }
    bucket.count++;
    bucket.busyMs += busyMs;
  }

  #stats(): DashboardStats {
    const oldest = Math.floor(Date.now() / 100) - 9;
    let count = 0;
    let busyMs = 0;
    for (const bucket of this.#buckets) {
      if (bucket.epoch < oldest) continue;
      count += bucket.count;
      busyMs += bucket.busyMs;
    }
    return {
      ...this.#options.stats(),
      tasks_per_s: count,
      utilisation: Math.min(1, busyMs / (1000 * Math.max(1, this.#lanes.length))),
    };
  }
}

/** A request in flight as sent: its numbers turned into text here, once per update. */
function view(counting: Counting): RequestView {
  return {
    request: counting.request,
    conn: counting.conn,
    start: counting.startText,
    value: counting.done === 0 ? counting.startText : shortNumber(counting.value),
    target: counting.targetText,
    done: counting.done,
    total: counting.total,
    startedAt: counting.startedAt,
  };
}
