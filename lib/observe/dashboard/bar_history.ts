/**
 * The bars the dashboard draws, one per increment run: those of the next
 * update, and a recent window for a page that connects.
 *
 * @module
 */
import type { TaskBar } from "./dashboard_views.ts";
import {
  DASHBOARD_BARS_PER_UPDATE,
  DASHBOARD_HISTORY_BARS,
  DASHBOARD_HISTORY_MS,
} from "../../defaults/defaults.ts";

/**
 * Collects bars for the next update, at most {@linkcode DASHBOARD_BARS_PER_UPDATE}
 * (the rest are counted as skipped), and keeps those sent for the last
 * {@linkcode DASHBOARD_HISTORY_MS}, at most {@linkcode DASHBOARD_HISTORY_BARS}.
 *
 * @example
 * ```ts
 * import { BarHistory } from "./bar_history.ts";
 * import assert from "node:assert/strict";
 *
 * const bars = new BarHistory();
 * const now = Date.now();
 * assert.ok(bars.add(["R1#1", 0, "a", now - 2, now - 1, 1]));
 * assert.deepEqual(bars.take(now), { bars: [["R1#1", 0, "a", now - 2, now - 1, 1]], skipped: 0 });
 * assert.equal(bars.recent(now).length, 1, "kept for a page that connects");
 * ```
 */
export class BarHistory {
  /** Bars sent, kept for a page that connects, oldest first. */
  #history: TaskBar[] = [];
  /** Bars for the next update. */
  #bars: TaskBar[] = [];
  #skipped = 0;

  /**
   * Adds a bar to the next update, if it has room.
   *
   * @param bar The bar.
   * @returns Whether it will be drawn; if not, it is counted as skipped.
   */
  add(bar: TaskBar): boolean {
    if (this.#bars.length >= DASHBOARD_BARS_PER_UPDATE) {
      this.#skipped++;
      return false;
    }
    this.#bars.push(bar);
    return true;
  }

  /**
   * The bars of the next update and how many were skipped; from now on they are history.
   *
   * @param now Ms since the epoch.
   * @returns The bars, oldest first, and the count of those left out.
   */
  take(now: number): { bars: TaskBar[]; skipped: number } {
    const taken = { bars: this.#bars, skipped: this.#skipped };
    for (const bar of this.#bars) this.#history.push(bar);
    this.#trim(now);
    this.#bars = [];
    this.#skipped = 0;
    return taken;
  }

  /**
   * The bars a page that connects at `now` draws: the recent ones sent, and
   * those of the next update.
   *
   * @param now Ms since the epoch.
   * @returns The bars, oldest first.
   */
  recent(now: number): TaskBar[] {
    this.#trim(now);
    return [...this.#history, ...this.#bars];
  }

  #trim(now: number): void {
    const from = now - DASHBOARD_HISTORY_MS;
    let drop = Math.max(0, this.#history.length - DASHBOARD_HISTORY_BARS);
    while (drop < this.#history.length && this.#history[drop][4] < from) drop++;
    if (drop > 0) this.#history.splice(0, drop);
  }
}
