/**
 * The accept loop: takes connections from the listener and hands each on at
 * once, never waiting on one. A failed accept that concerns one client is
 * retried at once; running out of file descriptors spends a descriptor held
 * in reserve to turn one client away with `ERR busy`, rather than leave the
 * clients queued in the kernel hanging.
 *
 * @module
 */
import { isOutOfDescriptors } from "./descriptor_limit.ts";
import { formatError } from "../wire/protocol.ts";
import { closeQuietly, writeAll } from "../wire/write_all.ts";
import type { ServerEvents } from "./server_events.ts";

/** Options of {@linkcode AcceptLoop}. */
export interface AcceptLoopOptions {
  /** Takes each accepted connection; it must not wait. */
  onConnection: (conn: Deno.TcpConn) => void;
  events: ServerEvents;
  /**
   * A file the process may read, held open as the reserve descriptor (none, or one that cannot
   * be opened: clients past the descriptor limit wait in the kernel's queue instead).
   */
  reserveFile?: URL;
  /** Connections open now, for the notice when descriptors run out. */
  openConnections: () => number;
}

/**
 * Accepts until {@linkcode AcceptLoop.close}.
 *
 * @example
 * ```ts
 * import { AcceptLoop } from "./accept_loop.ts";
 * import { ServerEvents } from "./server_events.ts";
 * import assert from "node:assert/strict";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const accepted = Promise.withResolvers<Deno.TcpConn>();
 * const loop = new AcceptLoop(listener, {
 *   onConnection: (conn) => accepted.resolve(conn),
 *   events: new ServerEvents(),
 *   openConnections: () => 0,
 * });
 * const { hostname, port } = listener.addr;
 * using _client = await Deno.connect({ hostname, port });
 * using _conn = await accepted.promise;
 * await loop.close();
 * assert.equal(loop.acceptErrors, 0);
 * ```
 */
export class AcceptLoop {
  #listener: Deno.TcpListener;
  #options: AcceptLoopOptions;
  #reserve?: Deno.FsFile;
  #closing = false;
  /** Accepts that failed for one connection's sake (a reset before the accept). */
  #acceptErrors = 0;
  #outOfDescriptorsSaid = false;
  #running: Promise<void>;

  /**
   * Starts accepting.
   *
   * @param listener Where connections come from; {@linkcode AcceptLoop.close} closes it.
   * @param options Where they go, and the reserve descriptor.
   */
  constructor(listener: Deno.TcpListener, options: AcceptLoopOptions) {
    this.#listener = listener;
    this.#options = options;
    this.#reserve = this.#holdReserve();
    this.#running = this.#run();
  }

  /** Accepts that failed for one connection's sake (a reset before the accept). */
  get acceptErrors(): number {
    return this.#acceptErrors;
  }

  /**
   * Closes the listener (no matter if it is closed already) and stops accepting.
   *
   * @returns A promise that resolves when the loop has ended and the reserve is closed.
   */
  async close(): Promise<void> {
    this.#closing = true;
    try {
      this.#listener.close();
    } catch (error) {
      if (!(error instanceof Deno.errors.BadResource)) throw error;
    }
    await this.#running;
    if (this.#reserve) closeQuietly(this.#reserve);
    this.#reserve = undefined;
  }

  async #run(): Promise<void> {
    let backoffMs = 0;
    while (!this.#closing) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
        backoffMs = 0;
      } catch (error) {
        if (this.#closing || error instanceof Deno.errors.BadResource) return;
        if (!isOutOfDescriptors(error)) {
          // One connection's trouble (reset or aborted before it was accepted): the next
          // client must not pay for it. Retry at once.
          this.#acceptErrors++;
          continue;
        }
        this.#sayOutOfDescriptors();
        this.#reserve ??= this.#holdReserve();
        if (this.#reserve) {
          await this.#turnAwayOne();
          continue;
        }
        backoffMs = Math.min(Math.max(5, backoffMs * 2), 1000);
        await new Promise((resolve) => setTimeout(resolve, backoffMs));
        continue;
      }
      this.#options.onConnection(conn);
    }
  }

  /** Once: the clients queued in the kernel would hang, and the operator should know. */
  #sayOutOfDescriptors(): void {
    if (this.#outOfDescriptorsSaid) return;
    this.#outOfDescriptorsSaid = true;
    this.#options.events.emit({
      type: "notice",
      at: Date.now(),
      message: `out of file descriptors with ${this.#options.openConnections()} connections ` +
        "open: clients past the limit get ERR busy. Raise it (ulimit -n) or lower --max-waiting.",
    });
  }

  #holdReserve(): Deno.FsFile | undefined {
    const file = this.#options.reserveFile;
    if (file === undefined) return undefined;
    try {
      return Deno.openSync(file);
    } catch {
      return undefined; // no spare: clients past the limit wait in the kernel's queue instead
    }
  }

  /**
   * Frees the reserve descriptor, accepts one client, answers it ERR busy, closes it. The
   * accept may wait long after descriptors ran out, until the next client comes: if the reserve
   * can be held again by then, descriptors are to spare, and the client is served as any other.
   */
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
    this.#reserve = this.#holdReserve();
    if (this.#reserve) {
      this.#outOfDescriptorsSaid = false; // recovered: say so again when they run out again
      this.#options.onConnection(conn);
      return;
    }
    const { events } = this.#options;
    const peer = `${conn.remoteAddr.hostname}:${conn.remoteAddr.port}`;
    const code = "busy";
    const message = "the server is out of file descriptors; try again later";
    events.emit({ type: "turned-away", at: Date.now(), conn: peer, code, message });
    try {
      await writeAll(conn, formatError(code, message));
    } catch { /* it went already */ }
    closeQuietly(conn);
    events.emit({ type: "closed", at: Date.now(), conn: peer, reason: `turned away: ${code}` });
    this.#reserve = this.#holdReserve();
  }
}
