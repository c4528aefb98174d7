/**
 * How much the live dashboard keeps, sends and shows, and how often: every
 * bound of the dashboard in one place. They bound the server's memory and the
 * page's work however many clients and increments come.
 *
 * @module
 */
import { DASHBOARD_PALETTE } from "./page_style.ts";

/** Time between two updates sent to the pages, in ms. */
export const DASHBOARD_INTERVAL_MS = 250;
/** Updates a page may fall behind by before it is dropped rather than buffered without end. */
export const DASHBOARD_MAX_BEHIND = 64;
/** Time the dashboard keeps finished bars for a page that connects, in ms. */
export const DASHBOARD_HISTORY_MS = 10_000;
/** Most finished bars kept for a page that connects. */
export const DASHBOARD_HISTORY_BARS = 4000;
/** Most bars in one update; the rest are counted as skipped. */
export const DASHBOARD_BARS_PER_UPDATE = 2000;
/** Finished requests the dashboard lists. */
export const DASHBOARD_FINISHED_KEPT = 20;
/** Waiting clients listed by name; the rest are counted. */
export const DASHBOARD_WAITING_LISTED = 50;
/**
 * How long a client's colour stays its own after it leaves, in ms: as long as
 * the longest window the page shows, so its bars never share a colour with a newcomer's.
 */
export const DASHBOARD_COLOUR_HOLD_MS = 60_000;
/** Colours in the palette; past them, a client also gets a pattern (its `cue`). */
export const DASHBOARD_PALETTE_SIZE = DASHBOARD_PALETTE.length;
/** Numbers longer than this many characters are sent as their first and last digits. */
export const DASHBOARD_DIGITS_SHOWN = 20;
