/**
 * The fleet as a server plugs it in: remote lanes added to the server's own
 * pool, the `STATS` fields, and the bound on waiting when the server has no
 * Worker of its own. The composition root (`server.ts`) hands
 * {@linkcode fleetWorkers} to the server as its `remoteWorkers`.
 *
 * @module
 */
import type { NatsConnection } from "@nats-io/transport-node";
import type { AttachRemoteWorkers } from "../server/remote_workers.ts";
import { Fleet } from "./fleet.ts";
import { NoWorkersWatch } from "./no_workers.ts";
import {
  FLEET_MIN_DEADLINE_MS,
  FLEET_NODE_LOST_MS,
  FLEET_WAIT_SECONDS,
} from "../defaults/defaults.ts";

/** Options of {@linkcode fleetWorkers}. */
export interface FleetWorkersOptions {
  /**
   * With no Worker of the server's own, how long a request waits for a node, in ms.
   * Defaults to `FLEET_WAIT_SECONDS`.
   */
  waitMs?: number;
  /** Silence of a node after which it is lost, in ms. Defaults to `FLEET_NODE_LOST_MS`. */
  nodeLostMs?: number;
  /** Least deadline of a batch, in ms. Defaults to `FLEET_MIN_DEADLINE_MS`. */
  minDeadlineMs?: number;
  /** Most lanes of nodes that have answered, over all nodes. Defaults to `MAX_REMOTE_LANES`. */
  maxLanes?: number;
}

/**
 * The worker nodes reached through `nc`, as remote Workers a server plugs into its pool
 * (`ServerOptions.remoteWorkers`).
 *
 * @param nc The connection to the broker; the caller closes it after the server.
 * @param options The bounds.
 * @returns What the server calls once its pool exists.
 */
export function fleetWorkers(
  nc: NatsConnection,
  options: FleetWorkersOptions = {},
): AttachRemoteWorkers {
  const waitMs = options.waitMs ?? FLEET_WAIT_SECONDS * 1000;
  return ({ pool, iterationsPerUnit, localWorkers, emit }) => {
    const fleet = new Fleet(nc, {
      iterationsPerUnit,
      nodeLostMs: options.nodeLostMs ?? FLEET_NODE_LOST_MS,
      minDeadlineMs: options.minDeadlineMs ?? FLEET_MIN_DEADLINE_MS,
      addLane: (make) => pool.addLane(make),
      maxLanes: options.maxLanes,
      localWorkers,
      onEvent: emit,
    });
    const noWorkers = localWorkers > 0 ? undefined : new NoWorkersWatch({
      readyWorkers: () => fleet.readyWorkers,
      waitMs,
    });
    return {
      stats() {
        const stats = fleet.stats;
        return {
          lanes: stats.lanes,
          lanesBusy: stats.lanesBusy,
          fields: {
            nodes: stats.nodes,
            remote_workers: stats.remoteWorkers,
            remote_workers_busy: stats.remoteWorkersBusy,
            fleet_batches_resent: stats.batchesResent,
            fleet_late_replies: stats.lateReplies,
            fleet_malformed: stats.malformed,
            fleet_connected: stats.brokerUp ? 1 : 0,
          },
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
  };
}
