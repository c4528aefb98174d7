/**
 * How much the live dashboard keeps, sends and shows, and how often: every
 * bound of the dashboard in one place. They bound the server's memory, the
 * bytes and CPU each page costs, and the page's work, however many clients,
 * increments and pages come.
 *
 * @module
 */
import { DASHBOARD_PALETTE } from "./page_style.ts";

/** Time between two updates sent to the pages, in ms. */
export const DASHBOARD_INTERVAL_MS = 250;
/**
 * Most bytes of one message to a page, the first (the snapshot) and every
 * update: what does not fit is summarised, and the message says so.
 */
export const DASHBOARD_MESSAGE_BYTES = 64 * 1024;
/** Pages (event streams) open at once; one more is answered 503. */
export const DASHBOARD_MAX_PAGES = 100;
/**
 * Bytes a page may leave unread before it is dropped (its stream closed; a
 * browser reconnects by itself and gets a fresh snapshot): four messages of the
 * largest size.
 */
export const DASHBOARD_STREAM_MAX_QUEUED_BYTES = 4 * DASHBOARD_MESSAGE_BYTES;
/** How long a page may leave a message unread before it is dropped, in ms. */
export const DASHBOARD_STREAM_STALL_MS = 10_000;
/** Time the dashboard keeps finished bars for a page that connects, in ms. */
export const DASHBOARD_HISTORY_MS = 10_000;
/** Most finished bars kept for a page that connects. */
export const DASHBOARD_HISTORY_BARS = 4000;
/** Most bars held for the next update; the rest are only counted, in its summary. */
export const DASHBOARD_BARS_PER_UPDATE = 2000;
/** Finished requests the dashboard lists. */
export const DASHBOARD_FINISHED_KEPT = 20;
/** Waiting clients listed by name; the rest are counted. */
export const DASHBOARD_WAITING_LISTED = 50;
/** Client slots shown one by one; past them, the slots taken are counted. */
export const DASHBOARD_SLOTS_SHOWN = 64;
/** Requests in flight (and their Mutex) listed, oldest first; the rest are counted. */
export const DASHBOARD_REQUESTS_LISTED = 32;
/** Worker lanes drawn; the bars of the others are not sent, and the page counts those lanes. */
export const DASHBOARD_LANES_SHOWN = 256;
/** Longest lane name sent, in characters (a node names its own lanes). */
export const DASHBOARD_NAME_CHARS = 64;
/**
 * How long a client's colour stays its own after it leaves, in ms: as long as
 * the longest window the page shows, so its bars never share a colour with a
 * newcomer's while colours last.
 */
export const DASHBOARD_COLOUR_HOLD_MS = 60_000;
/** Colours in the palette; past them, a client also gets a pattern (its `cue`). */
export const DASHBOARD_PALETTE_SIZE = DASHBOARD_PALETTE.length;
/** Patterns (cues) per palette colour, the plain one included. */
export const DASHBOARD_CUES = 6;
/**
 * Distinct client colours: palette × cues. Past them, a newcomer shares the
 * colour that is used least and freed soonest; giving one costs at most two
 * passes over them, however many clients came and went.
 */
export const DASHBOARD_COLOURS = DASHBOARD_PALETTE_SIZE * DASHBOARD_CUES;
/** Numbers longer than this many characters are sent as their first and last digits. */
export const DASHBOARD_DIGITS_SHOWN = 20;
