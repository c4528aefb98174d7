/**
 * The bars the dashboard draws, one per increment run: those of the next
 * update, and a recent window for a page that connects.
 *
 * @module
 */
import {
  DASHBOARD_BARS_PER_UPDATE,
  DASHBOARD_HISTORY_BARS,
  DASHBOARD_HISTORY_MS,
  DASHBOARD_LANE_BARS_PER_UPDATE,
} from "../../defaults/defaults.ts";

/**
 * A finished task as the dashboard keeps it: `[task, lane, colour, startedAt,
 * endedAt, units]`, times in ms since the epoch by the Worker's own clock.
 */
export type Bar = [string, number, number, number, number, number];

/**
 * Bars of one lane that were only counted: how many, the first start, the last
 * end, the time they ran, and how many were each client's (by colour key).
 */
export interface LaneTally {
  count: number;
  from: number;
  to: number;
  /** The sum of their durations, in ms. */
  busyMs: number;
  /** Bars by colour key: at most the palette's keys (and -1), so bounded. */
  colours: Map<number, number>;
}

/**
 * Adds a bar to a tally by lane.
 *
 * @param tally The tally, changed in place.
 * @param bar The bar.
 */
export function tallyBar(tally: Map<number, LaneTally>, bar: Bar): void {
  const [, lane, colour, startedAt, endedAt] = bar;
  const entry = tally.get(lane);
  if (!entry) {
    const colours = new Map([[colour, 1]]);
    tally.set(lane, {
      count: 1,
      from: startedAt,
      to: endedAt,
      busyMs: endedAt - startedAt,
      colours,
    });
  } else {
    entry.count++;
    entry.from = Math.min(entry.from, startedAt);
    entry.to = Math.max(entry.to, endedAt);
    entry.busyMs += endedAt - startedAt;
    entry.colours.set(colour, (entry.colours.get(colour) ?? 0) + 1);
  }
}

/**
 * Collects bars for the next update, at most {@linkcode DASHBOARD_BARS_PER_UPDATE}
 * (the rest are tallied by lane; so are all of a lane's held bars when it has
 * more than {@linkcode DASHBOARD_LANE_BARS_PER_UPDATE}: then it has more
 * increments than pixels, and is drawn as its density), and keeps those sent for the last
 * {@linkcode DASHBOARD_HISTORY_MS}, at most {@linkcode DASHBOARD_HISTORY_BARS}.
 *
 * @example
 * ```ts
 * import { BarHistory } from "./bar_history.ts";
 * import assert from "node:assert/strict";
 *
 * const bars = new BarHistory();
 * const now = Date.now();
 * assert.ok(bars.add(["R1#1", 0, 3, now - 2, now - 1, 1]));
 * const { bars: taken, tally } = bars.take(now);
 * assert.deepEqual([taken, tally.size], [[["R1#1", 0, 3, now - 2, now - 1, 1]], 0]);
 * assert.equal(bars.recent(now).length, 1, "kept for a page that connects");
 * ```
 */
export class BarHistory {
  /** Bars sent, kept for a page that connects, oldest first. */
  #history: Bar[] = [];
  /** Bars for the next update. */
  #bars: Bar[] = [];
  /** Bars of the next update past its bound, by lane. */
  #tally = new Map<number, LaneTally>();

  /**
   * Adds a bar to the next update, if it has room; else tallies it.
   *
   * @param bar The bar.
   * @returns Whether it is held to be drawn one by one.
   */
  add(bar: Bar): boolean {
    if (this.#bars.length >= DASHBOARD_BARS_PER_UPDATE) {
      tallyBar(this.#tally, bar);
      return false;
    }
    this.#bars.push(bar);
    return true;
  }

  /**
   * The bars of the next update, and the tally of those past its bound; from
   * now on the bars are history.
   *
   * @param now Ms since the epoch.
   * @returns The bars, oldest first, and the tally by lane.
   */
  take(now: number): { bars: Bar[]; tally: Map<number, LaneTally> } {
    const perLane = new Map<number, number>();
    for (const bar of this.#bars) perLane.set(bar[1], (perLane.get(bar[1]) ?? 0) + 1);
    const bars: Bar[] = [];
    for (const bar of this.#bars) {
      if (perLane.get(bar[1])! > DASHBOARD_LANE_BARS_PER_UPDATE) tallyBar(this.#tally, bar);
      else bars.push(bar);
    }
    const taken = { bars, tally: this.#tally };
    for (const bar of bars) this.#history.push(bar);
    this.#trim(now);
    this.#bars = [];
    this.#tally = new Map();
    return taken;
  }

  /**
   * The bars a page that connects at `now` draws: the recent ones sent, and
   * those of the next update.
   *
   * @param now Ms since the epoch.
   * @returns The bars, oldest first.
   */
  recent(now: number): Bar[] {
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
