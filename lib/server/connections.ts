/**
 * Every connection a server has accepted and not yet closed, and what happens
 * to each: a slot and a session, a place in line, or `ERR busy`.
 *
 * @module
 */
import { type Admission, type ConnectionGate, GateFullError } from "./connection_gate.ts";
import { formatError } from "../wire/protocol.ts";
import { closeQuietly, writeAll } from "../wire/write_all.ts";
import { proxiedArrival } from "./proxy_preamble.ts";
import type { ServerEvents } from "./server_events.ts";
import { Session } from "./session.ts";
import { type Interruption, type SessionContext, TurnedAway } from "./session_context.ts";
import type { SweptConnection } from "./idle_sweep.ts";
import { type Arrival, Connection, type ReaderLimits } from "./connection.ts";

/** Options of {@linkcode Connections}. */
export interface ConnectionsOptions {
  /** Decides who is served, who waits, and who is turned away. */
  gate: ConnectionGate;
  events: ServerEvents;
  /** What each session is given. */
  context: SessionContext;
  /** The line reader's limits, and the cap on connections from one address (0: none). */
  limits: ReaderLimits & {
    maxClientsPerAddress?: number;
    /** Load balancers whose connections start with a PROXY header. */
    proxyProtocolFrom?: readonly string[];
  };
}

/**
 * How long a client stopped from the dashboard is given to take its `ERR stopped-by-teacher`
 * line before its socket closes anyway (a client that reads nothing leaves it unsent), in ms.
 */
export const STOP_NOTICE_MS = 1000;

/** Why a client the teacher stopped left, in the log. */
const STOPPED_REASON = "stopped by the teacher from the dashboard";

/** What a client stopped from the dashboard is told: it may reconnect when the teacher says. */
export const STOPPED_MESSAGE =
  "the teacher stopped this client from the dashboard; reconnect when the teacher says so";

/**
 * The connections of a server, from accept to close. Each is read from the
 * start, so that a waiting client's hang-up is seen; it gets a
 * {@linkcode Session} when a slot is free.
 *
 * @example
 * ```ts
 * import { Connections } from "./connections.ts";
 * import { ConnectionGate } from "./connection_gate.ts";
 * import { ServerEvents } from "./server_events.ts";
 * import type { SessionContext } from "./session_context.ts";
 * import assert from "node:assert/strict";
 *
 * // A gate that has closed, as on shutdown: every new client is turned away.
 * const gate = new ConnectionGate({ maxActive: 1, maxWaiting: 0 });
 * gate.close();
 * const connections = new Connections({
 *   gate,
 *   events: new ServerEvents(),
 *   context: {} as SessionContext, // no session starts
 *   limits: { maxLineBytes: 64, silenceMs: 0, readAheadBytes: 0 },
 * });
 * using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * using client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * connections.take(await listener.accept());
 * const reply = new Uint8Array(100);
 * const length = await client.read(reply);
 * assert.match(new TextDecoder().decode(reply.subarray(0, length!)), /^ERR shutting-down /);
 * await connections.allClosed();
 * ```
 */
export class Connections {
  #gate: ConnectionGate;
  #events: ServerEvents;
  #context: SessionContext;
  #limits: ConnectionsOptions["limits"];
  #open = new Set<Connection>();
  /** The load balancers trusted to send a PROXY header: `--proxy-protocol-from`. */
  #proxies: ReadonlySet<string>;
  /** Connections from them whose header is still being read. */
  #proxied = new Set<Deno.TcpConn>();
  /** Connections open now from each address (host). */
  #perAddress = new Map<string, number>();
  /** Connections stopped from the dashboard, for the reason the log gives when they close. */
  #stopped = new WeakSet<Connection>();
  /** Resolves when the last connection closes, once someone waits for it. */
  #allClosed?: PromiseWithResolvers<void>;

  /** @param options The gate, the events and what sessions are given. */
  constructor(options: ConnectionsOptions) {
    this.#gate = options.gate;
    this.#events = options.events;
    this.#context = options.context;
    this.#limits = options.limits;
    this.#proxies = new Set(options.limits.proxyProtocolFrom);
  }

  /** Connections open now: waiting, served, being turned away, or sending a PROXY header. */
  get size(): number {
    return this.#open.size + this.#proxied.size;
  }

  /**
   * The connections open now, as the idle sweep sees them.
   *
   * @returns Each connection: its session while it is served, and a way to close its socket.
   */
  list(): Iterable<SweptConnection> {
    return this.#open.values();
  }

  /**
   * Takes a new connection: a slot, a place in line, or ERR busy. Never waits.
   *
   * @param conn The accepted connection.
   */
  take(conn: Deno.TcpConn): void {
    try {
      conn.setNoDelay(true);
    } catch { /* the client is already gone; reading will tell */ }
    const { hostname, port } = conn.remoteAddr;
    if (!this.#proxies.has(hostname)) return this.#admit(conn, { hostname, port, source: conn });
    // A trusted balancer's connection: its header says who the client is.
    this.#proxied.add(conn);
    proxiedArrival(conn, { events: this.#events }).then((arrival) => {
      this.#proxied.delete(conn);
      if (arrival) this.#admit(conn, arrival);
      else this.#closedOne();
    });
  }

  /** Admits a client whose address is known: a slot, a place in line, or ERR busy. */
  #admit(conn: Deno.TcpConn, arrival: Arrival): void {
    const events = this.#events;
    const gate = this.#gate;
    const connection = new Connection(
      conn,
      arrival,
      this.#limits,
      () => this.#overflowed(connection),
    );
    this.#open.add(connection);
    const { peer } = connection;
    const { active, waiting } = gate;
    events.emit({ type: "accepted", at: Date.now(), conn: peer, active, waiting });
    const crowding = this.#countAddress(connection);
    if (crowding) return void this.#turnAway(connection, crowding);
    const admission = gate.admit(connection.ready);
    if (admission.kind === "served") {
      this.#serve(connection, admission.slot);
    } else if (admission.kind === "refused") {
      this.#turnAway(connection, admission.error);
    } else {
      this.#inLine(connection, admission).then(
        (slot) => this.#serve(connection, slot),
        (error) => {
          if (connection.gone) this.#close(connection, "hung up while waiting");
          else this.#turnAway(connection, error);
        },
      );
    }
  }

  /**
   * Wakes every session from its wait for a line.
   *
   * @param reason Why.
   */
  interruptAll(reason: Interruption): void {
    for (const connection of this.#open) connection.session?.interrupt(reason);
  }

  /**
   * Abandons every session's count in hand.
   *
   * @param reason Why.
   */
  cancelAll(reason: unknown): void {
    for (const connection of this.#open) connection.session?.cancel(reason);
  }

  /**
   * Stops one client (the teacher's "stop" on the dashboard): one in line is turned away,
   * one served is told `ERR stopped-by-teacher` and its socket closes, ending its session
   * as a hang-up would (its count in hand is abandoned). The others serve on.
   *
   * @param peer Its address, as the events name it (`127.0.0.1:53211`).
   * @returns Whether such a client was open.
   */
  stop(peer: string): boolean {
    let connection: Connection | undefined;
    for (const open of this.#open) if (open.peer === peer) connection = open;
    if (connection === undefined || this.#stopped.has(connection)) return connection !== undefined;
    this.#stopped.add(connection);
    const refusal = new TurnedAway("stopped-by-teacher", STOPPED_MESSAGE);
    if (connection.session === undefined) {
      connection.leaveLine(refusal); // in line: turned away with it (#turnAway)
      return true;
    }
    connection.session.stop(STOPPED_REASON);
    const closing = setTimeout(() => connection.close(), STOP_NOTICE_MS);
    writeAll(connection.conn, formatError(refusal.code, refusal.message)).catch(() => {})
      .finally(() => {
        clearTimeout(closing);
        connection.close();
      });
    return true;
  }

  /** Closes every socket: their sessions end as their reads and writes fail. */
  closeAll(): void {
    for (const connection of this.#open) connection.close();
    for (const conn of this.#proxied) closeQuietly(conn);
  }

  /**
   * Waits for every connection open now, and any opened meanwhile, to close.
   *
   * @returns A promise that resolves once none is open.
   */
  allClosed(): Promise<void> {
    if (this.size === 0) return Promise.resolve();
    this.#allClosed ??= Promise.withResolvers();
    return this.#allClosed.promise;
  }

  #serve(connection: Connection, slot: Disposable): void {
    const session = new Session(
      {
        sink: connection.conn,
        reader: connection.reader,
        peer: connection.peer,
        connectedAt: connection.connectedAt,
        requeue: () => this.#requeue(connection),
      },
      this.#context,
    );
    connection.serve(slot, session);
    this.#emitServed(connection);
    // One callback for both outcomes: a reason (a string) or what was thrown.
    const ended = (outcome: unknown) => this.#close(connection, outcome);
    session.serve().then(ended, ended);
  }

  #emitServed(connection: Connection): void {
    const { active, waiting } = this.#gate;
    this.#events.emit({ type: "served", at: Date.now(), conn: connection.peer, active, waiting });
  }

  /** Waits in line: resolves with the slot when its turn comes. */
  #inLine(connection: Connection, admission: Admission & { kind: "waiting" }): Promise<Disposable> {
    const { peer } = connection;
    this.#events.emit({
      type: "waiting",
      at: Date.now(),
      conn: peer,
      position: admission.position,
    });
    connection.wait(admission.leave);
    return admission.slot;
  }

  /**
   * A served client between requests goes back to the end of the line, keeping its
   * connection and its session: resolves when its turn has come again.
   */
  async #requeue(connection: Connection): Promise<void> {
    const admission = connection.backInLine(this.#gate);
    if (admission.kind === "served") return; // no one waits: it keeps its slot
    if (admission.kind === "refused") throw admission.error;
    connection.resume(await this.#inLine(connection, admission));
    this.#emitServed(connection);
  }

  /**
   * The read-ahead of a connection in line is full: what it sent hides whether it has hung
   * up, and holding more would cost memory for every waiter. It is turned away.
   */
  #overflowed(connection: Connection): void {
    const { readAheadBytes } = this.#limits;
    connection.leaveLine(
      new TurnedAway(
        "busy",
        `you sent more than ${readAheadBytes} bytes while waiting for a slot ` +
          "(--read-ahead-bytes); send a request, read its answer, then send the next",
      ),
    );
  }

  /**
   * Counts a new connection against its address's cap.
   *
   * @returns The refusal when its address has the most connections it may have already.
   */
  #countAddress(connection: Connection): TurnedAway | undefined {
    const cap = this.#limits.maxClientsPerAddress ?? 0;
    const { host } = connection;
    const open = (this.#perAddress.get(host) ?? 0) + 1;
    this.#perAddress.set(host, open);
    if (cap <= 0 || open <= cap) return undefined;
    return new TurnedAway(
      "busy",
      `${open - 1} connections from ${host} are open already, the most one address may have ` +
        "(--max-clients-per-address); close one, then connect again",
    );
  }

  /** Answers ERR busy or ERR shutting-down, then closes. */
  async #turnAway(connection: Connection, refusal: unknown): Promise<void> {
    const [code, message] = refusal instanceof TurnedAway
      ? [refusal.code, refusal.message]
      : refusal instanceof GateFullError
      ? ["busy", `the server is at capacity (${refusal.message}); try again later`] as const
      : ["shutting-down", "the server is shutting down; reconnect in a moment"] as const;
    const { peer } = connection;
    this.#events.emit({ type: "turned-away", at: Date.now(), conn: peer, code, message });
    try {
      await writeAll(connection.conn, formatError(code, message));
      this.#close(connection, `turned away: ${code}`);
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
    const reason = this.#stopped.has(connection)
      ? STOPPED_REASON
      : typeof outcome === "string"
      ? outcome
      : outcome instanceof Error
      ? `${outcome.name}: ${outcome.message}`
      : String(outcome);
    connection.release();
    if (this.#open.delete(connection)) {
      const { host } = connection;
      const left = (this.#perAddress.get(host) ?? 1) - 1;
      if (left > 0) this.#perAddress.set(host, left);
      else this.#perAddress.delete(host);
    }
    this.#events.emit({ type: "closed", at: Date.now(), conn: connection.peer, reason });
    this.#closedOne();
  }

  #closedOne(): void {
    if (this.size === 0) this.#allClosed?.resolve();
  }
}
