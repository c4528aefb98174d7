/**
 * The dashboard's picture of the Semaphore: who holds the client slots, who
 * waits for one, and the colour each is drawn in.
 *
 * @module
 */
import { ClientColours } from "./client_colours.ts";
import { DASHBOARD_WAITING_LISTED } from "./dashboard_bounds.ts";
import type { ClientsView } from "./dashboard_views.ts";

interface Client {
  state: "accepted" | "waiting" | "served";
  slot: number;
  /** Whether a bar of its tasks was sent: then its colour is on screen after it leaves. */
  drew: boolean;
}

/**
 * Follows clients from their arrival to their departure, as the server's
 * events tell it, and shows the slots, the waiting line (the first
 * {@linkcode DASHBOARD_WAITING_LISTED} by name) and the colours.
 *
 * @example
 * ```ts
 * import { ClientBoard } from "./client_board.ts";
 * import assert from "node:assert/strict";
 *
 * const board = new ClientBoard(1);
 * board.accepted("a", 0);
 * board.served("a", 0);
 * board.waiting("b", 1);
 * const view = board.takeChange(1);
 * assert.deepEqual([view?.slots, view?.waiting], [["a"], ["b"]]);
 * assert.equal(board.takeChange(1), undefined, "nothing changed since");
 * ```
 */
export class ClientBoard {
  #clients = new Map<string, Client>();
  /** Slot holders, by slot. */
  #slots: (string | null)[];
  #colours = new ClientColours();
  #changed = true;

  /** @param maxClients Client slots: the Semaphore's permits. */
  constructor(maxClients: number) {
    this.#slots = Array(maxClients).fill(null);
  }

  /**
   * A client arrived.
   *
   * @param conn The client.
   * @param at When, ms since the epoch.
   */
  accepted(conn: string, at: number): void {
    if (this.#clients.has(conn)) return;
    this.#colours.assign(conn, at);
    this.#clients.set(conn, { state: "accepted", slot: -1, drew: false });
    this.#changed = true;
  }

  /**
   * A client waits in line for a slot.
   *
   * @param conn The client.
   * @param at When, ms since the epoch.
   */
  waiting(conn: string, at: number): void {
    this.#setState(conn, "waiting", at);
  }

  /**
   * A client took a slot.
   *
   * @param conn The client.
   * @param at When, ms since the epoch.
   */
  served(conn: string, at: number): void {
    this.#setState(conn, "served", at);
  }

  /**
   * A client's task was drawn: its colour stays on screen for a while after it leaves.
   *
   * @param conn The client.
   */
  drew(conn: string): void {
    const client = this.#clients.get(conn);
    if (client) client.drew = true;
  }

  /**
   * A client left (or was turned away).
   *
   * @param conn The client.
   * @param at When, ms since the epoch.
   */
  left(conn: string, at: number): void {
    const client = this.#clients.get(conn);
    if (!client) return;
    this.#clients.delete(conn);
    if (client.slot >= 0) this.#slots[client.slot] = null;
    // Its bars may still be on screen: keep its colour its own until they are gone. A client
    // that drew nothing (turned away, or gone before counting) frees its colour at once.
    if (client.drew) this.#colours.hold(conn, at);
    else this.#colours.free(conn);
    this.#changed = true;
  }

  /**
   * The slots, the waiting line and the colours at `now`.
   *
   * @param now Ms since the epoch.
   * @returns The view.
   */
  view(now: number): ClientsView {
    const waiting: string[] = [];
    let waitingCount = 0;
    for (const [conn, client] of this.#clients) {
      if (client.state !== "waiting") continue;
      if (waitingCount++ < DASHBOARD_WAITING_LISTED) waiting.push(conn);
    }
    return { slots: [...this.#slots], waiting, waitingCount, colours: this.#colours.colours(now) };
  }

  /**
   * The view at `now` if a client came, moved or left since the last call.
   *
   * @param now Ms since the epoch.
   * @returns The view, or `undefined` when nothing changed.
   */
  takeChange(now: number): ClientsView | undefined {
    if (!this.#changed) return undefined;
    this.#changed = false;
    return this.view(now);
  }

  #setState(conn: string, state: "waiting" | "served", at: number): void {
    if (!this.#clients.has(conn)) this.accepted(conn, at);
    const client = this.#clients.get(conn)!;
    if (state === "served" && client.slot < 0) {
      client.slot = this.#slots.indexOf(null);
      if (client.slot >= 0) this.#slots[client.slot] = conn;
    } else if (state === "waiting" && client.slot >= 0) {
      // Back in line after its slot hold: its slot is someone else's now.
      this.#slots[client.slot] = null;
      client.slot = -1;
    }
    client.state = state;
    this.#changed = true;
  }
}
