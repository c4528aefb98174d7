/**
 * The colours the dashboard draws each client in.
 *
 * @module
 */
import { DASHBOARD_PALETTE_SIZE } from "./dashboard_bounds.ts";
import type { ClientColour } from "./dashboard_views.ts";
import { DASHBOARD_COLOUR_HOLD_MS } from "../../defaults/defaults.ts";

/**
 * Gives each client a colour no other client on screen has: the palette's
 * entries in arrival order, then the same hues again with a cue (1, 2, …).
 * A client that leaves keeps its colour for {@linkcode DASHBOARD_COLOUR_HOLD_MS}
 * if its bars may still show.
 *
 * A colour is one number, its key: `colour + cue × palette size`.
 *
 * @example
 * ```ts
 * import { ClientColours } from "./client_colours.ts";
 * import assert from "node:assert/strict";
 *
 * const colours = new ClientColours();
 * colours.assign("a", 0);
 * colours.assign("b", 0);
 * colours.hold("a", 1); // its bars are on screen: "a" keeps its colour
 * colours.assign("c", 2);
 * assert.deepEqual(colours.colours(2), [["b", 1, 0], ["c", 2, 0], ["a", 0, 0]]);
 * ```
 */
export class ClientColours {
  /** The key of each client present, in arrival order. */
  #keys = new Map<string, number>();
  #used = new Set<number>();
  /** Keys of clients that left, held until when. */
  #held = new Map<number, { conn: string; until: number }>();

  /**
   * Gives `conn` the first colour free at `at`, unless it has one.
   *
   * @param conn The client.
   * @param at When it arrived, ms since the epoch.
   */
  assign(conn: string, at: number): void {
    if (this.#keys.has(conn)) return;
    let key = 0;
    for (;; key++) {
      if (this.#used.has(key)) continue;
      const held = this.#held.get(key);
      if (held && held.until > at) continue;
      this.#held.delete(key);
      break;
    }
    this.#used.add(key);
    this.#keys.set(conn, key);
  }

  /**
   * Frees the colour of `conn`, which left and drew nothing: a newcomer may have it at once.
   *
   * @param conn The client.
   */
  free(conn: string): void {
    const key = this.#keys.get(conn);
    if (key === undefined) return;
    this.#keys.delete(conn);
    this.#used.delete(key);
  }

  /**
   * Frees the colour of `conn`, which left at `at` with bars that may still
   * show: no newcomer gets it for {@linkcode DASHBOARD_COLOUR_HOLD_MS}.
   *
   * @param conn The client.
   * @param at When it left, ms since the epoch.
   */
  hold(conn: string, at: number): void {
    const key = this.#keys.get(conn);
    if (key === undefined) return;
    this.free(conn);
    this.#held.set(key, { conn, until: at + DASHBOARD_COLOUR_HOLD_MS });
  }

  /**
   * The colour of every client on screen at `now`: those present, in arrival
   * order, then those that left and are held; forgets holds that are over.
   *
   * @param now Ms since the epoch.
   * @returns `[conn, colour, cue]` for each.
   */
  colours(now: number): ClientColour[] {
    const colours: ClientColour[] = [];
    for (const [conn, key] of this.#keys) colours.push(colourOf(conn, key));
    for (const [key, held] of this.#held) {
      if (held.until <= now) this.#held.delete(key);
      else colours.push(colourOf(held.conn, key));
    }
    return colours;
  }
}

function colourOf(conn: string, key: number): ClientColour {
  return [conn, key % DASHBOARD_PALETTE_SIZE, Math.floor(key / DASHBOARD_PALETTE_SIZE)];
}
