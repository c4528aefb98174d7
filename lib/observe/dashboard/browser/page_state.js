/**
 * What the dashboard page holds, and the helpers every panel draws with. The
 * client colours come in the page, as JSON in the script element with the id
 * `palette`.
 *
 * The page's script is the modules of this folder: plain JavaScript, so the
 * page gets these very files (`page_html.ts` imports them as text and joins
 * them into one script); `deno check` type-checks them against the DOM (this
 * folder's `deno.json`) and against the feed's own types.
 *
 * @module
 */

/**
 * A bar drawn in a lane, times on the server's clock: an increment
 * (`summary` 0), or a block of `summary` increments not sent one by one.
 * @typedef {{ el: HTMLElement, worker: number, colour: number, start: number, end: number, summary: number }} Bar
 */

"use strict"; // the page runs these modules as one classic script (see page_html.ts)
/** @type {readonly string[]} */
const PALETTE = JSON.parse($("palette").textContent ?? "[]");
export const state = {
  offset: 0,
  /** @type {string[]} */
  lanes: [],
  /** @type {Map<string, Bar>} */
  bars: new Map(),
  /** @type {Map<string, HTMLElement>} */
  requests: new Map(),
};

/**
 * The element with this id; the page has them all.
 * @param {string} id
 * @returns {HTMLElement}
 */
export function $(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`the page has no #${id}`);
  return node;
}

/**
 * The first element under `root` that matches; the script builds them all.
 * @param {ParentNode} root
 * @param {string} selector
 * @returns {HTMLElement}
 */
export function find(root, selector) {
  const node = root.querySelector(selector);
  if (!(node instanceof HTMLElement)) throw new Error(`no ${selector} on the page`);
  return node;
}

/**
 * @param {string} tag
 * @param {string} [className]
 * @param {string} [text]
 * @returns {HTMLElement}
 */
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}
export function serverNow() {
  return Date.now() + state.offset;
}

/**
 * A client's colour, from its key (`index + cue × palette size`; -1 when
 * unknown): its palette entry, and past the palette a pattern and an outline.
 * @param {HTMLElement} node
 * @param {number} colour
 */
export function paint(node, colour) {
  const index = colour % PALETTE.length;
  const cue = Math.floor(colour / PALETTE.length);
  const key = colour < 0 ? "none" : index + "/" + cue;
  if (node.dataset.colour === key) return;
  node.dataset.colour = key;
  if (colour < 0) {
    node.style.background = "#56616d";
    return;
  }
  const base = PALETTE[index];
  // Past the palette: the same hue in stripes, at an angle of their own, and an outline.
  node.style.background = cue === 0
    ? base
    : "repeating-linear-gradient(" + (45 + 50 * cue) + "deg, " + base + " 0 3px, #0b1015 3px 6px)";
  node.style.outline = cue === 0 ? "" : "1px solid " + base;
}
/**
 * A colour key's plain palette colour (grey when unknown).
 * @param {number} colour
 */
export function plainColour(colour) {
  return colour < 0 ? "#56616d" : PALETTE[colour % PALETTE.length];
}
/** @param {number} colour */
export function swatch(colour) {
  const node = el("span", "swatch");
  paint(node, colour);
  return node;
}
/**
 * A client, short: its port (`:60032`), or the name it gave itself.
 * @param {string} conn
 */
export function shortConn(conn) {
  return /:\d+$/.test(conn) ? ":" + conn.split(":").pop() : conn;
}
/**
 * @param {string} conn
 * @param {number} colour
 */
export function connLabel(conn, colour) {
  const span = el("span", "conn");
  span.append(swatch(colour), document.createTextNode(conn));
  return span;
}
