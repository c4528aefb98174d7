/**
 * The dashboard's classroom control: real TCP clients opened on the teacher's
 * behalf, each sending one request to the server and reading its answer, as a
 * student's client would (`POST /control/clients`).
 *
 * @module
 */
import { DASHBOARD_CONTROL_CLIENTS, DASHBOARD_CONTROL_OPEN } from "../../defaults/defaults.ts";
import type { CounterModel } from "./dashboard_views.ts";
import { parseCommand, ProtocolError } from "../../wire/protocol.ts";
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

  /**
   * Answers `POST /control/clients`: `{"count": 3, "request": "0 200"}`, optionally with
   * `"counter": "racy"`, opens that many clients (`202 {"opened": 3}`); `400` for a bad
   * body, `429` when {@linkcode DASHBOARD_CONTROL_OPEN} are open already.
   *
   * @param text The request's body.
   * @returns The answer.
   */
  answer(text: string): Response {
    let body: { count?: unknown; request?: unknown; counter?: unknown };
    try {
      body = JSON.parse(text);
    } catch {
      body = {};
    }
    const { count, request: line, counter } = body ?? {};
    if (
      !Number.isSafeInteger(count) || (count as number) < 1 ||
      (count as number) > DASHBOARD_CONTROL_CLIENTS || typeof line !== "string" ||
      (counter !== undefined && counterModel(counter) === undefined)
    ) {
      return plain(
        400,
        `bad request: send {"count": 1 to ${DASHBOARD_CONTROL_CLIENTS}, "request": "0 200"` +
          `, optionally "counter": "racy", "locked" or "parallel"}\n`,
      );
    }
    try {
      if (parseCommand(line, { maxIncrements: Number.MAX_SAFE_INTEGER }).kind !== "count") {
        throw new ProtocolError("bad-request", "not a count");
      }
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      return plain(400, `bad request: "request" must be a count, e.g. "0 200"\n`);
    }
    const opened = this.start(
      count as number,
      line.trim(),
      counter === undefined ? undefined : counterModel(counter),
    );
    if (opened === 0) {
      return plain(429, "too many control clients open: wait for some to finish\n");
    }
    return new Response(JSON.stringify({ opened }) + "\n", {
      status: 202,
      headers: { "content-type": "application/json" },
    });
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

/** The counter model a control names, read as the wire reads `COUNTER <model>`; else undefined. */
function counterModel(given: unknown): CounterModel | undefined {
  if (typeof given !== "string" || !/^[a-z]{1,16}$/.test(given)) return undefined;
  try {
    const command = parseCommand(`COUNTER ${given}`, { maxIncrements: 1 });
    return command.kind === "counter" ? command.model : undefined;
  } catch (error) {
    if (error instanceof ProtocolError) return undefined;
    throw error;
  }
}

function plain(status: number, text: string): Response {
  return new Response(text, { status, headers: { "content-type": "text/plain" } });
}
