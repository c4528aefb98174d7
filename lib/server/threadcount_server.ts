/**
 * The threadcount server: accepts TCP clients, serves at most `maxClients` of
 * them at once (the rest wait in line), and counts on a pool of Workers.
 *
 * @module
 */
import * as constants from "../../constCS.ts";
import { ConnectionGate, GateClosedError, GateFullError } from "./connection_gate.ts";
import { formatError } from "../wire/protocol.ts";
import { ServerEvents } from "./server_events.ts";
import { serveSession, type SessionContext, type SessionHandle } from "./session.ts";
import { closeQuietly, writeAll } from "../wire/write_all.ts";
import { unitDrawer } from "./work_units.ts";
import { WorkerPool } from "../pool/worker_pool.ts";
import type { NatsConnection } from "@nats-io/transport-node";
import { attachFleet, type ServerFleet } from "../fleet/server_fleet.ts";

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
  /** Idle time after which a served client is closed while others wait, in ms. */
  idleTimeoutMs: number;
  /** Time in-flight requests get to finish on shutdown, in ms. */
  graceMs: number;
  /** Classic framing's silence, in ms (0: off). */
  silenceMs: number;
  /** Least time between two progress lines to one client, in ms. */
  progressIntervalMs: number;
  /** Seed of the work-unit generator, for runs that repeat exactly. */
  seed?: number;
  /** The Worker module (tests pass fixtures). */
  workerUrl?: URL | string;
  /** Aborting it shuts the server down gracefully. */
  signal?: AbortSignal;
  /** A connection to the fleet's NATS broker: its worker nodes' Workers join the pool. */
  nats?: NatsConnection;
  /** With no Worker of its own (`workers: 0`), how long a request waits for a node, in ms. */
  fleetWaitMs: number;
}

/** The defaults, from `constCS.ts`. */
export const DEFAULT_SERVER_OPTIONS: Readonly<ServerOptions> = {
  hostname: constants.HOST,
  port: constants.PORT,
  maxClients: constants.MAX_NUM_CLIENT_CONNECTIONS_TO_SERVER,
  maxWaiting: constants.MAX_WAITING_CLIENTS,
  workers: constants.WORKERS,
  minUnits: constants.MIN_UNITS,
  maxUnits: constants.MAX_UNITS,
  iterationsPerUnit: constants.ITERATIONS_PER_UNIT,
  maxIncrements: constants.MAX_INCREMENTS_PER_REQUEST,
  maxLineBytes: constants.MAX_LINE_BYTES,
  idleTimeoutMs: constants.IDLE_TIMEOUT_SECONDS * 1000,
  graceMs: constants.GRACE_SECONDS * 1000,
  silenceMs: constants.CLASSIC_SILENCE_MS,
  progressIntervalMs: 200,
  fleetWaitMs: constants.FLEET_WAIT_SECONDS * 1000,
};

/** The `STATS` reply. */
export interface ServerStats {
  clients_active: number;
  clients_waiting: number;
  workers: number;
  workers_busy: number;
  tasks_queued: number;
  tasks_done: number;
  uptime_s: number;
  [key: string]: number;
}

/**
 * A running threadcount server. It listens as soon as it is built.
 *
 * @example
 * ```ts ignore
 * import { ThreadcountServer } from "./threadcount_server.ts";
 *
 * await using server = new ThreadcountServer({ port: 0, workers: 2 });
 * console.log(`listening on ${server.address}`);
 * ```
 */
export class ThreadcountServer {
  /** Every event of this server. Subscribe before the first client connects. */
  readonly events: ServerEvents;
  /** The options in force, defaults filled in. */
  readonly options: Readonly<ServerOptions>;
  #listener: Deno.TcpListener;
  #pool: WorkerPool;
  #fleet?: ServerFleet;
  #gate: ConnectionGate;
  #context: SessionContext;
  #sessions = new Set<Promise<void>>();
  #handles = new Set<SessionHandle>();
  #idleSweep: ReturnType<typeof setInterval>;
  #conns = new Set<Deno.Conn>();
  #draining = new AbortController();
  #stopping = new AbortController();
  #startedAt = performance.now();
  #requests = 0;
  #requestsInFlight = 0;
  #accepting: Promise<void>;
  #shutdown?: Promise<void>;
  #finished = Promise.withResolvers<void>();

  /**
   * Starts the Workers and listens.
   *
   * @param options What differs from {@linkcode DEFAULT_SERVER_OPTIONS}.
   * @param events Where to report events; subscribe to it first to hear `listening`.
   * @throws {RangeError} When an option is out of range.
   * @throws {Deno.errors.AddrInUse} When the port is taken.
   */
  constructor(options: Partial<ServerOptions> = {}, events = new ServerEvents()) {
    const resolved: ServerOptions = { ...DEFAULT_SERVER_OPTIONS, ...dropUndefined(options) };
    this.options = resolved;
    this.events = events;
    const drawUnits = unitDrawer({
      min: resolved.minUnits,
      max: resolved.maxUnits,
      seed: resolved.seed,
    });
    this.#gate = new ConnectionGate({
      maxActive: resolved.maxClients,
      maxWaiting: resolved.maxWaiting,
    });
    this.#listener = Deno.listen({ hostname: resolved.hostname, port: resolved.port });
    try {
      this.#pool = new WorkerPool({
        size: resolved.workers,
        iterationsPerUnit: resolved.iterationsPerUnit,
        moduleUrl: resolved.workerUrl,
        onIncident: (incident) =>
          events.emit({ type: "worker-replaced", at: Date.now(), ...incident }),
      });
    } catch (error) {
      this.#listener.close();
      throw error;
    }
    if (resolved.nats) {
      this.#fleet = attachFleet(resolved.nats, {
        pool: this.#pool,
        iterationsPerUnit: resolved.iterationsPerUnit,
        localWorkers: resolved.workers,
        waitMs: resolved.fleetWaitMs,
        onEvent: (event) => events.emit(event),
      });
    }
    events.subscribe((event) => {
      if (event.type === "counting") this.#requestsInFlight++;
      else if (event.type === "result" || event.type === "request-failed") this.#requestsInFlight--;
    }, { tasks: () => false });
    this.#context = {
      pool: this.#pool,
      watchJob: this.#fleet && ((job) => this.#fleet!.watch(job)),
      events,
      limits: resolved,
      drawUnits: () => drawUnits(),
      nextRequestId: () => ++this.#requests,
      stats: () => this.stats(),
      track: (handle) => {
        this.#handles.add(handle);
        return { [Symbol.dispose]: () => void this.#handles.delete(handle) };
      },
      draining: this.#draining.signal,
      stopping: this.#stopping.signal,
    };
    events.emit({
      type: "listening",
      at: Date.now(),
      address: this.address,
      workers: resolved.workers,
      maxClients: resolved.maxClients,
    });
    // One timer for all sessions, not one per line: close those idle too long while others wait.
    const sweepMs = Math.min(1000, Math.max(5, resolved.idleTimeoutMs / 4));
    this.#idleSweep = setInterval(() => this.#sweepIdle(), sweepMs);
    const { signal } = resolved;
    if (signal?.aborted) queueMicrotask(() => this.shutdown("signal"));
    signal?.addEventListener("abort", () => this.shutdown("signal"), { once: true });
    this.#accepting = this.#acceptLoop();
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

  #sweepIdle(): void {
    if (this.#gate.waiting === 0) return;
    const now = performance.now();
    for (const handle of this.#handles) {
      const since = handle.waitingSince;
      if (since !== undefined && now - since >= this.options.idleTimeoutMs) {
        handle.interrupt("idle");
      }
    }
  }

  /** The pool's lanes (`worker 0`, …, `node-a/worker 0`, …); `worker` in events indexes it. */
  laneNames(): readonly string[] {
    return this.#pool.laneNames();
  }

  /** A snapshot of the load, as sent for `STATS`. */
  stats(): ServerStats {
    const pool = this.#pool.stats;
    return {
      clients_active: this.#gate.active,
      clients_waiting: this.#gate.waiting,
      workers: pool.workers,
      workers_busy: pool.workersBusy,
      tasks_queued: pool.tasksQueued,
      tasks_done: pool.tasksDone,
      uptime_s: Math.round((performance.now() - this.#startedAt) / 100) / 10,
      tasks_in_flight: pool.tasksInFlight,
      tasks_discarded: pool.tasksDiscarded,
      worker_restarts: pool.workerRestarts,
      batches_sent: pool.batchesSent,
      requests: this.#requests,
      ...this.#fleet?.stats(),
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

  async #stop(reason: string): Promise<void> {
    const { graceMs } = this.options;
    this.events.emit({
      type: "shutting-down",
      at: Date.now(),
      reason,
      inFlight: this.#requestsInFlight,
      graceMs,
    });
    try {
      this.#listener.close();
    } catch (error) {
      if (!(error instanceof Deno.errors.BadResource)) throw error;
    }
    this.#gate.close();
    clearInterval(this.#idleSweep);
    this.#draining.abort();
    for (const handle of this.#handles) handle.interrupt("draining");
    let forceClose: ReturnType<typeof setTimeout> | undefined;
    const grace = setTimeout(() => {
      // Grace is over: abandon the requests in hand; sessions answer ERR shutting-down.
      this.#stopping.abort(new Error("the server stopped"));
      // A session stuck writing to a client that does not read gets one more second.
      forceClose = setTimeout(() => this.#closeAll(), 1000);
    }, graceMs);
    try {
      await Promise.allSettled([...this.#sessions, this.#accepting]);
      // New sessions may have been added while the listener closed.
      while (this.#sessions.size > 0) await Promise.allSettled([...this.#sessions]);
    } finally {
      clearTimeout(grace);
      clearTimeout(forceClose);
    }
    this.#stopping.abort(new Error("the server stopped"));
    await this.#fleet?.close();
    this.#pool.close();
    this.events.emit({ type: "stopped", at: Date.now() });
    this.#finished.resolve();
  }

  #closeAll(): void {
    for (const conn of this.#conns) closeQuietly(conn);
  }

  async #acceptLoop(): Promise<void> {
    let backoffMs = 5;
    while (!this.#draining.signal.aborted) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
        backoffMs = 5;
      } catch (error) {
        if (this.#draining.signal.aborted || error instanceof Deno.errors.BadResource) return;
        // Transient (out of file descriptors, a reset during the handshake): back off, retry.
        console.error(`threadcount: accept failed (${error}); retrying in ${backoffMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, backoffMs));
        backoffMs = Math.min(backoffMs * 2, 1000);
        continue;
      }
      const session = this.#serve(conn);
      this.#sessions.add(session);
      session.finally(() => this.#sessions.delete(session));
    }
  }

  async #serve(conn: Deno.TcpConn): Promise<void> {
    this.#conns.add(conn);
    const peer = `${conn.remoteAddr.hostname}:${conn.remoteAddr.port}`;
    const { events } = this;
    let reason = "end";
    try {
      try {
        conn.setNoDelay(true);
      } catch { /* the client is already gone; reading will tell */ }
      events.emit({
        type: "accepted",
        at: Date.now(),
        conn: peer,
        active: this.#gate.active,
        waiting: this.#gate.waiting,
      });
      if (this.#gate.full) {
        events.emit({
          type: "waiting",
          at: Date.now(),
          conn: peer,
          position: this.#gate.waiting + 1,
        });
      }
      let slot: Disposable;
      try {
        slot = await this.#gate.enter();
      } catch (error) {
        const [code, message] = error instanceof GateFullError
          ? ["busy", `the server is at capacity (${error.message}); try again later`] as const
          : error instanceof GateClosedError
          ? ["shutting-down", "the server is shutting down; reconnect in a moment"] as const
          : ["busy", String(error)] as const;
        reason = `turned away: ${code}`;
        events.emit({ type: "turned-away", at: Date.now(), conn: peer, code, message });
        await writeAll(conn, formatError(code, message));
        return;
      }
      using _slot = slot;
      events.emit({
        type: "served",
        at: Date.now(),
        conn: peer,
        active: this.#gate.active,
        waiting: this.#gate.waiting,
      });
      reason = await serveSession(conn, peer, this.#context);
    } catch (error) {
      reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    } finally {
      this.#conns.delete(conn);
      closeQuietly(conn);
      events.emit({ type: "closed", at: Date.now(), conn: peer, reason });
    }
  }
}

function dropUndefined<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(options).filter(([, value]) => value !== undefined),
  ) as Partial<T>;
}
