/**
 * The dashboard's "stop" control: the teacher stops one client by what the
 * page shows of it, its name (`NAME alice`) or its address
 * (`POST /control/stop {"conn": "alice"}`).
 *
 * @module
 */
import type { ServerEvent } from "../../server/server_events.ts";

/**
 * Finds the client the page names, and stops it. Holds one name per open
 * named client: a client's entry goes when it closes.
 *
 * @example
 * ```ts
 * import { StopControl } from "./control_stop.ts";
 * import assert from "node:assert/strict";
 *
 * const stopped: string[] = [];
 * const control = new StopControl((peer) => stopped.push(peer) > 0);
 * control.hear({ type: "named", at: 0, conn: "127.0.0.1:5", name: "alice" });
 * assert.equal((await control.answer('{"conn": "alice"}')).status, 200);
 * assert.deepEqual(stopped, ["127.0.0.1:5"]);
 * ```
 */
export class StopControl {
  #stop: (peer: string) => boolean;
  /** The name of each open client that sent `NAME`, by its address. */
  #names = new Map<string, string>();

  /** @param stop The server's way to stop a client by its address; false when none is open. */
  constructor(stop: (peer: string) => boolean) {
    this.#stop = stop;
  }

  /**
   * Hears the server's events: who named itself, who closed.
   *
   * @param event One event.
   */
  hear(event: ServerEvent): void {
    if (event.type === "named") this.#names.set(event.conn, event.name);
    else if (event.type === "closed") this.#names.delete(event.conn);
  }

  /**
   * Answers `POST /control/stop`: `200` when the client was stopped, `404` when no such
   * client is open, `409` when two clients have the name, `400` for a bad body.
   *
   * @param text The request's body, JSON `{"conn": "<name or address>"}`.
   * @returns The answer.
   */
  answer(text: string): Response {
    let shown: unknown;
    try {
      shown = JSON.parse(text)?.conn;
    } catch { /* answered below */ }
    if (typeof shown !== "string" || shown.length === 0) {
      return plain(400, `bad request: send {"conn": "<a client's name or address>"}\n`);
    }
    const named = [...this.#names].filter(([, name]) => name === shown).map(([peer]) => peer);
    if (named.length > 1) {
      return plain(
        409,
        `${named.length} clients are called ${JSON.stringify(shown)}: stop one by its address ` +
          `(${named.join(", ")})\n`,
      );
    }
    const peer = named[0] ?? shown;
    if (!this.#stop(peer)) {
      return plain(404, `no client ${JSON.stringify(shown)} is open: it may have left already\n`);
    }
    return plain(200, `stopped ${JSON.stringify(shown)} (${peer})\n`);
  }
}

function plain(status: number, text: string): Response {
  return new Response(text, { status, headers: { "content-type": "text/plain; charset=utf-8" } });
}
