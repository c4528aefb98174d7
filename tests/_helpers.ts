/** Shared helpers of the test suite: servers on port 0, event recording, raw sockets. */
import { LineClient } from "../lib/client/line_client.ts";
import { LineReader } from "../lib/wire/line_reader.ts";
import {
  type ServerEvent,
  ServerEvents,
  type ServerEventType,
} from "../lib/server/server_events.ts";
import { closeQuietly, writeAll } from "../lib/wire/write_all.ts";
import { ThreadcountServer } from "../lib/server/threadcount_server.ts";
import type { ServerOptions, ServerStats } from "../lib/server/server_options.ts";
import type { SessionContext, SessionLimits } from "../lib/server/session_context.ts";
import { RequestLedger } from "../lib/server/request_ledger.ts";
import type { WorkerPool } from "../lib/pool/worker_pool.ts";

/** Tiny work, so the suite is fast: one unit is 2 000 additions. */
export const TINY_WORK: Partial<ServerOptions> = {
  port: 0,
  workers: 2,
  minUnits: 1,
  maxUnits: 3,
  iterationsPerUnit: 2_000,
  seed: 1,
};

/** Every event of a server, with a way to wait for the ones to come. */
export class EventRecorder {
  readonly events: ServerEvent[] = [];
  #waiters: { test: (e: ServerEvent) => boolean; count: number; resolve: () => void }[] = [];

  constructor(server: ThreadcountServer) {
    server.events.subscribe((event) => this.#hear(event));
  }

  #hear(event: ServerEvent): void {
    this.events.push(event);
    for (const waiter of [...this.#waiters]) {
      if (waiter.test(event) && --waiter.count <= 0) {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  }

  /** Events of one type. */
  of<T extends ServerEventType>(type: T): Extract<ServerEvent, { type: T }>[] {
    return this.events.filter((e) => e.type === type) as Extract<ServerEvent, { type: T }>[];
  }

  /** Resolves once `count` events (counting those seen already) match `test`. */
  waitFor(test: (e: ServerEvent) => boolean, count = 1): Promise<void> {
    const seen = this.events.filter(test).length;
    if (seen >= count) return Promise.resolve();
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#waiters.push({ test, count: count - seen, resolve });
    return promise;
  }

  /** Resolves once `count` events of `type` have happened. */
  waitForType(type: ServerEventType, count = 1): Promise<void> {
    return this.waitFor((e) => e.type === type, count);
  }
}

/** A server on a free port, with its recorder; shut it down with `await using`. */
export function startServer(options: Partial<ServerOptions> = {}) {
  const server = new ThreadcountServer({ ...TINY_WORK, ...options });
  const recorder = new EventRecorder(server);
  return Object.assign(server, { recorder });
}

/** Connects a {@linkcode LineClient} to a server. */
export function connect(server: ThreadcountServer): Promise<LineClient> {
  return LineClient.connect(server.addr);
}

/** A raw TCP connection that writes bytes as given and reads lines. */
export class RawClient implements AsyncDisposable {
  readonly conn: Deno.TcpConn;
  readonly lines: LineReader;

  private constructor(conn: Deno.TcpConn) {
    this.conn = conn;
    this.lines = new LineReader(conn, { maxLineBytes: 1 << 20 });
  }

  static async connect(server: ThreadcountServer): Promise<RawClient> {
    const { hostname, port } = server.addr;
    const conn = await Deno.connect({ hostname, port });
    conn.setNoDelay(true);
    return new RawClient(conn);
  }

  /** Writes text exactly as given: no newline is added. */
  write(text: string): Promise<void> {
    return writeAll(this.conn, text);
  }

  /** Writes raw bytes. */
  writeBytes(bytes: Uint8Array): Promise<void> {
    return writeAll(this.conn, bytes);
  }

  /** The next line, or null at the end. */
  async readLine(): Promise<string | null> {
    const event = await this.lines.next();
    if (event.kind === "line") return event.text;
    if (event.kind === "end") return null;
    throw new Error(`unexpected ${event.kind}`);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    closeQuietly(this.conn);
    // Let the read in flight finish, so no op outlives the test.
    while ((await this.lines.next()).kind !== "end") { /* drain */ }
  }
}

/**
 * Fails, instead of hanging the suite, when `promise` has not settled within `ms`: a bound
 * for behaviour that would otherwise wait for ever when broken (never a synchronisation).
 */
export async function bounded<T>(promise: Promise<T>, what: string, ms = 60_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The parts a session needs, without a server around it, for tests that drive
 * a `Session` over a fake connection: a real pool, no work estimate, no limits in the way.
 */
export function sessionContext(
  pool: WorkerPool,
  stop: AbortSignal,
  options: { limits?: Partial<SessionLimits>; events?: ServerEvents } = {},
): SessionContext {
  return {
    pool,
    events: options.events ?? new ServerEvents(),
    limits: {
      maxIncrements: 10,
      idleTimeoutMs: 60_000,
      progressIntervalMs: 200,
      maxRequestMs: 600_000,
      ...options.limits,
    },
    drawUnits: () => 0,
    ledger: new RequestLedger(),
    estimateMs: () => 0,
    stats: idleStats,
    draining: stop,
    stopping: stop,
  };
}

/** The STATS of a server with nothing to do, for tests of what shows them. */
export function idleStats(): ServerStats {
  return {
    clients_active: 0,
    clients_waiting: 0,
    workers: 2,
    workers_busy: 0,
    tasks_queued: 0,
    tasks_done: 0,
    requests_in_flight: 0,
    uptime_s: 0,
    tasks_in_flight: 0,
    tasks_discarded: 0,
    worker_restarts: 0,
    batches_sent: 0,
    requests: 0,
    accept_errors: 0,
    updates_lost: 0,
    workers_started: 2,
    worker_start_ms: 0,
  };
}
