/**
 * The live dashboard: one HTML page with its own style and script, no
 * network needed beyond the server that serves it.
 *
 * @module
 */

/** The page, served at `/` by the dashboard. */
export const DASHBOARD_HTML = String.raw`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>threadcount · live</title>
<style>
  :root {
    --bg: #0f1419; --panel: #161d25; --line: #263241; --text: #e6edf3; --muted: #8b98a5;
    --accent: #58a6ff; --good: #3fb950; --warn: #d29922;
    font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  }
  * { box-sizing: border-box; }
  body { margin: 0; background: var(--bg); color: var(--text); }
  header { display: flex; align-items: baseline; gap: 1rem; padding: 14px 24px 6px; }
  header h1 { margin: 0; font-size: 20px; letter-spacing: .02em; }
  header .address { color: var(--muted); font-family: ui-monospace, monospace; font-size: 13px; }
  header .status { margin-left: auto; font-size: 13px; color: var(--muted); }
  header .status.live::before { content: "●"; color: var(--good); margin-right: 6px; }
  main { display: grid; grid-template-columns: 1fr 320px; gap: 16px; padding: 8px 24px 24px; }
  section { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; padding: 12px 14px; }
  h2 { margin: 0 0 10px; font-size: 13px; font-weight: 600; color: var(--muted);
       text-transform: uppercase; letter-spacing: .08em; }
  .stats { grid-column: 1 / -1; display: grid; grid-template-columns: repeat(6, 1fr); gap: 12px; }
  .stat { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; padding: 10px 14px; }
  .stat .value { font-size: 26px; font-weight: 650; font-variant-numeric: tabular-nums; }
  .stat .label { font-size: 12px; color: var(--muted); }
  .lanes { display: flex; flex-direction: column; gap: 8px; }
  .lane { display: grid; grid-template-columns: 86px 1fr; align-items: center; gap: 8px; }
  .lane .name { font-size: 13px; color: var(--muted); font-family: ui-monospace, monospace; }
  .lane .name .now { display: block; font-size: 11px; color: var(--text); min-height: 14px; }
  .track { position: relative; height: 34px; background: #0b1015; border-radius: 6px; overflow: hidden;
           border: 1px solid var(--line); }
  .bar { position: absolute; top: 4px; bottom: 4px; border-radius: 3px; min-width: 2px;
         box-shadow: inset 0 0 0 1px rgba(0,0,0,.35); }
  .bar.pending { opacity: .45; background-image: repeating-linear-gradient(45deg,
         rgba(255,255,255,.18) 0 4px, transparent 4px 8px); }
  .axis { position: relative; height: 18px; margin-left: 94px; font-size: 11px; color: var(--muted); }
  .axis span { position: absolute; transform: translateX(-50%); }
  .legend { margin-top: 8px; font-size: 12px; color: var(--muted); }
  ul { list-style: none; margin: 0; padding: 0; display: flex; flex-direction: column; gap: 6px; }
  li.conn { display: flex; align-items: center; gap: 8px; font-family: ui-monospace, monospace; font-size: 13px; }
  .swatch { width: 12px; height: 12px; border-radius: 3px; flex: none; }
  li.conn.waiting { color: var(--warn); }
  .empty { color: var(--muted); font-size: 12px; font-style: italic; }
  .side { display: flex; flex-direction: column; gap: 16px; }
  .requests { grid-column: 1 / -1; }
  .request { display: grid; grid-template-columns: 70px 170px 1fr 220px; gap: 10px; align-items: center;
             font-size: 13px; padding: 4px 0; border-bottom: 1px solid var(--line); }
  .request .value { font-family: ui-monospace, monospace; font-size: 15px; text-align: right;
                    overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  .progress { height: 10px; background: #0b1015; border-radius: 5px; overflow: hidden; border: 1px solid var(--line); }
  .progress > div { height: 100%; width: 0; }
  .zoom { margin-left: auto; display: inline-flex; gap: 4px; }
  .zoom button { background: #0b1015; color: var(--muted); border: 1px solid var(--line); border-radius: 5px;
                 font-size: 11px; padding: 2px 8px; cursor: pointer; }
  .zoom button.on { color: var(--text); border-color: var(--accent); }
  h2.with-zoom { display: flex; align-items: center; }
  .request.finished { opacity: .55; }
</style>
</head>
<body>
<header>
  <h1>threadcount · live</h1>
  <span class="address" id="address"></span>
  <span class="status" id="status">connecting…</span>
</header>
<main>
  <div class="stats">
    <div class="stat"><div class="value" data-stat="tasks-done">0</div><div class="label">increments done</div></div>
    <div class="stat"><div class="value" data-stat="tasks-per-s">0</div><div class="label">increments / s</div></div>
    <div class="stat"><div class="value" data-stat="utilisation">0%</div><div class="label">Worker utilisation</div></div>
    <div class="stat"><div class="value" data-stat="tasks-queued">0</div><div class="label">increments queued</div></div>
    <div class="stat"><div class="value" data-stat="clients-active">0</div><div class="label">clients served</div></div>
    <div class="stat"><div class="value" data-stat="clients-waiting">0</div><div class="label">clients waiting</div></div>
  </div>
  <section>
    <h2 class="with-zoom">Workers: what each thread runs
      <span class="zoom" id="zoom"><button data-window="2">2 s</button><button data-window="10">10 s</button><button data-window="60">60 s</button></span></h2>
    <div class="lanes" id="lanes"></div>
    <div class="axis" id="axis"></div>
    <div class="legend">One bar per increment, coloured by client; striped while queued or running. Hover for the task.</div>
  </section>
  <div class="side">
    <section>
      <h2 id="served-title">Served</h2>
      <ul id="served"></ul>
    </section>
    <section>
      <h2>Waiting for a slot</h2>
      <ul id="waiting"></ul>
    </section>
  </div>
  <section class="requests">
    <h2>Requests: each counter rising to its result</h2>
    <div id="requests"></div>
  </section>
</main>
<script>
"use strict";
let WINDOW_MS = 1000 * (Number(new URLSearchParams(location.search).get("window")) || 10);
const MAX_BARS = 4000;
const state = { workers: 0, maxClients: 0, offset: 0, bars: new Map(), requests: new Map() };
const $ = (id) => document.getElementById(id);

function hue(conn) {
  let h = 0;
  for (let i = 0; i < conn.length; i++) h = (h * 31 + conn.charCodeAt(i)) >>> 0;
  return (h * 137.508) % 360;
}
function colour(conn, light) { return "hsl(" + hue(conn).toFixed(0) + " 70% " + (light ? 62 : 55) + "%)"; }
function serverNow() { return Date.now() + state.offset; }

function buildLanes(n) {
  const lanes = $("lanes");
  lanes.textContent = "";
  for (let i = 0; i < n; i++) {
    const lane = document.createElement("div");
    lane.className = "lane";
    lane.dataset.worker = String(i);
    lane.innerHTML = '<div class="name">worker ' + i + '<span class="now"></span></div><div class="track"></div>';
    lanes.appendChild(lane);
  }
  buildAxis();
}

function buildAxis() {
  const axis = $("axis");
  axis.textContent = "";
  const seconds = WINDOW_MS / 1000;
  const step = seconds / 5;
  for (let i = 5; i >= 0; i--) {
    const s = i * step;
    const tick = document.createElement("span");
    tick.style.left = ((WINDOW_MS - s * 1000) / WINDOW_MS * 100) + "%";
    tick.textContent = s === 0 ? "now" : "-" + (Number.isInteger(s) ? s : s.toFixed(1)) + " s";
    axis.appendChild(tick);
  }
  for (const button of document.querySelectorAll("#zoom button")) {
    button.classList.toggle("on", Number(button.dataset.window) * 1000 === WINDOW_MS);
  }
}

for (const button of document.querySelectorAll("#zoom button")) {
  button.addEventListener("click", () => {
    WINDOW_MS = Number(button.dataset.window) * 1000;
    buildAxis();
  });
}

function lane(worker) { return document.querySelector('[data-worker="' + worker + '"]'); }

function addBar(task, worker, conn, start, end, units) {
  let bar = state.bars.get(task);
  const track = lane(worker) && lane(worker).querySelector(".track");
  if (!track) return;
  if (!bar) {
    bar = { el: document.createElement("div"), start, end, worker };
    bar.el.className = "bar";
    bar.el.dataset.task = task;
    bar.el.dataset.conn = conn;
    bar.el.style.background = colour(conn);
    state.bars.set(task, bar);
    if (state.bars.size > MAX_BARS) {
      const oldest = state.bars.keys().next().value;
      state.bars.get(oldest).el.remove();
      state.bars.delete(oldest);
    }
  } else if (bar.worker !== worker) {
    bar.worker = worker;
  }
  if (bar.el.parentElement !== track) track.appendChild(bar.el);
  bar.start = start;
  bar.end = end;
  bar.el.classList.toggle("pending", end === null);
  bar.el.title = task + " · " + conn + " · worker " + worker +
    (end === null ? " · queued/running" : " · " + units + " units, " + (end - start).toFixed(1) + " ms");
}

function renderConnections(served, waiting) {
  const list = (el, conns, kind) => {
    el.textContent = "";
    if (conns.length === 0) {
      const li = document.createElement("li");
      li.className = "empty";
      li.textContent = kind === "waiting" ? "no one waits" : "no clients";
      el.appendChild(li);
    }
    for (const conn of conns) {
      const li = document.createElement("li");
      li.className = "conn " + kind;
      li.dataset.connection = conn;
      li.dataset.state = kind;
      li.innerHTML = '<span class="swatch"></span>';
      li.firstChild.style.background = colour(conn);
      li.appendChild(document.createTextNode(conn));
      el.appendChild(li);
    }
  };
  list($("served"), served, "served");
  list($("waiting"), waiting, "waiting");
  $("served-title").textContent = "Served (" + served.length + " of " + state.maxClients + " slots)";
}

function renderRequest(view) {
  let row = state.requests.get(view.request);
  if (!row) {
    row = document.createElement("div");
    row.className = "request";
    row.dataset.request = view.request;
    row.innerHTML = '<span class="id"></span><span class="conn"></span>' +
      '<div class="progress"><div></div></div><span class="value"></span>';
    row.querySelector(".progress > div").style.background = colour(view.conn);
    $("requests").prepend(row);
    state.requests.set(view.request, row);
    const rows = $("requests").children;
    while (rows.length > 12) {
      state.requests.delete(rows[rows.length - 1].dataset.request);
      rows[rows.length - 1].remove();
    }
  }
  row.querySelector(".id").textContent = view.request;
  row.querySelector(".conn").textContent = view.conn;
  row.querySelector(".value").textContent = view.value;
  row.querySelector(".value").title = view.start + " + " + view.done + " of " + view.total;
  const share = view.total === 0 ? 1 : view.done / view.total;
  row.querySelector(".progress > div").style.width = (share * 100).toFixed(1) + "%";
  row.classList.toggle("finished", view.finished);
  if (view.finished) {
    // Tasks of an abandoned request never report: stop drawing them as running.
    for (const [task, bar] of state.bars) {
      if (bar.end === null && task.startsWith(view.request + "#")) {
        bar.el.remove();
        state.bars.delete(task);
      }
    }
  }
}

function renderStats(stats) {
  const set = (name, text) => { document.querySelector('[data-stat="' + name + '"]').textContent = text; };
  set("tasks-done", String(stats.tasks_done));
  set("tasks-per-s", String(stats.tasks_per_s));
  set("utilisation", Math.round(stats.utilisation * 100) + "%");
  set("tasks-queued", String(stats.tasks_queued));
  set("clients-active", String(stats.clients_active));
  set("clients-waiting", String(stats.clients_waiting));
}

function frame() {
  const now = serverNow();
  const from = now - WINDOW_MS;
  const running = new Map();
  for (const [task, bar] of state.bars) {
    const end = bar.end === null ? now : bar.end;
    if (end < from) { bar.el.style.display = "none"; continue; }
    bar.el.style.display = "";
    const left = Math.max(0, (bar.start - from) / WINDOW_MS * 100);
    const right = Math.min(100, (end - from) / WINDOW_MS * 100);
    bar.el.style.left = left + "%";
    bar.el.style.width = Math.max(0, right - left) + "%";
    if (bar.end === null) running.set(bar.worker, task);
  }
  for (let i = 0; i < state.workers; i++) {
    const label = lane(i) && lane(i).querySelector(".now");
    if (label) label.textContent = running.get(i) || "";
  }
  requestAnimationFrame(frame);
}

function connect() {
  const source = new EventSource("/events");
  source.addEventListener("snapshot", (event) => {
    const snap = JSON.parse(event.data);
    state.offset = snap.now - Date.now();
    state.workers = snap.workers;
    state.maxClients = snap.maxClients;
    $("address").textContent = "server " + snap.address;
    buildLanes(snap.workers);
    state.bars.clear();
    renderConnections(snap.served, snap.waiting);
    for (const view of snap.requests) renderRequest(view);
    renderStats(snap.stats);
    $("status").textContent = "live";
    $("status").className = "status live";
  });
  source.addEventListener("update", (event) => {
    const update = JSON.parse(event.data);
    state.offset = update.now - Date.now();
    for (const [task, worker, conn, at] of update.dispatched) {
      if (!state.bars.has(task)) addBar(task, worker, conn, at, null, 0);
    }
    for (const [task, worker, conn, start, end, units] of update.done) {
      addBar(task, worker, conn, start, end, units);
    }
    renderConnections(update.served, update.waiting);
    for (const view of update.requests) renderRequest(view);
    renderStats(update.stats);
  });
  source.onerror = () => {
    $("status").textContent = "reconnecting…";
    $("status").className = "status";
  };
}

connect();
requestAnimationFrame(frame);
</script>
</body>
</html>
`;
