/**
 * Workers on other machines that a server's pool may take on, as the server
 * sees them: the server knows only this interface, and the composition root
 * (`server.ts`) plugs a source in (the NATS fleet's `fleetWorkers`).
 *
 * @module
 */
import type { RunningJob } from "../pool/job_queue.ts";
import type { WorkerPool } from "../pool/worker_pool.ts";
import type { ServerEvent } from "./server_events.ts";

/** The `STATS` fields that remote Workers add. */
export interface RemoteWorkerStatsFields {
  /** Worker nodes up now. */
  nodes: number;
  /** Their Workers. */
  remote_workers: number;
  /** Of those, the ones with a batch in flight. */
  remote_workers_busy: number;
  /** Batches given up (no reply in time, or the node lost) and run again. */
  fleet_batches_resent: number;
  /** Replies that came after their batch was given up. */
  fleet_late_replies: number;
  /** Malformed messages dropped. */
  fleet_malformed: number;
  /** 1 while the broker is reachable, else 0. */
  fleet_connected: number;
}

/** What remote Workers report for `STATS`. */
export interface RemoteWorkerStats {
  /** The pool's lanes that are remote Workers: the server counts its own Workers without them. */
  lanes: number;
  /** Of those, the busy ones. */
  lanesBusy: number;
  /** The fields they add. */
  fields: RemoteWorkerStatsFields;
}

/** Remote Workers plugged into a server's pool. */
export interface RemoteWorkers {
  /** Their counters, for `STATS`. */
  stats(): RemoteWorkerStats;
  /** Watches a job, so that it fails with `ERR no-workers` rather than wait for ever. */
  watch(job: RunningJob): void;
  /** Stops using them (their connection is the caller's to close). */
  close(): Promise<void>;
}

/** What a server hands a source of remote Workers when it plugs it in. */
export interface RemoteWorkersContext {
  /** The server's pool: remote lanes are added to it. */
  pool: WorkerPool;
  /** Additions per work unit. */
  iterationsPerUnit: number;
  /** The server's own Workers. */
  localWorkers: number;
  /** Reports what happens to them, on the server's events. */
  emit: (event: ServerEvent) => void;
}

/** Plugs remote Workers into a server's pool: called once, after the pool exists. */
export type AttachRemoteWorkers = (context: RemoteWorkersContext) => RemoteWorkers;
