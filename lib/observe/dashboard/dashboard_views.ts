/**
 * What the live dashboard sends its pages, as JSON over Server-Sent Events:
 * the whole picture when a page connects (`event: snapshot`,
 * {@linkcode DashboardSnapshot}), then the changes four times a second
 * (`event: update`, {@linkcode DashboardUpdate}). The page's script reads
 * these same types.
 *
 * The format, in three rules:
 * 1. Every message, the snapshot too, is at most `DASHBOARD_MESSAGE_BYTES`.
 *    Bars that do not fit are not dropped in silence: each lane gets a
 *    {@linkcode BarSummary} of those left out (how many, from when to when),
 *    which the page draws as one hatched block and counts.
 * 2. An update sets values by key (a bar by its task, a request by its id, a
 *    panel whole): applying it twice, or to a snapshot taken after some of its
 *    changes, gives the same picture. A page never needs the updates before its snapshot.
 * 3. Times of bars and summaries are in ms relative to the message's `now`
 *    (negative: before it), to a tenth of a ms.
 *
 * @module
 */
import type { ServerEvent } from "../../server/server_events.ts";
import type { ServerStats } from "../../server/server_options.ts";

/** A request's counter model, as the server's `counting` event names it (`lib/counter`). */
export type CounterModel = NonNullable<Extract<ServerEvent, { type: "counting" }>["counter"]>;

/**
 * A task a Worker ran, as the dashboard draws it, from the Worker's own clock:
 * `[task, lane, colour, startMs, endMs, units]`, times relative to the
 * message's `now`; `colour` is the client's colour key (-1: unknown).
 */
export type TaskBar = [string, number, number, number, number, number];

/**
 * An increment a Worker runs now: `[task, lane, colour, startMs]`, its start
 * relative to the message's `now`. The page draws it from its start up to now.
 */
export type RunningBar = [string, number, number, number];

/**
 * Bars of one lane left out of a message, because there were more than one
 * message carries: `[lane, count, fromMs, toMs, busy, colours]`, times
 * relative to the message's `now` (from the first start to the last end);
 * `busy` the share of the span they ran, in ‰ (the page draws their density);
 * `colours` the clients' shares of them, `[colour, percent]`, most first, at
 * most `DASHBOARD_SUMMARY_COLOURS` (the rest together under colour -1).
 */
export type BarSummary = [number, number, number, number, number, [number, number][]];

/**
 * A client and its colour: `[conn, colour]`. The colour's key is
 * `palette index + cue × palette size`; cue 0 is the plain colour, past it
 * the page draws stripes at an angle of the cue's own and an outline.
 */
export type ClientTag = [string, number];

/** A request being counted, as the dashboard shows it. */
export interface RequestView {
  request: string;
  conn: string;
  /** The client's colour key. */
  colour: number;
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
  /** How its counter is kept: the lesson it shows (`parallel` unless the client chose). */
  counter: CounterModel;
  /** `racy` and `locked`: updates lost so far (increments applied − counter's rise). */
  lost?: number;
}

/** A finished request: its result, or why it failed. */
export interface FinishedView {
  request: string;
  conn: string;
  colour: number;
  start: string;
  total: number;
  /** The answer sent, as text; absent when the request failed. */
  result?: string;
  /** Why it failed; absent when it succeeded. */
  failed?: string;
  /** Time from the request to its end, in ms. */
  ms: number;
  endedAt: number;
  /** How its counter was kept. */
  counter: CounterModel;
  /** `racy` and `locked`: updates lost (`increments − (result − start)`), from the server's count. */
  lost?: number;
}

/** One request's critical section, from the server's own count. */
export interface MutexView {
  request: string;
  conn: string;
  colour: number;
  /** Critical sections entered. */
  sections: number;
  /** Sections that had to wait for the Mutex. */
  waited: number;
  /** Whether a section holds the Mutex now. */
  held: boolean;
  /**
   * What guards its counter: `racy` nothing, `locked` a lock around each whole
   * increment (read, spin, write), `parallel` a Mutex around the update alone.
   */
  counter: CounterModel;
  /** `racy` and `locked`: updates lost so far. */
  lost?: number;
}

/** Who holds the client slots (the Semaphore) and who waits for one: sent whole. */
export interface ClientsView {
  /** The first `DASHBOARD_SLOTS_SHOWN` slots: the client holding each, or null when free. */
  slots: (ClientTag | null)[];
  /** All slots, shown or not. */
  slotCount: number;
  /** Slots taken, shown or not. */
  taken: number;
  /** Waiting clients in line order, at most `DASHBOARD_WAITING_LISTED`. */
  waiting: ClientTag[];
  /** All waiting clients, listed or not. */
  waitingCount: number;
}

/** The pool's lanes: the first `DASHBOARD_LANES_SHOWN` by name, and how many there are. */
export interface LanesView {
  names: string[];
  total: number;
  /** Shown lanes of a node that left (free, waiting for another node): the page marks them gone. */
  gone: number[];
}

/** The figures the dashboard shows. */
export interface DashboardStats extends ServerStats {
  tasks_per_s: number;
  /** Share of Worker time spent running tasks over the last second, 0 to 1. */
  utilisation: number;
}

/** The parts of the picture that a snapshot sends whole and an update sends when they change. */
interface Panels {
  clients: ClientsView;
  /** Present when the server reports its critical sections: the listed requests' Mutex. */
  mutex?: MutexView[];
  finished: FinishedView[];
  /** Requests in flight that are not listed. */
  requestsMore: number;
  stats: DashboardStats;
  /** The step panel: the count the teacher steps from the page (whole, when it changed). */
  stepping?: StepPanelView;
}

/** The whole picture, sent to a page when it connects. */
export interface DashboardSnapshot extends Panels {
  now: number;
  address: string;
  lanes: LanesView;
  /** Recent finished bars that fit, oldest first (newest kept). */
  bars: TaskBar[];
  /** Recent bars that did not fit, by lane. */
  summary: BarSummary[];
  /** Tasks handed to each shown lane and not yet done. */
  queued: number[];
  /** What the Workers run now, at most `DASHBOARD_RUNNING_SHOWN`. */
  running: RunningBar[];
  /** The listed requests in flight, oldest first. */
  requests: RequestView[];
}

/** The changes since the last update. Panels that did not change are left out. */
export interface DashboardUpdate extends Partial<Panels> {
  now: number;
  lanes?: LanesView;
  /** Tasks finished since the last update that fit, oldest first (newest kept). */
  bars: TaskBar[];
  /** Tasks finished since the last update that did not fit, by lane. */
  summary: BarSummary[];
  /** Tasks handed to each shown lane and not yet done. */
  queued: number[];
  /** What the Workers run now (sent whole), at most `DASHBOARD_RUNNING_SHOWN`. */
  running: RunningBar[];
  /** Listed requests that changed, or that joined the list. */
  requests: RequestView[];
  /** Requests that left the list since the last update (they ended). */
  ended: string[];
  requestsMore: number;
  stats: DashboardStats;
}

/** One Worker of the teacher's stepped count, as the step panel shows it. */
export interface StepWorkerView {
  worker: number;
  /**
   * Its next step in words: `read`, `write 1` (what it read, plus one), `waits for the lock
   * (held by worker 0)`, `done`; with the lock, `take the lock, read` and `write 1, release the lock`.
   */
  next: string;
  /** The value it read for the increment under way, as text; empty before its read. */
  read: string;
  /** Whether a step of it would do something now: not done, not waiting for the lock. */
  steppable: boolean;
}

/**
 * The step panel: the count the teacher steps from the dashboard (`POST /control/step`),
 * built from the server's answers on the control's own connection. Sent whole when it changes.
 */
export interface StepPanelView {
  /** Grows with each change: a page draws a view only if newer than the one it shows. */
  version: number;
  /**
   * `off` (nothing started), `starting` (connecting, `COUNTER`, `STEP ON`), `stepping`,
   * `done` (the count answered), `ended` (it stopped without an answer: see `error`).
   */
  phase: "off" | "starting" | "stepping" | "done" | "ended";
  counter: "racy" | "locked";
  /** The count, as sent: `0 2`. */
  request: string;
  workers: StepWorkerView[];
  /** The shared counter now, as text. */
  value: string;
  /** The Workers stepped so far, in order: the schedule a student can replay. */
  steps: number[];
  /** What the server answered to each step, in order (`worker 1 read 0`). */
  said: string[];
  /** The count's answer, as the server sent it: `1 (1 update lost)`. */
  result?: string;
  /** What went wrong, in words: the server's own error, or why the connection ended. */
  error?: string;
  /** What the control waits for now: `STEP 1 sent: waiting for the server's answer`. */
  waiting?: string;
}
