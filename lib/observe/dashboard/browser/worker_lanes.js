/**
 * The dashboard page's Worker pool: a lane per Worker with a bar per
 * increment it ran, over a window of 2, 10 or 60 s, and the tasks queued on each.
 *
 * @module
 */
import { $, el, find, paint, serverNow, state } from "./page_state.js";

/** @typedef {import("./page_state.js").Bar} Bar */
/** @typedef {import("../dashboard_views.ts").TaskBar} TaskBar */
/** @typedef {import("../dashboard_views.ts").BarSummary} BarSummary */
/** @typedef {import("../dashboard_views.ts").LanesView} LanesView */

const DEFAULT_WINDOW_S = 2;
const LONGEST_WINDOW_MS = 60000;
const MAX_BARS = 6000;
let windowMs = 1000 *
  (Number(new URLSearchParams(location.search).get("window")) || DEFAULT_WINDOW_S);

/** @param {LanesView} view */
export function buildLanes(view) {
  const names = view.names;
  const more = $("lanes-more");
  more.hidden = view.total <= names.length;
  more.textContent = "+ " + (view.total - names.length) + " more lanes, not drawn";
  state.lanes = names.slice();
  const lanes = $("lanes");
  lanes.textContent = "";
  names.forEach((name, i) => {
    const lane = el("div", "lane");
    lane.dataset.worker = String(i);
    lane.append(el("div", "name", name), el("div", "track"), el("div", "queue"));
    lanes.appendChild(lane);
  });
  for (const bar of state.bars.values()) {
    const track = trackOf(bar.worker);
    if (track) track.appendChild(bar.el);
  }
}
/** @param {number} worker */
function laneOf(worker) {
  return document.querySelector('.lane[data-worker="' + worker + '"]');
}
/** @param {number} worker */
function trackOf(worker) {
  if (!laneOf(worker)) {
    const names = state.lanes.concat(
      Array.from(
        { length: worker + 1 - state.lanes.length },
        (_, i) => "worker " + (state.lanes.length + i),
      ),
    );
    buildLanes({ names, total: names.length });
  }
  return find(/** @type {Element} */ (laneOf(worker)), ".track");
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
  for (const button of document.querySelectorAll("#zoom button")) {
    if (!(button instanceof HTMLElement)) continue;
    button.classList.toggle("on", Number(button.dataset.window) * 1000 === windowMs);
  }
}
for (const button of document.querySelectorAll("#zoom button")) {
  if (!(button instanceof HTMLElement)) continue;
  button.addEventListener("click", () => {
    windowMs = Number(button.dataset.window) * 1000;
    buildAxis();
  });
}

/**
 * Draws a bar; its times are relative to the message's `now`.
 * @param {TaskBar} bar
 * @param {number} now
 */
export function addBar([task, worker, colour, start, end, units], now) {
  if (state.bars.has(task)) return;
  const node = el("div", "bar");
  node.dataset.task = task;
  node.title = task + " · " + (state.lanes[worker] || "worker " + worker) + " · " +
    units + (units === 1 ? " unit, " : " units, ") + (end - start).toFixed(1) + " ms";
  keep(task, node, { worker, colour, start: now + start, end: now + end, summary: 0 });
}

/**
 * Draws the increments of a lane that were not sent one by one as one hatched block.
 * @param {BarSummary} summary
 * @param {number} now
 */
export function addSummary([worker, count, from, to], now) {
  const key = "S" + worker + "@" + (now + from) + "-" + (now + to);
  const node = el("div", "bar summary");
  node.dataset.summary = String(count);
  node.title = count + " increments on " + (state.lanes[worker] || "worker " + worker) +
    ", not drawn one by one: more than one update carries";
  keep(key, node, { worker, colour: -1, start: now + from, end: now + to, summary: count });
  renderSummarised();
}

/**
 * @param {string} key
 * @param {HTMLElement} node
 * @param {Omit<Bar, "el">} bar
 */
function keep(key, node, bar) {
  trackOf(bar.worker).appendChild(node);
  state.bars.set(key, { el: node, ...bar });
  if (state.bars.size > MAX_BARS) {
    const [oldest, old] = /** @type {[string, Bar]} */ (state.bars.entries().next().value);
    old.el.remove();
    state.bars.delete(oldest);
  }
}

/** Says how many increments on screen are drawn only in summaries. */
function renderSummarised() {
  let count = 0;
  for (const bar of state.bars.values()) count += bar.summary;
  const note = $("summarised");
  note.hidden = count === 0;
  note.textContent = count + " increments of the last minute are drawn as hatched blocks: " +
    "more finished than the page is sent one by one";
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
    box.appendChild(document.createTextNode(n === 0 ? "none queued" : n + " queued"));
  });
}

export function frame() {
  const now = serverNow();
  const from = now - windowMs;
  let forgot = false;
  for (const [task, bar] of state.bars) {
    if (bar.end < now - LONGEST_WINDOW_MS) {
      bar.el.remove();
      state.bars.delete(task);
      forgot ||= bar.summary > 0;
      continue;
    }
    if (bar.end < from) {
      bar.el.style.display = "none";
      continue;
    }
    bar.el.style.display = "";
    const left = Math.max(0, (bar.start - from) / windowMs * 100);
    const right = Math.min(100, (bar.end - from) / windowMs * 100);
    bar.el.style.left = left + "%";
    bar.el.style.width = Math.max(0, right - left) + "%";
    if (bar.summary === 0) paint(bar.el, bar.colour);
  }
  if (forgot) renderSummarised();
  requestAnimationFrame(frame);
}
