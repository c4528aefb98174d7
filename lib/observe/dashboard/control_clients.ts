/**
 * The dashboard's classroom control: real TCP clients opened on the teacher's
 * behalf, each sending one request to the server and reading its answer, as a
 * student's client would (`POST /control/clients`).
 *
 * @module
 */
import { DASHBOARD_CONTROL_OPEN } from "../../defaults/defaults.ts";
import type { CounterModel } from "./dashboard_views.ts";
import { LineReader } from "../../wire/line_reader.ts";
import { closeQuietly, writeAll } from "../../wire/write_all.ts";

/**
 * Clients opened for the page, at most {@linkcode DASHBOARD_CONTROL_OPEN} at once.
 *
 * @example
 * ```ts
 * import { ControlClients } from "./control_clients.ts";
 * import assert from "node:assert/strict";
 *
 * const clients = new ControlClients({ hostname: "127.0.0.1", port: 9 });
 * assert.equal(clients.open, 0);
 * await clients.close();
 * ```
 */
export class ControlClients {
  #address: { hostname: string; port: number };
  #running = new Set<Promise<void>>();
  #conns = new Set<Deno.TcpConn>();
  #closed = false;

  /** @param address The server's TCP address. */
  constructor(address: { hostname: string; port: number }) {
    this.#address = address;
  }

  /** Clients open now. */
  get open(): number {
    return this.#running.size;
  }

  /**
   * Opens `count` clients, each sending `request` and reading its answer, then closing.
   *
   * @param count How many.
   * @param request The request line, e.g. `0 200`.
   * @param counter The counter model each client asks for first (`COUNTER racy`);
   *   without it, the server's own.
   * @returns How many were opened: fewer when {@linkcode DASHBOARD_CONTROL_OPEN} are open.
   */
  start(count: number, request: string, counter?: CounterModel): number {
    if (this.#closed) return 0;
    const room = Math.max(0, Math.min(count, DASHBOARD_CONTROL_OPEN - this.#running.size));
    for (let i = 0; i < room; i++) {
      const run: Promise<void> = this.#one(request, counter).finally(() =>
        this.#running.delete(run)
      );
      this.#running.add(run);
    }
    return room;
  }

  /** Hangs up every client, and waits for them. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const conn of this.#conns) closeQuietly(conn);
    await Promise.allSettled([...this.#running]);
  }

  async #one(request: string, counter: CounterModel | undefined): Promise<void> {
    let conn: Deno.TcpConn;
    try {
      conn = await Deno.connect(this.#address);
    } catch {
      return; // the server stopped meanwhile: nothing to show
    }
    this.#conns.add(conn);
    const lines = new LineReader(conn, { maxLineBytes: 64 * 1024 });
    try {
      if (this.#closed) return;
      if (counter !== undefined) {
        await writeAll(conn, `COUNTER ${counter}\n`);
        // `OK counter racy`, or an error the server's log shows: the request goes all the same.
        await lines.next();
      }
      await writeAll(conn, `${request}\n`);
      // Progress lines are not asked for: the first line is the answer (or an error).
      await lines.next();
    } catch {
      /* the server closed it: its log and the page say why */
    } finally {
      this.#conns.delete(conn);
      closeQuietly(conn);
      // Let the read in flight end, so no op outlives the client.
      while ((await lines.next()).kind !== "end") { /* drain */ }
    }
  }
}
