/**
 * The dashboard's picture of the Semaphore: who holds the client slots, who
 * waits for one, and the colour each is drawn in.
 *
 * @module
 */
import { DASHBOARD_SLOTS_SHOWN, DASHBOARD_WAITING_LISTED } from "../../defaults/defaults.ts";
import { ClientColours } from "./client_colours.ts";
import type { ClientsView, ClientTag } from "./dashboard_views.ts";

interface Client {
  state: "accepted" | "waiting" | "served";
  slot: number;
  /** Whether a bar of its tasks was sent: then its colour is on screen after it leaves. */
  drew: boolean;
}

/**
 * Follows clients from their arrival to their departure, as the server's
 * events tell it, and shows the slots (the first {@linkcode DASHBOARD_SLOTS_SHOWN}
 * by name) and the waiting line (the first {@linkcode DASHBOARD_WAITING_LISTED}),
 * each client with its colour. Each event costs the same however many clients
 * came and went.
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
 * const view = board.takeChange();
 * assert.deepEqual([view?.slots, view?.waiting], [[["a", 0]], [["b", 1]]]);
 * assert.equal(board.takeChange(), undefined, "nothing changed since");
 * ```
 */
export class ClientBoard {
  /** Names clients gave themselves, by address: at most one a client present. */
  #names = new Map<string, string>();
  #clients = new Map<string, Client>();
  /** Slot holders, by slot. */
  #slots: (string | null)[];
  #taken = 0;
  /** Free slots, the next to take last: the lowest first, then the one freed last. */
  #free: number[];
  #colours = new ClientColours();
  #changed = true;

  /** @param maxClients Client slots: the Semaphore's permits. */
  constructor(maxClients: number) {
    this.#slots = Array(maxClients).fill(null);
    this.#free = Array.from({ length: maxClients }, (_, i) => maxClients - 1 - i);
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
   * A client's task is drawn: its colour stays on screen for a while after it leaves.
   *
   * @param conn The client.
   * @returns Its colour's key, or -1 when it already left.
   */
  drew(conn: string): number {
    const client = this.#clients.get(conn);
    if (!client) return -1;
    client.drew = true;
    return this.#colours.of(conn) ?? -1;
  }

  /**
   * The colour of a client present.
   *
   * @param conn The client.
   * @returns Its colour's key, or -1 when it already left.
   */
  colourOf(conn: string): number {
    return this.#colours.of(conn) ?? -1;
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
    this.#names.delete(conn);
    if (client.slot >= 0) {
      this.#slots[client.slot] = null;
      this.#free.push(client.slot);
      this.#taken--;
    }
    // Its bars may still be on screen: keep its colour its own until they are gone. A client
    // that drew nothing (turned away, or gone before counting) frees its colour at once.
    this.#colours.leave(conn, at, client.drew);
    this.#changed = true;
  }

  /**
   * The slots and the waiting line, each client with its colour.
   *
   * @returns The view.
   */
  view(): ClientsView {
    const waiting: ClientTag[] = [];
    let waitingCount = 0;
    for (const [conn, client] of this.#clients) {
      if (client.state !== "waiting") continue;
      if (waitingCount++ < DASHBOARD_WAITING_LISTED) waiting.push(this.#tag(conn));
    }
    return {
      slots: this.#slots.slice(0, DASHBOARD_SLOTS_SHOWN).map((c) =>
        c === null ? null : this.#tag(c)
      ),
      slotCount: this.#slots.length,
      taken: this.#taken,
      waiting,
      waitingCount,
    };
  }

  /**
   * The view if a client came, moved or left since the last call.
   *
   * @returns The view, or `undefined` when nothing changed.
   */
  takeChange(): ClientsView | undefined {
    if (!this.#changed) return undefined;
    this.#changed = false;
    return this.view();
  }

  #tag(conn: string): ClientTag {
    return [this.nameOf(conn), this.#colours.of(conn) ?? -1];
  }

  /**
   * A client named itself (`NAME alice`): it is shown by its name from now on.
   *
   * @param conn The client.
   * @param name Its name.
   */
  named(conn: string, name: string): void {
    if (!this.#clients.has(conn)) return;
    this.#names.set(conn, name);
    this.#changed = true;
  }

  /**
   * What the page calls a client: its name, or its address.
   *
   * @param conn The client.
   * @returns The name, or `conn`.
   */
  nameOf(conn: string): string {
    return this.#names.get(conn) ?? conn;
  }

  #setState(conn: string, state: "waiting" | "served", at: number): void {
    if (!this.#clients.has(conn)) this.accepted(conn, at);
    const client = this.#clients.get(conn)!;
    if (state === "served" && client.slot < 0) {
      client.slot = this.#free.pop() ?? -1;
      if (client.slot >= 0) {
        this.#slots[client.slot] = conn;
        this.#taken++;
      }
    } else if (state === "waiting" && client.slot >= 0) {
      // Back in line after its slot hold: its slot is someone else's now, and its place in
      // line is the end (the line is listed in the order of this map).
      this.#slots[client.slot] = null;
      this.#free.push(client.slot);
      this.#taken--;
      client.slot = -1;
      this.#clients.delete(conn);
      this.#clients.set(conn, client);
    }
    client.state = state;
    this.#changed = true;
  }
}
