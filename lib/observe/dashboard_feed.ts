/**
 * What the live dashboard shows, gathered from server events and sent in
 * batches: the server is never slowed by more than a few updates a second.
 *
 * @module
 */
import type { ServerEvent } from "../server/server_events.ts";
import type { ServerStats } from "../server/threadcount_server.ts";

/** A task as the dashboard draws it: `[task, worker, conn, startedAt, endedAt, units]`. */
export type TaskBar = [string, number, string, number, number, number];
/** A task sent to a Worker and not yet done: `[task, worker, conn, dispatchedAt]`. */
export type TaskDispatch = [string, number, string, number];

/** A request as the dashboard shows it. */
export interface RequestView {
  request: string;
  conn: string;
  start: string;
  total: number;
  done: number;
  value: string;
  finished: boolean;
}

/** The whole picture, sent to a page when it connects. */
export interface DashboardSnapshot {
  now: number;
  workers: number;
  maxClients: number;
  address: string;
  served: string[];
  waiting: string[];
  requests: RequestView[];
  stats: DashboardStats;
}

/** One batch of changes. */
export interface DashboardUpdate {
  now: number;
  /** Tasks finished since the last update (at most `maxBarsPerUpdate`). */
  done: TaskBar[];
  /** Tasks sent to Workers since the last update (at most `maxBarsPerUpdate`). */
  dispatched: TaskDispatch[];
  /** Bars left out of this update because there were too many to draw. */
  skipped: number;
  served: string[];
  waiting: string[];
  requests: RequestView[];
  stats: DashboardStats;
}

/** The figures the dashboard shows. */
export interface DashboardStats extends ServerStats {
  tasks_per_s: number;
  /** Share of Worker time spent spinning over the last second, 0 to 1. */
  utilisation: number;
}

/** Options of {@linkcode DashboardFeed}. */
export interface DashboardFeedOptions {
  workers: number;
  maxClients: number;
  address: string;
  stats: () => ServerStats;
  /** Most bars in one update; the rest are counted as skipped. Defaults to 2000. */
  maxBarsPerUpdate?: number;
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
 *   workers: 2, maxClients: 10, address: "127.0.0.1:1",
 *   stats: () => ({ clients_active: 0, clients_waiting: 0, workers: 2, workers_busy: 0,
 *     tasks_queued: 0, tasks_done: 0, uptime_s: 0 }),
 * });
 * feed.hear({ type: "served", at: 1, conn: "a", active: 1, waiting: 0 });
 * assert.deepEqual(feed.snapshot().served, ["a"]);
 * ```
 */
export class DashboardFeed {
  #options: Required<DashboardFeedOptions>;
  #served = new Set<string>();
  #waiting = new Set<string>();
  #requests = new Map<string, RequestView>();
  #changedRequests = new Set<RequestView>();
  #done: TaskBar[] = [];
  #dispatched: TaskDispatch[] = [];
  #skipped = 0;
  /** Finished tasks per 100 ms over the last second, for the rate and utilisation. */
  #buckets = Array.from({ length: 10 }, () => ({ epoch: -1, count: 0, busyMs: 0 }));

  /**
   * @param options The server's shape and its stats.
   */
  constructor(options: DashboardFeedOptions) {
    this.#options = { maxBarsPerUpdate: 2000, ...options };
  }

  /**
   * Takes in one server event.
   *
   * @param event The event.
   */
  hear(event: ServerEvent): void {
    switch (event.type) {
      case "waiting":
        this.#waiting.add(event.conn);
        break;
      case "served":
        this.#waiting.delete(event.conn);
        this.#served.add(event.conn);
        break;
      case "turned-away":
      case "closed":
        this.#waiting.delete(event.conn);
        this.#served.delete(event.conn);
        break;
      case "counting": {
        const view: RequestView = {
          request: event.request,
          conn: event.conn,
          start: String(event.start),
          total: event.increments,
          done: 0,
          value: String(event.start),
          finished: false,
        };
        this.#requests.set(event.request, view);
        this.#changedRequests.add(view);
        break;
      }
      case "task-queued":
        if (this.#dispatched.length < this.#options.maxBarsPerUpdate) {
          this.#dispatched.push([event.task, event.worker, event.conn, event.at]);
        }
        break;
      case "task-done": {
        this.#record(event.endedAt, event.endedAt - event.startedAt);
        if (this.#done.length < this.#options.maxBarsPerUpdate) {
          this.#done.push([
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
        const view = this.#requests.get(event.request);
        if (view) {
          view.done = event.done;
          view.value = String(event.value);
          this.#changedRequests.add(view);
        }
        break;
      }
      case "result":
      case "request-failed": {
        const view = this.#requests.get(event.request);
        if (view) {
          view.finished = true;
          if (event.type === "result") view.value = String(event.value);
          this.#changedRequests.add(view);
          this.#requests.delete(event.request);
        }
        break;
      }
    }
  }

  /** The whole picture now. */
  snapshot(): DashboardSnapshot {
    return {
      now: Date.now(),
      workers: this.#options.workers,
      maxClients: this.#options.maxClients,
      address: this.#options.address,
      served: [...this.#served],
      waiting: [...this.#waiting],
      requests: [...this.#requests.values()],
      stats: this.#stats(),
    };
  }

  /** The changes since the last call, then forgets them. */
  takeUpdate(): DashboardUpdate {
    const update: DashboardUpdate = {
      now: Date.now(),
      done: this.#done,
      dispatched: this.#dispatched,
      skipped: this.#skipped,
      served: [...this.#served],
      waiting: [...this.#waiting],
      requests: [...this.#changedRequests],
      stats: this.#stats(),
    };
    this.#done = [];
    this.#dispatched = [];
    this.#skipped = 0;
    this.#changedRequests.clear();
    return update;
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
      utilisation: Math.min(1, busyMs / (1000 * this.#options.workers)),
    };
  }
}
