/**
 * What the live dashboard shows, gathered from server events and sent in
 * batches: the server is never slowed by more than a few updates a second.
 *
 * @module
 */
import type { ServerEvent } from "../../server/server_events.ts";
import type { ServerStats } from "../../server/server_options.ts";
import { BarHistory } from "./bar_history.ts";
import { ClientBoard } from "./client_board.ts";
import type { DashboardSnapshot, DashboardStats, DashboardUpdate } from "./dashboard_views.ts";
import { RequestBoard, type RequestSection } from "./request_board.ts";
import { TaskRates } from "./task_rates.ts";

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
}

/**
 * Keeps the dashboard's picture up to date from server events, and hands out
 * snapshots and batched updates. Its parts: the clients ({@linkcode ClientBoard}),
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
 * assert.deepEqual(feed.snapshot().clients.slots, ["a", null]);
 * ```
 */
export class DashboardFeed {
  #address: string;
  #maxClients: number;
  #lanesNow: () => readonly string[];
  #serverStats: () => ServerStats;
  /** The lane names last sent. */
  #lanes: readonly string[];
  #clients: ClientBoard;
  #requests: RequestBoard;
  #bars = new BarHistory();
  #rates = new TaskRates();

  /**
   * @param options The server's shape and its figures.
   * @throws {RangeError} When `maxClients` is not a positive integer.
   */
  constructor(options: DashboardFeedOptions) {
    const { address, maxClients, lanes, stats, requestsInFlight } = options;
    if (!Number.isSafeInteger(maxClients) || maxClients < 1) {
      throw new RangeError(`'maxClients' must be a positive integer: received ${maxClients}`);
    }
    this.#address = address;
    this.#maxClients = maxClients;
    this.#lanesNow = lanes;
    this.#serverStats = stats;
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
      case "counting":
        this.#requests.begin(event);
        break;
      case "task-done": {
        const { task, worker, conn, startedAt, endedAt, units } = event;
        this.#rates.record(endedAt, endedAt - startedAt);
        if (this.#bars.add([task, worker, conn, startedAt, endedAt, units])) {
          this.#clients.drew(conn);
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

  /** The whole picture now. */
  snapshot(): DashboardSnapshot {
    const now = Date.now();
    const bars = this.#bars.recent(now);
    const mutex = this.#requests.mutex();
    return {
      now,
      address: this.#address,
      maxClients: this.#maxClients,
      lanes: [...this.#lanes],
      bars,
      queued: this.#requests.queued(),
      clients: this.#clients.view(now),
      requests: this.#requests.requests(),
      ...(mutex ? { mutex } : {}),
      finished: this.#requests.finished(),
      stats: this.#stats(),
    };
  }

  /** The changes since the last call, then forgets them. */
  takeUpdate(): DashboardUpdate {
    const now = Date.now();
    const lanes = this.#lanesNow();
    const lanesChanged = lanes.length !== this.#lanes.length ||
      lanes.some((name, i) => name !== this.#lanes[i]);
    if (lanesChanged) this.#lanes = [...lanes];
    const mutex = this.#requests.mutex();
    const clients = this.#clients.takeChange(now);
    const { requests, ended, finished } = this.#requests.takeChanges();
    const { bars, skipped } = this.#bars.take(now);
    return {
      now,
      ...(lanesChanged ? { lanes: [...lanes] } : {}),
      bars,
      skipped,
      queued: this.#requests.queued(),
      ...(clients ? { clients } : {}),
      requests,
      ended,
      ...(mutex ? { mutex } : {}),
      ...(finished ? { finished } : {}),
      stats: this.#stats(),
    };
  }

  #stats(): DashboardStats {
    return { ...this.#serverStats(), ...this.#rates.lastSecond(this.#lanes.length) };
  }
}
