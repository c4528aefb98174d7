/**
 * The threadcount server: accepts TCP clients, serves at most `maxClients` of
 * them at once (the rest wait in line), and counts on a pool of Workers.
 *
 * @module
 */
import { ConnectionGate, GateFullError } from "./connection_gate.ts";
import { isOutOfDescriptors, openFileLimit } from "./descriptor_limit.ts";
import { LineReader } from "../wire/line_reader.ts";
import { formatError } from "../wire/protocol.ts";
import { ServerEvents } from "./server_events.ts";
import {
  type RequestProgress,
  serveSession,
  type SessionContext,
  type SessionHandle,
  type SessionInput,
} from "./session.ts";
import { closeQuietly, writeAll } from "../wire/write_all.ts";
import { workEstimator } from "./work_estimate.ts";
import { unitDrawer } from "./work_units.ts";
import { WorkerPool } from "../pool/worker_pool.ts";
import { PerIncrementRunner } from "../pool/per_increment_runner.ts";
import type { RemoteWorkers } from "./remote_workers.ts";
import {
  DEFAULT_SERVER_OPTIONS,
  dropUndefined,
  type ServerOptions,
  type ServerStats,
} from "./server_options.ts";

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
  #pool: WorkerPool | PerIncrementRunner;
  #remote?: RemoteWorkers;
  /** Pool model: how long the pool took until every Worker was ready, in ms. */
  #poolStartMs = 0;
  /** Updates lost by racy requests, over the server's life. */
  #updatesLost = 0;
  #gate: ConnectionGate;
  /** What every session shares: one object, not one per connection. */
  #context: SessionContext;
  /** Every connection accepted and not yet closed: waiting, served or being turned away. */
  #connections = new Set<Connection>();
  /** Resolves when the last connection closes, once shutdown waits for it. */
  #allClosed?: PromiseWithResolvers<void>;
  #idleSweep: ReturnType<typeof setInterval>;
  #inFlight = new Set<RequestProgress>();
  /** A descriptor held in reserve: freed to turn one client away when descriptors run out. */
  #reserve?: Deno.FsFile;
  #reservePath?: URL;
  #draining = new AbortController();
  #stopping = new AbortController();
  #startedAt = performance.now();
  #requests = 0;
  /** Accepts that failed for one connection's sake (a reset before the accept). */
  #acceptErrors = 0;
  #outOfDescriptorsSaid = false;
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
      if (resolved.workerModel === "per-increment") {
        this.#pool = new PerIncrementRunner({
          size: resolved.workers,
          iterationsPerUnit: resolved.iterationsPerUnit,
          moduleUrl: resolved.workerUrl,
        });
      } else {
        const poolStartedAt = performance.now();
        this.#pool = new WorkerPool({
          size: resolved.workers,
          iterationsPerUnit: resolved.iterationsPerUnit,
          moduleUrl: resolved.workerUrl,
          onIncident: (incident) =>
            events.emit({ type: "worker-replaced", at: Date.now(), ...incident }),
        });
        this.#pool.ready.then(
          () => void (this.#poolStartMs = performance.now() - poolStartedAt),
          () => {},
        );
      }
    } catch (error) {
      this.#listener.close();
      throw error;
    }
    if (resolved.remoteWorkers) {
      if (!(this.#pool instanceof WorkerPool)) {
        this.#pool.close();
        this.#listener.close();
        throw new RangeError(
          "remote Workers (--nats) join the pool model only: drop --model per-increment, or --nats",
        );
      }
      if (resolved.counterModel !== "parallel") {
        this.#pool.close();
        this.#listener.close();
        throw new RangeError(
          `--counter ${resolved.counterModel} needs every increment on this machine (its counter ` +
            "lives in memory shared with the local Workers): drop --counter, or --nats",
        );
      }
      this.#remote = resolved.remoteWorkers({
        pool: this.#pool,
        iterationsPerUnit: resolved.iterationsPerUnit,
        localWorkers: resolved.workers,
        emit: (event) => events.emit(event),
      });
    }
    // Lost updates for STATS: from the results, without asking for task events.
    events.subscribe((event) => {
      if (event.type === "result" && event.updatesLost) this.#updatesLost += event.updatesLost;
    }, { tasks: () => false });
    this.#context = {
      pool: this.#pool,
      watchJob: this.#remote && ((job) => this.#remote!.watch(job)),
      counterModel: resolved.counterModel,
      sharedCounters: this.#remote === undefined,
      events,
      limits: resolved,
      drawUnits: () => drawUnits(),
      nextRequestId: () => ++this.#requests,
      estimateSeconds: workEstimator({ ...resolved, workers: this.#pool.size }),
      stats: () => this.stats(),
      begin: (request) => new InFlight(this.#inFlight, request),
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
    this.#checkDescriptorLimit();
    this.#reservePath = resolved.workerUrl === undefined
      ? new URL("../../worker.ts", import.meta.url)
      : new URL(resolved.workerUrl);
    this.#reserve = this.#holdReserve();
    // One timer for all sessions, not one per line: close those idle too long while others wait.
    const sweepMs = Math.min(1000, Math.max(5, resolved.idleTimeoutMs / 4));
    this.#idleSweep = setInterval(() => this.#sweepIdle(), sweepMs);
    const { signal } = resolved;
    const onAbort = () =>
      this.shutdown(typeof signal?.reason === "string" ? signal.reason : "signal");
    if (signal?.aborted) queueMicrotask(onAbort);
    signal?.addEventListener("abort", onAbort, { once: true });
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

  /**
   * Resolves once every Worker of the pool has loaded (at once with a Worker per
   * increment): a measurement, a lesson or a test that must see every Worker at work
   * waits for it. Rejects when the Worker module cannot run.
   */
  get workersReady(): Promise<void> {
    return this.#pool.ready;
  }

  /** The requests being counted now, oldest first. */
  requestsInFlight(): RequestProgress[] {
    return [...this.#inFlight];
  }

  /** The pool's lane names, one per Worker; the `worker` number of an event indexes it. */
  laneNames(): readonly string[] {
    return this.#pool.laneNames();
  }

  #sweepIdle(): void {
    if (this.#gate.waiting === 0) return;
    const now = performance.now();
    const timeout = this.options.idleTimeoutMs;
    for (const { handle, conn, peer } of this.#connections) {
      if (handle === undefined) continue;
      if (handle.writingSince !== undefined && now - handle.writingSince >= timeout) {
        // A reply unread this long while others wait: close, with nothing more sent.
        this.events.emit({
          type: "client-error",
          at: Date.now(),
          conn: peer,
          code: "write-timeout",
          message: `a reply went unread for ${timeout / 1000} s while other clients wait; ` +
            "connection closed",
        });
        closeQuietly(conn);
      } else if (handle.idleSince !== undefined && now - handle.idleSince >= timeout) {
        handle.interrupt("idle");
      }
    }
  }

  /** Says in the log when the descriptor limit cannot hold every client that may connect. */
  #checkDescriptorLimit(): void {
    const limit = this.options.openFileLimit ?? openFileLimit();
    const { maxClients, maxWaiting, workers } = this.options;
    // Besides one per client: stdio, the listener, the reserve, Workers, the dashboard, the trace.
    const needed = maxClients + maxWaiting + workers + 64;
    if (limit === undefined || limit >= needed) return;
    this.events.emit({
      type: "notice",
      at: Date.now(),
      message: `the limit on open files is ${limit}, below the about ${needed} that ` +
        `--max-clients ${maxClients} and --max-waiting ${maxWaiting} need: clients past it get ` +
        `ERR busy. Raise it (ulimit -n ${Math.max(needed, 4096)}) or lower --max-waiting.`,
    });
  }

  #holdReserve(): Deno.FsFile | undefined {
    if (this.#reservePath?.protocol !== "file:") return undefined;
    try {
      return Deno.openSync(this.#reservePath);
    } catch {
      return undefined; // no spare: clients past the limit wait in the kernel's queue instead
    }
  }

  /** A snapshot of the load, as sent for `STATS`. */
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
      requests_in_flight: this.#inFlight.size,
      uptime_s: Math.round((performance.now() - this.#startedAt) / 100) / 10,
      tasks_in_flight: pool.tasksInFlight,
      tasks_discarded: pool.tasksDiscarded,
      worker_restarts: pool.workerRestarts,
      batches_sent: pool.batchesSent,
      requests: this.#requests,
      accept_errors: this.#acceptErrors,
      updates_lost: this.#updatesLost,
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

  async #stop(reason: string): Promise<void> {
    const { graceMs } = this.options;
    this.events.emit({
      type: "shutting-down",
      at: Date.now(),
      reason,
      inFlight: this.#inFlight.size,
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
    for (const { handle } of this.#connections) handle?.interrupt("draining");
    let forceClose: ReturnType<typeof setTimeout> | undefined;
    const grace = setTimeout(() => {
      // Grace is over: abandon the requests in hand; sessions answer ERR shutting-down.
      this.#stopping.abort(new Error("the server stopped"));
      for (const { handle } of this.#connections) handle?.job?.cancel(this.#stopping.signal.reason);
      // A session stuck writing to a client that does not read gets one more second.
      forceClose = setTimeout(() => this.#closeAll(), 1000);
    }, graceMs);
    try {
      await this.#accepting;
      // Connections accepted while the listener closed are in the set too.
      if (this.#connections.size > 0) {
        this.#allClosed = Promise.withResolvers();
        await this.#allClosed.promise;
      }
    } finally {
      clearTimeout(grace);
      clearTimeout(forceClose);
    }
    this.#stopping.abort(new Error("the server stopped"));
    await this.#remote?.close();
    this.#pool.close();
    if (this.#reserve) closeQuietly(this.#reserve);
    this.events.emit({ type: "stopped", at: Date.now() });
    this.#finished.resolve();
  }

  #closeAll(): void {
    for (const { conn } of this.#connections) closeQuietly(conn);
  }

  async #acceptLoop(): Promise<void> {
    let backoffMs = 0;
    while (!this.#draining.signal.aborted) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
        backoffMs = 0;
      } catch (error) {
        if (this.#draining.signal.aborted || error instanceof Deno.errors.BadResource) return;
        if (!isOutOfDescriptors(error)) {
          // One connection's trouble (reset or aborted before it was accepted): the next
          // client must not pay for it. Retry at once.
          this.#acceptErrors++;
          continue;
        }
        // Out of descriptors: the clients queued in the kernel would hang. Spend the reserve
        // descriptor to turn one away with ERR busy; if that cannot be done, back off.
        if (!this.#outOfDescriptorsSaid) {
          this.#outOfDescriptorsSaid = true;
          this.events.emit({
            type: "notice",
            at: Date.now(),
            message: `out of file descriptors with ${this.#connections.size} connections open: ` +
              "clients past the limit get ERR busy. Raise it (ulimit -n) or lower --max-waiting.",
          });
        }
        this.#reserve ??= this.#holdReserve();
        if (this.#reserve) {
          await this.#turnAwayOne();
          continue;
        }
        backoffMs = Math.min(Math.max(5, backoffMs * 2), 1000);
        await new Promise((resolve) => setTimeout(resolve, backoffMs));
        continue;
      }
      this.#serve(conn);
    }
  }

  /** Frees the reserve descriptor, accepts one client, answers it ERR busy, closes it. */
  async #turnAwayOne(): Promise<void> {
    if (!this.#reserve) return;
    closeQuietly(this.#reserve);
    this.#reserve = undefined;
    let conn: Deno.TcpConn | undefined;
    try {
      conn = await this.#listener.accept();
    } catch {
      this.#reserve = this.#holdReserve();
      return;
    }
    const peer = `${conn.remoteAddr.hostname}:${conn.remoteAddr.port}`;
    const code = "busy";
    const message = "the server is out of file descriptors; try again later";
    this.events.emit({ type: "turned-away", at: Date.now(), conn: peer, code, message });
    try {
      await writeAll(conn, formatError(code, message));
    } catch { /* it went already */ }
    closeQuietly(conn);
    this.events.emit({
      type: "closed",
      at: Date.now(),
      conn: peer,
      reason: `turned away: ${code}`,
    });
    this.#reserve = this.#holdReserve();
  }

  /** Takes a new connection: a slot, a place in line, or ERR busy. Never waits. */
  #serve(conn: Deno.TcpConn): void {
    const { events } = this;
    const connection = new Connection(conn, this.options, this.#onClientGone);
    this.#connections.add(connection);
    const { peer } = connection;
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
    const admission = this.#gate.admit();
    if (admission.kind === "served") {
      this.#startSession(connection, admission.slot);
    } else if (admission.kind === "refused") {
      this.#turnAway(connection, admission.error);
    } else {
      events.emit({ type: "waiting", at: Date.now(), conn: peer, position: admission.position });
      connection.leaveLine = admission.leave;
      admission.slot.then(
        (slot) => {
          connection.leaveLine = undefined;
          this.#startSession(connection, slot);
        },
        (error) => {
          connection.leaveLine = undefined;
          if (connection.aborted) this.#close(connection, "hung up while waiting");
          else this.#turnAway(connection, error);
        },
      );
    }
  }

  /** The client has gone (its input ended or failed): out of the line, and its count cancelled. */
  #onClientGone = (connection: Connection): void => {
    const reason = new Error("client disconnected");
    connection.leaveLine?.(reason);
    connection.handle?.job?.cancel(reason);
  };

  #startSession(connection: Connection, slot: Disposable): void {
    connection.slot = slot;
    this.events.emit({
      type: "served",
      at: Date.now(),
      conn: connection.peer,
      active: this.#gate.active,
      waiting: this.#gate.waiting,
    });
    // One callback for both outcomes: a reason (a string) or what was thrown.
    const ended = (outcome: unknown) => this.#close(connection, outcome);
    serveSession(connection.conn, connection.peer, this.#context, connection).then(ended, ended);
  }

  /** Answers ERR busy or ERR shutting-down, then closes. */
  async #turnAway(connection: Connection, refusal: unknown): Promise<void> {
    const [code, message] = refusal instanceof GateFullError
      ? ["busy", `the server is at capacity (${refusal.message}); try again later`] as const
      : ["shutting-down", "the server is shutting down; reconnect in a moment"] as const;
    const reason = `turned away: ${code}`;
    this.events.emit({ type: "turned-away", at: Date.now(), conn: connection.peer, code, message });
    try {
      await writeAll(connection.conn, formatError(code, message));
      this.#close(connection, reason);
    } catch (error) {
      this.#close(connection, error);
    }
  }

  /**
   * Closes a connection: frees its slot for the next in line, says why in the log.
   *
   * @param outcome Why: a reason for the log, or what was thrown.
   */
  #close(connection: Connection, outcome: unknown): void {
    const reason = typeof outcome === "string"
      ? outcome
      : outcome instanceof Error
      ? `${outcome.name}: ${outcome.message}`
      : String(outcome);
    connection.handle = undefined;
    connection.slot?.[Symbol.dispose]();
    connection.slot = undefined;
    this.#connections.delete(connection);
    closeQuietly(connection.conn);
    this.events.emit({ type: "closed", at: Date.now(), conn: connection.peer, reason });
    if (this.#connections.size === 0) this.#allClosed?.resolve();
  }
}

/**
 * One accepted connection, from accept to close: what the server keeps for it, in one
 * object (no closures or signals of its own but the reader's end callback).
 */
class Connection implements SessionInput {
  readonly conn: Deno.TcpConn;
  /** The client's address, for events. */
  readonly peer: string;
  /** Reads from the start, before the client has a slot, so a waiting client's hang-up is seen. */
  readonly reader: LineReader;
  /** The session's handle, while it is served (set by the session). */
  handle?: SessionHandle;
  /** Its slot, while it is served. */
  slot?: Disposable;
  /** Takes it out of the gate's line, while it waits. */
  leaveLine?: (reason: unknown) => void;

  /**
   * @param conn The accepted connection.
   * @param limits The reader's limits.
   * @param onGone Called once when the client's input ends or fails.
   */
  constructor(
    conn: Deno.TcpConn,
    limits: Pick<ServerOptions, "maxLineBytes" | "silenceMs" | "readAheadBytes">,
    onGone: (connection: Connection) => void,
  ) {
    this.conn = conn;
    this.peer = `${conn.remoteAddr.hostname}:${conn.remoteAddr.port}`;
    const { maxLineBytes, silenceMs, readAheadBytes } = limits;
    this.reader = new LineReader(conn, {
      maxLineBytes,
      silenceMs,
      readAheadBytes,
      onEnd: () => onGone(this),
    });
  }

  /** The session's `gone`: this connection, {@linkcode Connection.aborted} once the client is. */
  get gone(): { readonly aborted: boolean } {
    return this;
  }

  /** Whether the client has gone: its input ended or failed. */
  get aborted(): boolean {
    return this.reader.atEnd;
  }
}

/** A request in the server's set of requests in flight, until disposed of: one small object. */
class InFlight implements Disposable {
  #requests?: Set<RequestProgress>;
  #request: RequestProgress;

  constructor(requests: Set<RequestProgress>, request: RequestProgress) {
    requests.add(request);
    this.#requests = requests;
    this.#request = request;
  }

  [Symbol.dispose](): void {
    this.#requests?.delete(this.#request);
    this.#requests = undefined;
  }
}

function round1(ms: number): number {
  return Math.round(ms * 10) / 10;
}
