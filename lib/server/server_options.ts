/**
 * What a server can be told, its defaults, and what it reports in `STATS`:
 * the server's own vocabulary, apart from the server, so that what only reads
 * it (the dashboard, the CLI) need not load the server.
 *
 * @module
 */
import type { CounterModel, WorkerModel } from "../counter/counter_model.ts";
import type { AttachRemoteWorkers, RemoteWorkerStatsFields } from "./remote_workers.ts";
import { DEFAULT_SERVER_OPTIONS } from "../defaults/defaults.ts";
import { isIpAddress } from "../wire/proxy_header.ts";

/** Everything a server can be told. */
export interface ServerOptions {
  /** Address to listen on. */
  hostname: string;
  /** Port to listen on; 0 picks a free one. */
  port: number;
  /** Clients served at once. */
  maxClients: number;
  /** Clients that may wait for a slot. */
  maxWaiting: number;
  /** Workers in the pool. */
  workers: number;
  /** Fewest work units per increment. */
  minUnits: number;
  /** Most work units per increment. */
  maxUnits: number;
  /** Additions per work unit. */
  iterationsPerUnit: number;
  /** Largest `<increments>` of one request. */
  maxIncrements: number;
  /** Longest request line in bytes. */
  maxLineBytes: number;
  /** Most bytes read ahead of the request being served. */
  readAheadBytes: number;
  /**
   * While others wait: how long a served client may go without a complete
   * request, and how long a reply may wait for it to read, in ms.
   */
  idleTimeoutMs: number;
  /**
   * While others wait: how long a served client between requests keeps its slot, in ms; then
   * it goes back to the end of the line, keeping its connection.
   */
  slotHoldMs: number;
  /** Most connections one address may have open, waiting or served; 0: no cap. */
  maxClientsPerAddress: number;
  /**
   * The addresses (load balancers) whose connections start with a PROXY protocol header
   * (v1 or v2) naming the client: theirs must, and the client's address is taken from it.
   * No other connection's header is believed. Empty: none.
   */
  proxyProtocolFrom: readonly string[];
  /** How long a `STEP ON` count waits for the client's next `STEP`, in ms; then it runs freely. */
  stepIdleMs: number;
  /** Longest a `STEP ON` count may hold the pool's Workers in all, in ms; then it runs freely. */
  stepHoldMs: number;
  /** Most work one request may ask for, in ms of the whole pool's time (estimated). */
  maxRequestMs: number;
  /**
   * The limit on open files the server runs under (`ulimit -n`), to check at
   * start-up against `maxClients + maxWaiting`. Read from `/proc/self/limits`
   * when that is allowed (Deno allows it only with --allow-all); otherwise
   * only `--open-file-limit` gives it.
   */
  openFileLimit?: number;
  /** Time in-flight requests get to finish on shutdown, in ms. */
  graceMs: number;
  /** Classic framing's silence, in ms (0: off). */
  silenceMs: number;
  /** Least time between two progress lines to one client, in ms. */
  progressIntervalMs: number;
  /** Most bytes of replies held for a pipelining client's next ones, to write them together. */
  replyHoldBytes: number;
  /** Most ms a reply is held for a pipelining client's next ones. */
  replyHoldMs: number;
  /** Seed of the work-unit generator, for runs that repeat exactly. */
  seed?: number;
  /** The counter model of connections that send no `COUNTER`. */
  counterModel: CounterModel;
  /** `pool` of Workers started once, or a new Worker `per-increment`. */
  workerModel: WorkerModel;
  /**
   * The Worker module that runs the increments, as an absolute URL (say, `new
   * URL("./my_worker.ts", import.meta.url)`), to run your own: it must answer the pool's
   * messages as `worker.ts` does (`lib/pool/worker_messages.ts`), and the read permission must
   * grant it. Defaults to the project's `worker.ts`.
   */
  workerModule?: URL | string;
  /** Aborting it shuts the server down gracefully. */
  signal?: AbortSignal;
  /**
   * Workers of other machines that join the pool (the fleet's, from `fleetWorkers`); with
   * `workers: 0` they are the only ones.
   */
  remoteWorkers?: AttachRemoteWorkers;
}

/** The `STATS` reply: one line of JSON, these fields. */
export interface ServerStats extends Partial<RemoteWorkerStatsFields> {
  clients_active: number;
  clients_waiting: number;
  /** The server's own Workers (remote Workers are counted in `remote_workers`). */
  workers: number;
  workers_busy: number;
  tasks_queued: number;
  tasks_done: number;
  requests_in_flight: number;
  uptime_s: number;
  tasks_in_flight: number;
  tasks_discarded: number;
  worker_restarts: number;
  batches_sent: number;
  requests: number;
  accept_errors: number;
  /** Updates lost by racy requests, over the server's life. */
  updates_lost: number;
  workers_started: number;
  /** Pool: until every Worker was ready; per-increment: every Worker's start-up, summed. */
  worker_start_ms: number;
}

/**
 * Fills in the defaults and checks every option, and how they go together,
 * before a server opens anything.
 *
 * @param options What differs from {@linkcode DEFAULT_SERVER_OPTIONS}; `undefined` keeps a default.
 * @returns The options in force.
 * @throws {RangeError} When an option is out of range, or two cannot go together.
 * @throws {TypeError} When `workerModule` is not a URL.
 *
 * @example
 * ```ts
 * import { resolveServerOptions } from "./server_options.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(resolveServerOptions({ port: 0 }).port, 0);
 * assert.throws(() => resolveServerOptions({ maxClients: 0 }), RangeError);
 * ```
 */
export function resolveServerOptions(options: Partial<ServerOptions> = {}): ServerOptions {
  const resolved: ServerOptions = { ...DEFAULT_SERVER_OPTIONS, ...dropUndefined(options) };
  const { workerModel, counterModel, remoteWorkers } = resolved;
  requireInteger(resolved, "port", 0, 65535);
  requireInteger(resolved, "maxClients", 1);
  requireInteger(resolved, "maxWaiting", 0);
  requireInteger(resolved, "workers", workerModel === "per-increment" ? 1 : 0);
  requireInteger(resolved, "minUnits", 0);
  requireInteger(resolved, "maxUnits", resolved.minUnits);
  requireInteger(resolved, "iterationsPerUnit", 0);
  requireInteger(resolved, "maxIncrements", 0);
  requireInteger(resolved, "maxLineBytes", 1);
  requireInteger(resolved, "readAheadBytes", 0);
  requireInteger(resolved, "maxClientsPerAddress", 0);
  for (
    const name of [
      "idleTimeoutMs",
      "slotHoldMs",
      "stepIdleMs",
      "stepHoldMs",
      "graceMs",
      "silenceMs",
      "progressIntervalMs",
    ] as const
  ) {
    requireNumber(resolved, name);
  }
  requireNumber(resolved, "maxRequestMs");
  requireInteger(resolved, "replyHoldBytes", 0);
  requireNumber(resolved, "replyHoldMs");
  for (const address of resolved.proxyProtocolFrom) {
    if (!isIpAddress(address)) {
      throw new RangeError(
        `'proxyProtocolFrom' holds IP addresses (a balancer's, as it connects): received ${address}`,
      );
    }
  }
  const { workerModule } = resolved;
  if (workerModule !== undefined && URL.parse(workerModule) === null) {
    throw new TypeError(`'workerModule' must be an absolute URL: received ${workerModule}`);
  }
  if (remoteWorkers && workerModel !== "pool") {
    throw new RangeError(
      "remote Workers (--nats) join the pool model only: drop --model per-increment, or --nats",
    );
  }
  if (remoteWorkers && counterModel !== "parallel") {
    throw new RangeError(
      `--counter ${counterModel} needs every increment on this machine (its counter ` +
        "lives in memory shared with the local Workers): drop --counter, or --nats",
    );
  }
  return resolved;
}

type NumberOption = {
  [K in keyof ServerOptions]-?: ServerOptions[K] extends number ? K : never;
}[keyof ServerOptions];

function requireInteger(
  options: ServerOptions,
  name: NumberOption,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): void {
  const value = options[name];
  if (!Number.isInteger(value) || value < min || value > max) {
    const expected = max !== Number.MAX_SAFE_INTEGER
      ? `an integer from ${min} to ${max}`
      : min === 1
      ? "a positive integer"
      : `an integer of ${min} or more`;
    throw new RangeError(`'${name}' must be ${expected}: received ${value}`);
  }
}

function requireNumber(options: ServerOptions, name: NumberOption): void {
  const value = options[name];
  if (typeof value !== "number" || Number.isNaN(value) || value < 0) {
    throw new RangeError(`'${name}' must be a number of 0 or more: received ${value}`);
  }
}

/**
 * Leaves out the options given as `undefined`, so that spreading them over defaults keeps
 * the defaults.
 *
 * @param options Options, some perhaps `undefined`.
 * @returns The options that have a value.
 *
 * @example
 * ```ts
 * import { dropUndefined } from "./server_options.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual({ port: 1, ...dropUndefined({ port: undefined }) }, { port: 1 });
 * ```
 */
export function dropUndefined<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(options).filter(([, value]) => value !== undefined),
  ) as Partial<T>;
}
