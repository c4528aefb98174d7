/**
 * The threadcount server: accepts TCP clients, serves at most `maxClients` of
 * them at once (the rest wait in line), and counts on a pool of Workers. It
 * puts the parts together (the accept loop, the connections and their
 * sessions, the idle sweep, the pool) and shuts them down in order.
 *
 * @module
 */
import { AcceptLoop } from "./accept_loop.ts";
import { ConnectionGate } from "./connection_gate.ts";
import { Connections } from "./connections.ts";
import { descriptorShortfall, openFileLimit } from "./descriptor_limit.ts";
import { IdleSweep } from "./idle_sweep.ts";
import { RequestLedger, type RequestProgress } from "./request_ledger.ts";
import { ServerEvents } from "./server_events.ts";
import { WORKER_START_MS, workEstimator } from "./work_estimate.ts";
import { unitDrawer } from "./work_units.ts";
import { type RunningTask, WorkerPool } from "../pool/worker_pool.ts";
import { PerIncrementRunner } from "../pool/per_increment_runner.ts";
import type { RemoteWorkers } from "./remote_workers.ts";
import { resolveServerOptions, type ServerOptions, type ServerStats } from "./server_options.ts";

/**
 * A running threadcount server. It listens as soon as it is built.
 *
 * @example
 * ```ts
 * import { ThreadcountServer } from "./threadcount_server.ts";
 * import assert from "node:assert/strict";
 *
 * await using server = new ThreadcountServer({ port: 0, workers: 1, iterationsPerUnit: 10 });
 * const { hostname, port } = server.addr;
 * using client = await Deno.connect({ hostname, port });
 * await client.write(new TextEncoder().encode("2 10\n"));
 * const reply = new Uint8Array(16);
 * const length = await client.read(reply);
 * assert.equal(new TextDecoder().decode(reply.subarray(0, length!)), "12\n");
 * ```
 */
export class ThreadcountServer {
  /** Every event of this server. Subscribe before the first client connects. */
  readonly events: ServerEvents;
  /** The options in force, defaults filled in. */
  readonly options: Readonly<ServerOptions>;
  #listener: Deno.TcpListener;
  #pool: WorkerPool | PerIncrementRunner;
  #remote?: RemoteWorkers;
  /** Pool model: how long the pool took until every Worker was ready, in ms. */
  #poolStartMs = 0;
  #gate: ConnectionGate;
  #ledger = new RequestLedger();
  #connections: Connections;
  #accepting: AcceptLoop;
  #idleSweep: IdleSweep;
  #draining = new AbortController();
  #stopping = new AbortController();
  #startedAt = performance.now();
  #shutdown?: Promise<void>;
  #finished = Promise.withResolvers<void>();

  /**
   * Checks the options, starts the Workers and listens.
   *
   * @param options What differs from the defaults (`DEFAULT_SERVER_OPTIONS`).
   * @param events Where to report events; subscribe to it first to hear `listening`.
   * @throws {RangeError} When an option is out of range, before anything is opened.
   * @throws {Deno.errors.AddrInUse} When the port is taken.
   */
  constructor(options: Partial<ServerOptions> = {}, events = new ServerEvents()) {
    const resolved = resolveServerOptions(options);
    this.options = resolved;
    this.events = events;
    this.#gate = new ConnectionGate({
      maxActive: resolved.maxClients,
      maxWaiting: resolved.maxWaiting,
    });
    const drawUnits = unitDrawer({
      min: resolved.minUnits,
      max: resolved.maxUnits,
      seed: resolved.seed,
    });
    this.#listener = Deno.listen({ hostname: resolved.hostname, port: resolved.port });
    try {
      this.#pool = this.#startPool();
    } catch (error) {
      this.#listener.close();
      throw error;
    }
    const remote = this.#remote;
    this.#connections = new Connections({
      gate: this.#gate,
      events,
      limits: resolved,
      context: {
        pool: this.#pool,
        watchJob: remote && ((job) => remote.watch(job)),
        counterModel: resolved.counterModel,
        sharedCounters: remote === undefined,
        events,
        ledger: this.#ledger,
        limits: resolved,
        drawUnits: () => drawUnits(),
        estimateMs: workEstimator({
          ...resolved,
          workers: this.#pool.size,
          taskStartMs: this.#workerStartMs(),
        }),
        stats: () => this.stats(),
        draining: this.#draining.signal,
        stopping: this.#stopping.signal,
      },
    });
    events.emit({
      type: "listening",
      at: Date.now(),
      address: this.address,
      workers: resolved.workers,
      maxClients: resolved.maxClients,
    });
    const shortfall = descriptorShortfall({
      ...resolved,
      limit: resolved.openFileLimit ?? openFileLimit(),
    });
    if (shortfall) events.emit({ type: "notice", at: Date.now(), message: shortfall });
    this.#idleSweep = new IdleSweep({
      timeoutMs: resolved.idleTimeoutMs,
      holdMs: resolved.slotHoldMs,
      crowded: () => this.#gate.waiting > 0,
      wanted: () => this.#gate.someoneReady(),
      connections: () => this.#connections.list(),
      events,
    });
    const { signal } = resolved;
    const onAbort = () =>
      this.shutdown(typeof signal?.reason === "string" ? signal.reason : "signal");
    if (signal?.aborted) queueMicrotask(onAbort);
    signal?.addEventListener("abort", onAbort, { once: true });
    this.#accepting = new AcceptLoop(this.#listener, {
      onConnection: (conn) => this.#connections.take(conn),
      events,
      reserveFile: workerFile(resolved.workerModule),
      openConnections: () => this.#connections.size,
    });
  }

  /** The address the server listens on. */
  get addr(): Deno.NetAddr {
    return this.#listener.addr;
  }

  /** The address as `host:port`. */
  get address(): string {
    return `${this.addr.hostname}:${this.addr.port}`;
  }

  /** Resolves when the server has stopped. */
  get finished(): Promise<void> {
    return this.#finished.promise;
  }

  /**
   * Resolves once every Worker of the pool has loaded (at once with a Worker per
   * increment): a measurement, a lesson or a test that must see every Worker at work
   * waits for it. Rejects when the Worker module cannot run.
   */
  get workersReady(): Promise<void> {
    return this.#pool.ready;
  }

  /**
   * The requests being counted now.
   *
   * @returns A copy, oldest first.
   */
  requestsInFlight(): RequestProgress[] {
    return this.#ledger.inFlight();
  }

  /**
   * Stops one client, as the teacher asks from the dashboard: it is told
   * `ERR stopped-by-teacher` and its connection closes; the others serve on.
   *
   * @param peer Its address, as the events name it (`127.0.0.1:53211`).
   * @returns Whether such a client was open.
   */
  stopClient(peer: string): boolean {
    return this.#connections.stop(peer);
  }

  /**
   * The pool's lanes.
   *
   * @returns One name per Worker; the `worker` number of an event indexes it.
   */
  laneNames(): readonly string[] {
    return this.#pool.laneNames();
  }

  /**
   * What each Worker runs now, sampled from the pool (a Worker per increment: none).
   *
   * @returns For each running task: its lane, its request, its number, its start.
   */
  runningTasks(): RunningTask[] {
    return this.#pool instanceof WorkerPool ? this.#pool.runningTasks() : [];
  }

  /**
   * A snapshot of the load, as sent for `STATS`.
   *
   * @returns The figures.
   */
  stats(): ServerStats {
    const pool = this.#pool.stats;
    const remote = this.#remote?.stats();
    const started = "workersStarted" in pool
      ? { workers_started: pool.workersStarted, worker_start_ms: round1(pool.workerStartMs) }
      : {
        workers_started: pool.workers + pool.workerRestarts,
        worker_start_ms: round1(this.#poolStartMs),
      };
    return {
      clients_active: this.#gate.active,
      clients_waiting: this.#gate.waiting,
      workers: pool.workers - (remote?.lanes ?? 0),
      workers_busy: pool.workersBusy - (remote?.lanesBusy ?? 0),
      tasks_queued: pool.tasksQueued,
      tasks_done: pool.tasksDone,
      requests_in_flight: this.#ledger.inFlightCount,
      uptime_s: Math.round((performance.now() - this.#startedAt) / 100) / 10,
      tasks_in_flight: pool.tasksInFlight,
      tasks_discarded: pool.tasksDiscarded,
      worker_restarts: pool.workerRestarts,
      batches_sent: pool.batchesSent,
      requests: this.#ledger.requests,
      accept_errors: this.#accepting.acceptErrors,
      updates_lost: this.#ledger.updatesLost,
      ...started,
      ...remote?.fields,
    };
  }

  /**
   * Shuts down gracefully: stops accepting, answers waiting clients
   * `ERR shutting-down`, lets requests in flight finish within the grace
   * period, then closes every connection and Worker. Safe to call again.
   *
   * @param reason Why, for the log.
   * @returns A promise that resolves when everything has stopped.
   */
  shutdown(reason = "requested"): Promise<void> {
    this.#shutdown ??= this.#stop(reason);
    return this.#shutdown;
  }

  /** Shuts down (see {@linkcode ThreadcountServer.shutdown}). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown("disposed");
  }

  /**
   * With a Worker per increment: each Worker's start-up, for the work estimate, as measured so
   * far (assumed, {@linkcode WORKER_START_MS}, until a Worker has started).
   */
  #workerStartMs(): (() => number) | undefined {
    const pool = this.#pool;
    if (!(pool instanceof PerIncrementRunner)) return undefined;
    return () => {
      const { workersStarted, workerStartMs } = pool.stats;
      return workersStarted > 0 ? workerStartMs / workersStarted : WORKER_START_MS;
    };
  }

  /** The pool of the chosen Worker model, and the remote Workers it takes on, if any. */
  #startPool(): WorkerPool | PerIncrementRunner {
    const { workers: size, iterationsPerUnit, workerModule: moduleUrl } = this.options;
    // resolveServerOptions saw to it that remote Workers come with the pool model only.
    if (this.options.workerModel === "per-increment") {
      return new PerIncrementRunner({ size, iterationsPerUnit, moduleUrl });
    }
    const startedAt = performance.now();
    const pool = new WorkerPool({
      size,
      iterationsPerUnit,
      moduleUrl,
      onIncident: (incident) =>
        this.events.emit({ type: "worker-replaced", at: Date.now(), ...incident }),
    });
    pool.ready.then(() => void (this.#poolStartMs = performance.now() - startedAt), () => {});
    try {
      this.#remote = this.options.remoteWorkers?.({
        pool,
        iterationsPerUnit,
        localWorkers: size,
        emit: (event) => this.events.emit(event),
      });
    } catch (error) {
      pool.close();
      throw error;
    }
    return pool;
  }

  async #stop(reason: string): Promise<void> {
    const { graceMs } = this.options;
    const connections = this.#connections;
    this.events.emit({
      type: "shutting-down",
      at: Date.now(),
      reason,
      inFlight: this.#ledger.inFlightCount,
      graceMs,
    });
    const accepting = this.#accepting.close();
    this.#gate.close();
    this.#idleSweep[Symbol.dispose]();
    this.#draining.abort();
    connections.interruptAll("draining");
    let forceClose: ReturnType<typeof setTimeout> | undefined;
    const grace = setTimeout(() => {
      // Grace is over: abandon the requests in hand; sessions answer ERR shutting-down.
      this.#stopping.abort(new Error("the server stopped"));
      connections.cancelAll(this.#stopping.signal.reason);
      // A session stuck writing to a client that does not read gets one more second.
      forceClose = setTimeout(() => connections.closeAll(), 1000);
    }, graceMs);
    try {
      await accepting;
      // Connections accepted while the listener closed are waited for too.
      await connections.allClosed();
    } finally {
      clearTimeout(grace);
      clearTimeout(forceClose);
    }
    this.#stopping.abort(new Error("the server stopped"));
    await this.#remote?.close();
    this.#pool.close();
    this.events.emit({ type: "stopped", at: Date.now() });
    this.#finished.resolve();
  }
}

/** The Worker module's file, held open in reserve: a file the Workers' read permission grants. */
function workerFile(module: URL | string | undefined): URL | undefined {
  const url = module === undefined
    ? new URL("../../worker.ts", import.meta.url)
    : URL.parse(module);
  return url?.protocol === "file:" ? url : undefined;
}

function round1(ms: number): number {
  return Math.round(ms * 10) / 10;
}
