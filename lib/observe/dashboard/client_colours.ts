/**
 * The colours the dashboard draws each client in.
 *
 * @module
 */
import { DASHBOARD_COLOUR_HOLD_MS } from "../../defaults/defaults.ts";
import { DASHBOARD_COLOURS } from "./dashboard_bounds.ts";

/**
 * Gives each client a colour no other client on screen has: the palette's
 * entries in arrival order, then the same hues again with a cue (1, 2, …), up
 * to {@linkcode DASHBOARD_COLOURS}. A client that leaves with bars on screen
 * keeps its colour from newcomers for {@linkcode DASHBOARD_COLOUR_HOLD_MS}.
 * Past the colours, a newcomer shares the one used by the fewest clients, and
 * of those the one whose hold ends first.
 *
 * The state is a count and a hold per colour, not per client that left, so
 * giving a colour costs the same however many clients came and went.
 *
 * A colour is one number, its key: `palette index + cue × palette size`.
 *
 * @example
 * ```ts
 * import { ClientColours } from "./client_colours.ts";
 * import assert from "node:assert/strict";
 *
 * const colours = new ClientColours();
 * assert.equal(colours.assign("a", 0), 0);
 * assert.equal(colours.assign("b", 0), 1);
 * colours.leave("a", 1, true); // its bars are on screen: no newcomer gets 0 for a while
 * assert.equal(colours.assign("c", 2), 2);
 * colours.leave("b", 3, false); // it drew nothing: 1 is free at once
 * assert.equal(colours.assign("d", 4), 1);
 * ```
 */
export class ClientColours {
  /** The key of each client present. */
  #keys = new Map<string, number>();
  /** Clients present, by key. */
  #users = new Uint32Array(DASHBOARD_COLOURS);
  /** Until when a key is held for the bars of a client that left, ms since the epoch. */
  #heldUntil = new Float64Array(DASHBOARD_COLOURS);

  /**
   * Gives `conn` the first colour free at `at`, unless it has one.
   *
   * @param conn The client.
   * @param at When it arrived, ms since the epoch.
   * @returns Its colour's key.
   */
  assign(conn: string, at: number): number {
    const known = this.#keys.get(conn);
    if (known !== undefined) return known;
    let key = -1;
    for (let k = 0; k < DASHBOARD_COLOURS; k++) {
      if (this.#users[k] === 0 && this.#heldUntil[k] <= at) {
        key = k;
        break;
      }
    }
    if (key < 0) key = this.#leastTaken();
    this.#users[key]++;
    this.#keys.set(conn, key);
    return key;
  }

  /**
   * The colour of a client present.
   *
   * @param conn The client.
   * @returns Its key, or `undefined` when it is not present.
   */
  of(conn: string): number | undefined {
    return this.#keys.get(conn);
  }

  /**
   * `conn` left at `at`. If its bars may still show, no newcomer gets its
   * colour for {@linkcode DASHBOARD_COLOUR_HOLD_MS}; else its colour is free at once.
   *
   * @param conn The client.
   * @param at When it left, ms since the epoch.
   * @param drew Whether bars of its tasks were drawn.
   */
  leave(conn: string, at: number, drew: boolean): void {
    const key = this.#keys.get(conn);
    if (key === undefined) return;
    this.#keys.delete(conn);
    this.#users[key]--;
    if (drew) this.#heldUntil[key] = Math.max(this.#heldUntil[key], at + DASHBOARD_COLOUR_HOLD_MS);
  }

  /** The key used by the fewest clients present, and of those the one held the shortest. */
  #leastTaken(): number {
    let best = 0;
    for (let k = 1; k < DASHBOARD_COLOURS; k++) {
      const fewer = this.#users[k] < this.#users[best];
      const same = this.#users[k] === this.#users[best];
      if (fewer || (same && this.#heldUntil[k] < this.#heldUntil[best])) best = k;
    }
    return best;
  }
}
