/**
 * What the live dashboard sends its pages, as JSON: the whole picture when a
 * page connects ({@linkcode DashboardSnapshot}), then batches of changes
 * ({@linkcode DashboardUpdate}). The page's script reads these same types.
 *
 * @module
 */
import type { ServerStats } from "../../server/server_options.ts";

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
  /** The start, as text (long numbers shortened by `shortNumber`). */
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
