/**
 * The dashboard's palette size: how many clients get a colour of their own. The
 * dashboard's other bounds, on the server's memory and the page's work, are in
 * `lib/defaults/defaults.ts`.
 *
 * @module
 */
import { DASHBOARD_PALETTE } from "./page_style.ts";

/** Colours in the palette; past them, a client also gets a pattern (its `cue`). */
export const DASHBOARD_PALETTE_SIZE = DASHBOARD_PALETTE.length;
