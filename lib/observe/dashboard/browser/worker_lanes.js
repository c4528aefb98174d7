/**
 * The dashboard page's Worker pool: a lane per Worker with a bar per
 * increment it ran, over a window of 2, 10 or 60 s, and the tasks queued on each.
 *
 * Each bar is placed once, on a strip that stands for the server's clock; a
 * frame only slides each lane's strip (one transform a lane), so the page's
 * work does not grow with the bars on screen.
 *
 * @module
 */
import { $, el, find, paint, plainColour, serverNow, state } from "./page_state.js";

/** @typedef {import("./page_state.js").Bar} Bar */
/** @typedef {import("../dashboard_views.ts").TaskBar} TaskBar */
/** @typedef {import("../dashboard_views.ts").BarSummary} BarSummary */
/** @typedef {import("../dashboard_views.ts").LanesView} LanesView */
/** @typedef {import("../dashboard_views.ts").RunningBar} RunningBar */

const DEFAULT_WINDOW_S = 2;
const LONGEST_WINDOW_MS = 60000;
const MAX_BARS = 6000;
/** How often bars past the longest window are dropped, in ms. */
const PRUNE_EVERY_MS = 1000;
/** How far a strip may slide, in windows, before its bars are placed again from a new origin. */
const REBASE_WINDOWS = 10;
let windowMs = 1000 *
  (Number(new URLSearchParams(location.search).get("window")) || DEFAULT_WINDOW_S);
/** The server time at a strip's left edge before it slides, in ms. */
let origin = 0;
let prunedAt = 0;
/** While paused: the server time the picture stands at, scrubbed back up to a minute. */
let pausedAt = 0;
let scrubMs = 0;
/** The lanes last marked gone. */
let goneLanes = new Set();
/**
 * The increment each lane runs now, drawn from its start up to now.
 * @type {Map<number, { el: HTMLElement, start: number }>}
 */
const running = new Map();

/** @param {LanesView} view */
export function buildLanes(view) {
  const names = view.names;
  // A lane that now names another Worker (a node left, another took its place): its bars
  // were the old Worker's, so they go.
  for (const [key, bar] of state.bars) {
    if (state.lanes[bar.worker] !== undefined && state.lanes[bar.worker] !== names[bar.worker]) {
      bar.el.remove();
      state.bars.delete(key);
    }
  }
  const gone = new Set(view.gone ?? []);
  goneLanes = gone;
  const more = $("lanes-more");
  more.hidden = view.total <= names.length;
  more.textContent = "+ " + (view.total - names.length) + " more lanes, not drawn";
  state.lanes = names.slice();
  const lanes = $("lanes");
  lanes.textContent = "";
  names.forEach((name, i) => {
    const lane = el("div", "lane" + (gone.has(i) ? " gone" : ""));
    lane.dataset.worker = String(i);
    const label = el("div", "name", gone.has(i) ? "gone" : name);
    label.title = gone.has(i) ? "its node left; the lane waits for another node" : name;
    const track = el("div", "track");
    track.appendChild(el("div", "strip"));
    lane.append(label, track, el("div", "queue"));
    lanes.appendChild(lane);
  });
  for (const bar of state.bars.values()) {
    const strip = stripOf(bar.worker);
    if (strip) strip.appendChild(bar.el);
  }
  for (const [worker, bar] of running) {
    if (worker < names.length) stripOf(worker).appendChild(bar.el);
  }
}

/**
 * Draws what each Worker runs now, from its start; its end comes as a bar.
 * @param {RunningBar[]} bars
 * @param {number} now
 */
export function renderRunning(bars, now) {
  const seen = new Set();
  for (const [task, worker, colour, start] of bars) {
    if (worker >= state.lanes.length || goneLanes.has(worker)) continue;
    seen.add(worker);
    let bar = running.get(worker);
    if (!bar) {
      bar = { el: el("div", "bar running"), start: 0 };
      running.set(worker, bar);
      stripOf(worker).appendChild(bar.el);
    }
    bar.start = now + start;
    bar.el.dataset.task = task;
    bar.el.title = task + " · running since " + (-start / 1000).toFixed(2) + " s";
    bar.el.style.left = (bar.start - origin) / windowMs * 100 + "%";
    paint(bar.el, colour);
  }
  for (const [worker, bar] of running) {
    if (seen.has(worker)) continue;
    bar.el.remove();
    running.delete(worker);
  }
}
/** @param {number} worker */
function laneOf(worker) {
  return document.querySelector('.lane[data-worker="' + worker + '"]');
}
/** @param {number} worker */
function stripOf(worker) {
  if (!laneOf(worker)) {
    const names = state.lanes.concat(
      Array.from(
        { length: worker + 1 - state.lanes.length },
        (_, i) => "worker " + (state.lanes.length + i),
      ),
    );
    buildLanes({ names, total: names.length, gone: [...goneLanes] });
  }
  return find(/** @type {Element} */ (laneOf(worker)), ".strip");
}

export function buildAxis() {
  const axis = $("axis");
  axis.textContent = "";
  const seconds = windowMs / 1000;
  for (let i = 4; i >= 0; i--) {
    const s = i * seconds / 4;
    const tick = el(
      "span",
      "",
      s === 0 ? "now" : "−" + (Number.isInteger(s) ? s : s.toFixed(1)) + " s",
    );
    tick.style.left = (100 - s * 1000 / windowMs * 100) + "%";
    axis.appendChild(tick);
  }
  for (const button of document.querySelectorAll("#zoom button[data-window]")) {
    if (!(button instanceof HTMLElement)) continue;
    button.classList.toggle("on", Number(button.dataset.window) * 1000 === windowMs);
  }
}
$("pause").addEventListener("click", () => {
  const scrub = /** @type {HTMLInputElement} */ ($("scrub"));
  pausedAt = pausedAt === 0 ? serverNow() : 0;
  scrubMs = 0;
  scrub.value = "0";
  scrub.disabled = pausedAt === 0;
  $("pause").textContent = pausedAt === 0 ? "pause" : "live";
  $("scrub-text").textContent = pausedAt === 0 ? "" : "paused";
});
$("scrub").addEventListener("input", () => {
  scrubMs = Number(/** @type {HTMLInputElement} */ ($("scrub")).value) * 1000;
  $("scrub-text").textContent = scrubMs === 0 ? "paused" : "−" + scrubMs / 1000 + " s";
});
for (const button of document.querySelectorAll("#zoom button[data-window]")) {
  if (!(button instanceof HTMLElement)) continue;
  button.addEventListener("click", () => {
    windowMs = Number(button.dataset.window) * 1000;
    buildAxis();
    rebase(serverNow());
  });
}

/**
 * Places a bar on its strip: from the origin, in shares of the window.
 * @param {Bar} bar
 */
function place(bar) {
  bar.el.style.left = (bar.start - origin) / windowMs * 100 + "%";
  bar.el.style.width = Math.max(0, bar.end - bar.start) / windowMs * 100 + "%";
}

/**
 * Starts the strips again from `now`'s window, and places every bar anew.
 * @param {number} now
 */
function rebase(now) {
  origin = now - windowMs;
  for (const bar of state.bars.values()) place(bar);
  for (const bar of running.values()) {
    bar.el.style.left = (bar.start - origin) / windowMs * 100 + "%";
  }
}

/**
 * Draws a bar; its times are relative to the message's `now`.
 * @param {TaskBar} bar
 * @param {number} now
 */
export function addBar([task, worker, colour, start, end, units], now) {
  // A gone lane has no Worker: a bar sent for it ran on the node that left, so it is not drawn.
  if (state.bars.has(task) || goneLanes.has(worker)) return;
  const node = el("div", "bar");
  node.dataset.task = task;
  node.title = task + " · " + (state.lanes[worker] || "worker " + worker) + " · " +
    units + (units === 1 ? " unit, " : " units, ") + (end - start).toFixed(1) + " ms";
  paint(node, colour);
  keep(task, node, { worker, colour, start: now + start, end: now + end, summary: 0 });
}

/**
 * Draws the increments of a lane that were not sent one by one as their
 * density: a block inked by the share of its span the Worker was busy, in
 * the clients' colours by their shares (top to bottom).
 * @param {BarSummary} summary
 * @param {number} now
 */
export function addSummary([worker, count, from, to, busy, colours], now) {
  if (goneLanes.has(worker)) return;
  const key = "S" + worker + "@" + (now + from) + "-" + (now + to);
  const node = el("div", "bar summary");
  node.dataset.summary = String(count);
  node.dataset.busy = String(busy);
  let at = 0;
  const stops = colours.map(([colour, percent]) => {
    const stop = plainColour(colour) + " " + at + "% " + (at += percent) + "%";
    return stop;
  });
  node.style.background = stops.length > 1
    ? "linear-gradient(to bottom, " + stops.join(", ") + ")"
    : plainColour(colours[0]?.[0] ?? -1);
  node.style.opacity = String(0.15 + 0.85 * busy / 1000);
  node.title = count + " increments on " + (state.lanes[worker] || "worker " + worker) +
    ", busy " + Math.round(busy / 10) + "% of this span; drawn as their density, " +
    "not one by one: more ended than an update carries";
  keep(key, node, { worker, colour: -1, start: now + from, end: now + to, summary: count });
  renderSummarised();
}

/**
 * @param {string} key
 * @param {HTMLElement} node
 * @param {Omit<Bar, "el">} bar
 */
function keep(key, node, bar) {
  if (origin === 0) origin = serverNow() - windowMs;
  const kept = { el: node, ...bar };
  place(kept);
  stripOf(bar.worker).appendChild(node);
  state.bars.set(key, kept);
  if (state.bars.size > MAX_BARS) {
    const [oldest, old] = /** @type {[string, Bar]} */ (state.bars.entries().next().value);
    old.el.remove();
    state.bars.delete(oldest);
  }
}

/** Says how many increments on screen are drawn only as their density. */
function renderSummarised() {
  let count = 0;
  for (const bar of state.bars.values()) count += bar.summary;
  const note = $("summarised");
  note.hidden = count === 0;
  note.textContent = count + " increments of the last minute are drawn as their density " +
    "(a block inked by the share of time its Worker was busy, in the clients' colours): " +
    "more ended than the page is sent one by one";
}

/** @param {readonly number[]} queued */
export function renderQueued(queued) {
  state.lanes.forEach((_, i) => {
    const lane = laneOf(i);
    if (!lane) return;
    const box = find(lane, ".queue");
    const n = queued[i] || 0;
    if (box.dataset.queued === String(n)) return;
    box.dataset.queued = String(n);
    box.textContent = "";
    for (let k = 0; k < Math.min(n, 4); k++) box.appendChild(el("span", "slot"));
    box.appendChild(document.createTextNode(n === 0 ? "none waiting" : n + " waiting"));
    box.title = n + " handed to this Worker, not started yet";
  });
}

/**
 * Drops the bars past the longest window.
 * @param {number} now
 */
function prune(now) {
  let forgot = false;
  for (const [key, bar] of state.bars) {
    if (bar.end >= now - LONGEST_WINDOW_MS) continue;
    bar.el.remove();
    state.bars.delete(key);
    forgot ||= bar.summary > 0;
  }
  if (forgot) renderSummarised();
}

export function frame() {
  const live = serverNow();
  if (live - prunedAt >= PRUNE_EVERY_MS) {
    prunedAt = live;
    // Paused, the minute before the picture's time stays, so it can be scrubbed.
    prune(pausedAt === 0 ? live : Math.min(live, pausedAt));
  }
  const now = pausedAt === 0 ? live : pausedAt - scrubMs;
  if (origin === 0 || now - windowMs - origin > REBASE_WINDOWS * windowMs) rebase(now);
  const shift = "translateX(" + -((now - windowMs - origin) / windowMs * 100) + "%)";
  for (const strip of document.querySelectorAll(".strip")) {
    if (strip instanceof HTMLElement) strip.style.transform = shift;
  }
  for (const bar of running.values()) {
    bar.el.style.width = Math.max(0, now - bar.start) / windowMs * 100 + "%";
  }
  requestAnimationFrame(frame);
}
