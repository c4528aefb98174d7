/**
 * The dashboard page's script: it draws the snapshot it gets on connecting,
 * then each update, from the Server-Sent Events at `/events`. It expects
 * `PALETTE` (the client colours) to be defined before it.
 *
 * @module
 */

/** The page's JavaScript, run in the browser. */
export const DASHBOARD_SCRIPT = String.raw`
"use strict";
const DEFAULT_WINDOW_S = 2;
const LONGEST_WINDOW_MS = 60000;
const MAX_BARS = 6000;
let windowMs = 1000 * (Number(new URLSearchParams(location.search).get("window")) || DEFAULT_WINDOW_S);
const state = {
  offset: 0, maxClients: 0, lanes: [], bars: new Map(), colours: new Map(),
  requests: new Map(), running: 0,
};
const $ = (id) => document.getElementById(id);

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}
function serverNow() { return Date.now() + state.offset; }

/** A client's colour: its palette entry, and past the palette a pattern and a label. */
function paint(node, conn) {
  const colour = state.colours.get(conn);
  const key = colour ? colour[0] + "/" + colour[1] : "none";
  if (node.dataset.colour === key) return;
  node.dataset.colour = key;
  if (!colour) { node.style.background = "#56616d"; return; }
  const [index, cue] = colour;
  const base = PALETTE[index % PALETTE.length];
  // Past the palette: the same hue in stripes, at an angle of their own, and an outline.
  node.style.background = cue === 0 ? base
    : "repeating-linear-gradient(" + (45 + 50 * cue) + "deg, " + base + " 0 3px, #0b1015 3px 6px)";
  node.style.outline = cue === 0 ? "" : "1px solid " + base;
}
function swatch(conn) {
  const node = el("span", "swatch");
  node.dataset.owner = conn;
  paint(node, conn);
  return node;
}
function connLabel(conn) {
  const span = el("span", "conn");
  span.append(swatch(conn), document.createTextNode(conn));
  return span;
}

function buildLanes(names) {
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
function laneOf(worker) { return document.querySelector('.lane[data-worker="' + worker + '"]'); }
function trackOf(worker) {
  if (!laneOf(worker)) buildLanes(state.lanes.concat(
    Array.from({ length: worker + 1 - state.lanes.length }, (_, i) => "worker " + (state.lanes.length + i))));
  return laneOf(worker).querySelector(".track");
}

function buildAxis() {
  const axis = $("axis");
  axis.textContent = "";
  const seconds = windowMs / 1000;
  for (let i = 4; i >= 0; i--) {
    const s = i * seconds / 4;
    const tick = el("span", "", s === 0 ? "now" : "−" + (Number.isInteger(s) ? s : s.toFixed(1)) + " s");
    tick.style.left = (100 - s * 1000 / windowMs * 100) + "%";
    axis.appendChild(tick);
  }
  for (const button of document.querySelectorAll("#zoom button")) {
    button.classList.toggle("on", Number(button.dataset.window) * 1000 === windowMs);
  }
}
for (const button of document.querySelectorAll("#zoom button")) {
  button.addEventListener("click", () => { windowMs = Number(button.dataset.window) * 1000; buildAxis(); });
}

function addBar([task, worker, conn, start, end, units]) {
  if (state.bars.has(task)) return;
  const node = el("div", "bar");
  node.dataset.task = task;
  node.dataset.conn = conn;
  node.title = task + " · " + conn + " · " + (state.lanes[worker] || "worker " + worker) + " · " +
    units + (units === 1 ? " unit, " : " units, ") + (end - start).toFixed(1) + " ms";
  trackOf(worker).appendChild(node);
  state.bars.set(task, { el: node, worker, conn, start, end });
  if (state.bars.size > MAX_BARS) {
    const [oldest, bar] = state.bars.entries().next().value;
    bar.el.remove();
    state.bars.delete(oldest);
  }
}

function renderQueued(queued) {
  state.lanes.forEach((_, i) => {
    const lane = laneOf(i);
    if (!lane) return;
    const box = lane.querySelector(".queue");
    const n = queued[i] || 0;
    if (box.dataset.queued === String(n)) return;
    box.dataset.queued = String(n);
    box.textContent = "";
    for (let k = 0; k < Math.min(n, 4); k++) box.appendChild(el("span", "slot"));
    box.appendChild(document.createTextNode(n === 0 ? "none queued" : n + " queued"));
  });
}

function renderClients(clients) {
  state.colours = new Map(clients.colours.map(([conn, index, cue]) => [conn, [index, cue]]));
  const slots = $("slots");
  slots.textContent = "";
  let taken = 0;
  clients.slots.forEach((conn, i) => {
    const box = el("div", "box " + (conn ? "taken" : "free"));
    box.dataset.slot = String(i);
    if (conn) {
      taken++;
      box.dataset.conn = conn;
      box.append(swatch(conn), document.createTextNode(":" + conn.split(":").pop()));
      box.title = "slot " + (i + 1) + ": " + conn;
    } else {
      box.textContent = "free";
    }
    slots.appendChild(box);
  });
  $("slots-title").textContent = taken + " of " + clients.slots.length + " taken";
  const line = $("waiting");
  line.textContent = "";
  clients.waiting.forEach((conn, i) => {
    const li = el("li");
    li.dataset.waiting = conn;
    li.append(document.createTextNode((i + 1) + "."), swatch(conn), document.createTextNode(conn));
    line.appendChild(li);
  });
  const more = clients.waitingCount - clients.waiting.length;
  if (more > 0) line.appendChild(el("li", "", "+ " + more + " more"));
  if (clients.waitingCount === 0) line.appendChild(el("span", "empty", "no one waits"));
  $("waiting-title").textContent = "Waiting line (" + clients.waitingCount + ")";
  for (const node of document.querySelectorAll(".swatch[data-owner]")) paint(node, node.dataset.owner);
  for (const node of document.querySelectorAll(".progress > div[data-owner]")) {
    paint(node, node.dataset.owner);
  }
}

function renderRequest(view) {
  let row = state.requests.get(view.request);
  if (!row) {
    row = el("div", "request");
    row.dataset.request = view.request;
    const progress = el("div", "progress");
    progress.appendChild(el("div"));
    row.append(el("span", "id", view.request), connLabel(view.conn), el("span", "numbers"), progress,
      el("span", "fraction"));
    $("requests").appendChild(row);
    state.requests.set(view.request, row);
  }
  const numbers = row.querySelector(".numbers");
  numbers.textContent = "";
  numbers.append(el("span", "", view.start), document.createTextNode(" → "), el("b", "value", view.value),
    document.createTextNode(" / "), el("span", "", view.target));
  numbers.title = view.start + " + " + view.total + " increments: now " + view.value;
  const share = view.total === 0 ? 1 : view.done / view.total;
  const bar = row.querySelector(".progress > div");
  bar.dataset.owner = view.conn;
  bar.style.width = (share * 100).toFixed(1) + "%";
  paint(bar, view.conn);
  row.querySelector(".fraction").textContent = view.done + " / " + view.total + " (" +
    Math.floor(share * 100) + "%)";
}
function endRequest(request) {
  const row = state.requests.get(request);
  if (row) row.remove();
  state.requests.delete(request);
}
function renderRequestsEmpty() {
  $("requests-empty").hidden = state.requests.size > 0;
}

function renderMutex(mutex) {
  const box = $("mutex");
  box.textContent = "";
  if (!mutex) { box.appendChild(el("span", "empty", "this server does not report its critical sections")); return; }
  if (mutex.length === 0) box.appendChild(el("span", "empty", "no request in flight"));
  for (const m of mutex) {
    const row = el("div", "mutex");
    row.dataset.mutex = m.request;
    const port = el("span", "conn");
    port.append(swatch(m.conn), document.createTextNode(":" + m.conn.split(":").pop()));
    port.title = m.conn;
    row.append(el("span", "id", m.request), port,
      el("span", "waited", m.sections + (m.sections === 1 ? " section, " : " sections, ") +
        m.waited + " waited"),
      el("span", "lock" + (m.held ? " held" : ""), m.held ? "running" : "free"));
    box.appendChild(row);
  }
}

function renderFinished(finished) {
  const box = $("finished");
  box.textContent = "";
  if (finished.length === 0) box.appendChild(el("span", "empty", "none yet"));
  for (const f of finished) {
    const row = el("div", "finished" + (f.failed === undefined ? "" : " failed"));
    row.dataset.finished = f.request;
    const numbers = el("span", "numbers");
    if (f.failed === undefined) {
      numbers.append(el("span", "", f.start), document.createTextNode(" + " + f.total + " → "),
        el("b", "result", f.result));
    } else {
      numbers.textContent = f.start + " + " + f.total + ": failed (" + f.failed + ")";
    }
    row.append(el("span", "id", f.request), connLabel(f.conn), numbers,
      el("span", "time", (f.ms >= 1000 ? (f.ms / 1000).toFixed(2) + " s" : f.ms.toFixed(0) + " ms")));
    box.appendChild(row);
  }
}

function renderStats(stats) {
  const set = (name, text) => { document.querySelector('[data-stat="' + name + '"]').textContent = text; };
  set("tasks-done", String(stats.tasks_done));
  set("tasks-per-s", String(stats.tasks_per_s));
  set("utilisation", Math.round(stats.utilisation * 100) + "%");
  set("tasks-queued", String(stats.tasks_queued));
  set("requests-in-flight", String(stats.requests_in_flight ?? state.requests.size));
  set("clients-active", String(stats.clients_active));
  set("clients-waiting", String(stats.clients_waiting));
  // With --nats: the worker nodes, and whether the broker is reachable.
  const fleet = document.getElementById("fleet");
  if (stats.nodes === undefined) return;
  fleet.hidden = false;
  const lost = stats.fleet_connected === 0;
  fleet.classList.toggle("lost", lost);
  fleet.textContent = lost
    ? "fleet lost: the broker is unreachable; " + (stats.workers > 0
      ? "serving on local Workers"
      : "no local Workers (--workers 0): requests wait, then ERR no-workers")
    : "fleet: " + stats.nodes + (stats.nodes === 1 ? " node, " : " nodes, ") +
      stats.remote_workers + (stats.remote_workers === 1 ? " remote Worker" : " remote Workers");
}

function frame() {
  const now = serverNow();
  const from = now - windowMs;
  for (const [task, bar] of state.bars) {
    if (bar.end < now - LONGEST_WINDOW_MS) { bar.el.remove(); state.bars.delete(task); continue; }
    if (bar.end < from) { bar.el.style.display = "none"; continue; }
    bar.el.style.display = "";
    const left = Math.max(0, (bar.start - from) / windowMs * 100);
    const right = Math.min(100, (bar.end - from) / windowMs * 100);
    bar.el.style.left = left + "%";
    bar.el.style.width = Math.max(0, right - left) + "%";
    paint(bar.el, bar.conn);
  }
  requestAnimationFrame(frame);
}

function connect() {
  const source = new EventSource("/events");
  source.addEventListener("snapshot", (event) => {
    const snap = JSON.parse(event.data);
    state.offset = snap.now - Date.now();
    state.maxClients = snap.maxClients;
    $("address").textContent = "server " + snap.address;
    for (const bar of state.bars.values()) bar.el.remove();
    state.bars.clear();
    buildLanes(snap.lanes);
    renderClients(snap.clients);
    for (const bar of snap.bars) addBar(bar);
    renderQueued(snap.queued);
    for (const row of state.requests.values()) row.remove();
    state.requests.clear();
    for (const view of snap.requests) renderRequest(view);
    renderRequestsEmpty();
    renderMutex(snap.mutex);
    renderFinished(snap.finished);
    renderStats(snap.stats);
    $("status").textContent = "live";
    $("status").className = "status live";
  });
  source.addEventListener("update", (event) => {
    const update = JSON.parse(event.data);
    state.offset = update.now - Date.now();
    if (update.lanes) buildLanes(update.lanes);
    if (update.clients) renderClients(update.clients);
    for (const bar of update.bars) addBar(bar);
    renderQueued(update.queued);
    for (const request of update.ended) endRequest(request);
    for (const view of update.requests) renderRequest(view);
    renderRequestsEmpty();
    renderMutex(update.mutex);
    if (update.finished) renderFinished(update.finished);
    renderStats(update.stats);
  });
  source.onerror = () => {
    $("status").textContent = "reconnecting…";
    $("status").className = "status";
  };
}

buildAxis();
connect();
requestAnimationFrame(frame);
`;
