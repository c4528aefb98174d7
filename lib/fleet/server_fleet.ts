/**
 * The fleet as a server plugs it in: remote lanes added to the server's own
 * pool, the `STATS` fields, and the bound on waiting when the server has no
 * Worker of its own. One call in the server's constructor, one in its shutdown.
 *
 * @module
 */
import type { NatsConnection } from "@nats-io/transport-node";
import { FLEET_MIN_DEADLINE_MS, FLEET_NODE_LOST_MS } from "../../constCS.ts";
import type { WorkerPool } from "../pool/worker_pool.ts";
import { Fleet, type FleetEvent } from "./fleet.ts";
import { NoWorkersWatch, type WatchedJob } from "./no_workers.ts";

/** Options of {@linkcode attachFleet}. */
export interface AttachFleetOptions {
  /** The server's pool: remote lanes are added to it. */
  pool: WorkerPool;
  /** Additions per work unit. */
  iterationsPerUnit: number;
  /** The server's own Workers; with none, requests wait at most `waitMs` for a remote one. */
  localWorkers: number;
  /** Longest wait with no Worker up, in ms. */
  waitMs: number;
  /** Hears what happens to the fleet. */
  onEvent: (event: FleetEvent) => void;
  /** Silence of a node after which it is lost, in ms. Defaults to `FLEET_NODE_LOST_MS`. */
  nodeLostMs?: number;
  /** Least deadline of a batch, in ms. Defaults to `FLEET_MIN_DEADLINE_MS`. */
  minDeadlineMs?: number;
}

/** The fleet, plugged into a server. */
export interface ServerFleet {
  /** The `STATS` fields of the fleet. */
  stats(): Record<string, number>;
  /** Watches a job, so that it fails with `ERR no-workers` rather than wait for ever. */
  watch(job: WatchedJob): void;
  /** Stops using the fleet (the caller closes the connection). */
  close(): Promise<void>;
}

/**
 * Plugs the fleet reached through `nc` into a server's pool.
 *
 * @param nc The connection to the broker.
 * @param options The pool, the work model, the bound and the event callback.
 * @returns The fleet's hooks for the server.
 */
export function attachFleet(nc: NatsConnection, options: AttachFleetOptions): ServerFleet {
  const { pool } = options;
  const fleet = new Fleet(nc, {
    iterationsPerUnit: options.iterationsPerUnit,
    nodeLostMs: options.nodeLostMs ?? FLEET_NODE_LOST_MS,
    minDeadlineMs: options.minDeadlineMs ?? FLEET_MIN_DEADLINE_MS,
    addLane: (make) => pool.addLane(make),
    localWorkers: options.localWorkers,
    onEvent: options.onEvent,
  });
  const noWorkers = options.localWorkers > 0 ? undefined : new NoWorkersWatch({
    readyWorkers: () => fleet.readyWorkers,
    waitMs: options.waitMs,
  });
  return {
    stats() {
      const stats = fleet.stats;
      const local = pool.stats;
      return {
        // The pool counts remote lanes among its Workers: these two are the local ones.
        workers: local.workers - stats.lanes,
        workers_busy: local.workersBusy - stats.lanesBusy,
        nodes: stats.nodes,
        remote_workers: stats.remoteWorkers,
        remote_workers_busy: stats.remoteWorkersBusy,
        fleet_batches_resent: stats.batchesResent,
        fleet_late_replies: stats.lateReplies,
        fleet_malformed: stats.malformed,
        fleet_connected: stats.brokerUp ? 1 : 0,
      };
    },
    watch(job) {
      noWorkers?.watch(job);
    },
    async close() {
      noWorkers?.[Symbol.dispose]();
      await fleet.close();
    },
  };
}
