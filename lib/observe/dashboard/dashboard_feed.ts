/**
 * What the live dashboard shows, gathered from server events and sent in
 * batches: the server is never slowed by more than a few updates a second.
 *
 * @module
 */
import {
  DASHBOARD_LANES_SHOWN,
  DASHBOARD_NAME_CHARS,
  DASHBOARD_RUNNING_SHOWN,
} from "../../defaults/defaults.ts";
import { FREE_LANE_NAME } from "../../fleet/remote_lane.ts";
import type { ServerEvent } from "../../server/server_events.ts";
import type { ServerStats } from "../../server/server_options.ts";
import { BarHistory } from "./bar_history.ts";
import { ClientBoard } from "./client_board.ts";
import { encodeMessage, type Message, type MessageOptions } from "./dashboard_message.ts";
import type { DashboardStats, LanesView, RunningBar, StepPanelView } from "./dashboard_views.ts";
import { RequestBoard, type RequestSection } from "./request_board.ts";
import { TaskRates } from "./task_rates.ts";

/** A task a Worker runs now, as the pool samples it (`WorkerPool.runningTasks`). */
export interface RunningTaskSample {
  worker: number;
  /** Its job's name: the request. */
  job: string | undefined;
  /** Its number within the request, from 1. */
  no: number;
  /** When it started, ms since the epoch, by its Worker's clock. */
  startedAt: number;
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
  /** What the Workers run now, sampled once a message. */
  running?: () => readonly RunningTaskSample[];
  /** The step panel now: sent whole in a snapshot, and in an update when its version grew. */
  stepping?: () => StepPanelView;
}

/**
 * Keeps the dashboard's picture up to date from server events, and hands out
 * snapshots and batched updates, encoded, each within the message bound (see
 * `dashboard_views.ts` for the format). Its parts: the clients ({@linkcode ClientBoard}),
 * the bars ({@linkcode BarHistory}), the requests ({@linkcode RequestBoard})
 * and the rates ({@linkcode TaskRates}); their bounds are in `lib/defaults/defaults.ts`.
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
 * const { bytes } = feed.snapshot();
 * const snapshot = JSON.parse(new TextDecoder().decode(bytes).split("data: ")[1]);
 * assert.deepEqual(snapshot.clients.slots, [["a", 0], null]);
 * ```
 */
export class DashboardFeed {
  #address: string;
  #lanesNow: () => readonly string[];
  #serverStats: () => ServerStats;
  /** The lane names last sent. */
  #lanes: readonly string[];
  #clients: ClientBoard;
  #requests: RequestBoard;
  #bars = new BarHistory();
  #rates = new TaskRates();
  #running?: () => readonly RunningTaskSample[];
  #stepping?: () => StepPanelView;
  /** The step panel's version last sent in an update. */
  #steppingSent = -1;

  /**
   * @param options The server's shape and its figures.
   * @throws {RangeError} When `maxClients` is not a positive integer.
   */
  constructor(options: DashboardFeedOptions) {
    const { address, maxClients, lanes, stats, requestsInFlight, running, stepping } = options;
    if (!Number.isSafeInteger(maxClients) || maxClients < 1) {
      throw new RangeError(`'maxClients' must be a positive integer: received ${maxClients}`);
    }
    this.#address = address;
    this.#lanesNow = lanes;
    this.#serverStats = stats;
    this.#running = running;
    this.#stepping = stepping;
    this.#lanes = [...lanes()];
    this.#clients = new ClientBoard(maxClients);
    this.#requests = new RequestBoard({ workers: this.#lanes.length, requestsInFlight });
  }

  /**
   * Takes in one server event. Costs the same whatever the size of its numbers.
   *
   * @param event The event.
   */
  hear(event: ServerEvent): void {
    switch (event.type) {
      case "task-queued": // handed to a Worker, not yet run: counted, never drawn as running
        this.#requests.queue(event.task.slice(0, event.task.indexOf("#")), event.worker, 1);
        break;
      case "accepted":
        this.#clients.accepted(event.conn, event.at);
        break;
      case "waiting":
        this.#clients.waiting(event.conn, event.at);
        break;
      case "served":
        this.#clients.served(event.conn, event.at);
        break;
      case "turned-away":
      case "closed":
        this.#clients.left(event.conn, event.at);
        break;
      case "named":
        this.#clients.named(event.conn, event.name);
        break;
      case "counting":
        this.#requests.begin(
          { ...event, conn: this.#clients.nameOf(event.conn) },
          this.#clients.colourOf(event.conn),
        );
        break;
      case "task-done": {
        const { task, worker, conn, startedAt, endedAt, units } = event;
        this.#rates.record(endedAt, endedAt - startedAt);
        // Lanes past those shown are counted in the figures, not drawn.
        if (worker < DASHBOARD_LANES_SHOWN) {
          this.#bars.add([task, worker, this.#clients.drew(conn), startedAt, endedAt, units]);
        }
        this.#requests.progress(event);
        break;
      }
      case "result":
      case "request-failed":
        this.#requests.end(event);
        break;
      case "worker-replaced":
        this.#requests.workerReplaced(event.worker);
        break;
    }
  }

  /**
   * The whole picture now, encoded.
   *
   * @param options The message's bound.
   * @returns The `snapshot` event.
   */
  snapshot(options: MessageOptions = {}): Message {
    const now = Date.now();
    const bars = this.#bars.recent(now);
    const mutex = this.#requests.mutex();
    const queued = this.#requests.queued().slice(0, DASHBOARD_LANES_SHOWN);
    const stepping = this.#stepping?.();
    const panels = {
      now,
      address: this.#address,
      lanes: lanesView(this.#lanes),
      queued,
      running: this.#runningBars(now),
      clients: this.#clients.view(),
      requests: this.#requests.requests(),
      requestsMore: this.#requests.more(),
      ...(mutex ? { mutex } : {}),
      finished: this.#requests.finished(),
      stats: this.#stats(),
      ...(stepping ? { stepping } : {}),
    };
    return encodeMessage("snapshot", panels, bars, options);
  }

  /**
   * The changes since the last call, encoded; then forgets them.
   *
   * @param options The message's bound.
   * @returns The `update` event.
   */
  takeUpdate(options: MessageOptions = {}): Message {
    const now = Date.now();
    const lanes = this.#lanesNow();
    const lanesChanged = lanes.length !== this.#lanes.length ||
      lanes.some((name, i) => name !== this.#lanes[i]);
    if (lanesChanged) this.#lanes = [...lanes];
    const mutex = this.#requests.mutex();
    const clients = this.#clients.takeChange();
    const { requests, ended, finished } = this.#requests.takeChanges();
    const queued = this.#requests.queued().slice(0, DASHBOARD_LANES_SHOWN);
    const { bars, tally } = this.#bars.take(now);
    const stepping = this.#stepping?.();
    const steppingChanged = stepping !== undefined && stepping.version !== this.#steppingSent;
    if (steppingChanged) this.#steppingSent = stepping.version;
    const panels = {
      now,
      ...(lanesChanged ? { lanes: lanesView(lanes) } : {}),
      queued,
      running: this.#runningBars(now),
      ...(clients ? { clients } : {}),
      requests,
      ended,
      requestsMore: this.#requests.more(),
      ...(mutex ? { mutex } : {}),
      ...(finished ? { finished } : {}),
      stats: this.#stats(),
      ...(steppingChanged ? { stepping } : {}),
    };
    return encodeMessage("update", panels, bars, { ...options, tally });
  }

  /** What the shown lanes run now, as sent: at most {@linkcode DASHBOARD_RUNNING_SHOWN}. */
  #runningBars(now: number): RunningBar[] {
    const bars: RunningBar[] = [];
    for (const { worker, job, no, startedAt } of this.#running?.() ?? []) {
      if (bars.length >= DASHBOARD_RUNNING_SHOWN) break;
      if (worker >= DASHBOARD_LANES_SHOWN || job === undefined) continue;
      const since = Math.round((startedAt - now) * 10) / 10;
      bars.push([`${job}#${no}`, worker, this.#requests.colourOf(job), since]);
    }
    return bars;
  }

  #stats(): DashboardStats {
    return { ...this.#serverStats(), ...this.#rates.lastSecond(this.#lanes.length) };
  }
}

/**
 * The lanes as sent: the first {@linkcode DASHBOARD_LANES_SHOWN}, names in
 * printable ASCII (a byte a character), cut to {@linkcode DASHBOARD_NAME_CHARS}.
 */
function lanesView(lanes: readonly string[]): LanesView {
  const shown = lanes.slice(0, DASHBOARD_LANES_SHOWN);
  return {
    gone: shown.flatMap((name, i) => name === FREE_LANE_NAME ? [i] : []),
    names: shown.map((name) => {
      const ascii = name.replace(/[^\x20-\x7e]/g, "?");
      return ascii.length > DASHBOARD_NAME_CHARS
        ? `${ascii.slice(0, DASHBOARD_NAME_CHARS - 3)}...`
        : ascii;
    }),
    total: lanes.length,
  };
}
