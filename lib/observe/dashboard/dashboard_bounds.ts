/**
 * The dashboard's colours: how many clients get a colour of their own, from the
 * palette the page is sent. The dashboard's other bounds, on the server's memory,
 * the bytes and CPU each page costs and the page's work, are in
 * `lib/defaults/defaults.ts`.
 *
 * @module
 */
import { DASHBOARD_CUES } from "../../defaults/defaults.ts";
import { DASHBOARD_PALETTE } from "./page_style.ts";

/** Colours in the palette; past them, a client also gets a pattern (its `cue`). */
export const DASHBOARD_PALETTE_SIZE = DASHBOARD_PALETTE.length;
/**
 * Distinct client colours: palette × cues. Past them, a newcomer shares the
 * colour that is used least and freed soonest; giving one costs at most two
 * passes over them, however many clients came and went.
 */
export const DASHBOARD_COLOURS = DASHBOARD_PALETTE_SIZE * DASHBOARD_CUES;
