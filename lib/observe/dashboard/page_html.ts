/**
 * The live dashboard: one HTML page with its own style and script, no
 * network needed beyond the server that serves it. It shows the design
 * card's three parts as parts: the Semaphore (client slots and the waiting
 * line), the Worker pool (a lane per thread) and the Mutex (each request's
 * critical section), and each request rising from its start to its target.
 *
 * @module
 */
import PAGE_MAIN from "./browser/page_main.js" with { type: "text" };
import PAGE_STATE from "./browser/page_state.js" with { type: "text" };
import PANELS from "./browser/panels.js" with { type: "text" };
import CONTROLS from "./browser/controls.js" with { type: "text" };
import WORKER_LANES from "./browser/worker_lanes.js" with { type: "text" };
import STEP_PANEL from "./browser/step_panel.js" with { type: "text" };
import { DASHBOARD_CSS, DASHBOARD_PALETTE } from "./page_style.ts";
import {
  DASHBOARD_CONTROL_CLIENTS,
  DASHBOARD_FINISHED_KEPT,
  MAX_STEPPED_INCREMENTS,
} from "../../defaults/defaults.ts";

const BODY = `
<header>
  <h1>threadcount · live</h1>
  <span class="address" id="address"></span>
  <span class="fleet" id="fleet" data-stat="fleet" hidden></span>
  <button class="type-size" id="type-size" title="larger type, for a projector (or ?large=1)">A+</button>
  <span class="status" id="status">connecting…</span>
</header>
<main>
  <div class="stats">
    <div class="stat"><div class="value" data-stat="tasks-done">–</div><div class="label">increments done</div></div>
    <div class="stat"><div class="value" data-stat="tasks-per-s">–</div><div class="label">increments / s</div></div>
    <div class="stat"><div class="value" data-stat="utilisation">–</div><div class="label">Worker utilisation</div></div>
    <div class="stat"><div class="value" data-stat="tasks-queued">–</div><div class="label">in the pool's queue, no Worker yet</div></div>
    <div class="stat"><div class="value" data-stat="requests-in-flight">–</div><div class="label">requests in flight</div></div>
    <div class="stat"><div class="value" data-stat="clients-active">–</div><div class="label">clients served</div></div>
    <div class="stat"><div class="value" data-stat="clients-waiting">–</div><div class="label">clients waiting</div></div>
  </div>
  <section>
    <h2 class="with-zoom"><span><span class="part">Worker pool</span> · what each thread runs</span>
      <span class="zoom" id="zoom"><button id="pause" title="freeze the picture; then scrub back over the last minute">pause</button><input id="scrub" type="range" min="0" max="60" step="0.5" value="0" disabled title="seconds back"><span id="scrub-text"></span><button data-window="2">2 s</button><button data-window="10">10 s</button><button data-window="60">60 s</button></span></h2>
    <p class="hint">One bar per increment, from when its Worker started it to when it ended (or now,
      while it runs), coloured by client. When more end than the page is sent one by one, they are
      drawn as their density, and the note below the lanes says how many. On the right: tasks
      handed to that Worker and not started yet.</p>
    <div class="lanes" id="lanes"></div>
    <div class="axis" id="axis"></div>
    <p class="note" id="lanes-more" hidden></p>
    <p class="note" id="summarised" hidden></p>
  </section>
  <section>
    <h2><span class="part">Semaphore</span> · client slots</h2>
    <p class="hint" id="slots-title">–</p>
    <div class="slots" id="slots"></div>
    <h3 id="waiting-title">Waiting line</h3>
    <ul class="line" id="waiting"></ul>
    <h3>Class controls</h3>
    <form class="controls" id="controls">
      open <input id="control-count" type="number" min="1" max="${DASHBOARD_CONTROL_CLIENTS}" value="12">
      clients sending <input id="control-request" value="0 200" size="9">
      with a <select id="control-counter">
        <option value="">server's</option>
        <option value="racy">racy</option>
        <option value="locked">locked</option>
        <option value="parallel">parallel</option>
      </select> counter
      <button id="control-open" type="submit">open</button>
      <a id="control-trace" download="threadcount-last-minute.json">last minute as a Perfetto trace</a>
    </form>
    <p class="note" id="control-note"></p>
  </section>
  <section class="step-panel" id="step-panel" hidden>
    <h2><span class="part">Be the scheduler</span> · <span id="step-title">no count stepped yet</span></h2>
    <p class="hint">Each increment is two steps on its Worker: it reads the shared counter, then
      writes what it read plus one (with the lock: it takes the lock and reads, then writes and
      releases it). Increment k runs on worker (k − 1) mod the Workers. You choose which Worker
      moves next; the Workers really wait between steps.</p>
    <form class="step-form" id="step-form">
      <label>a <select id="step-counter"><option value="racy">racy</option><option value="locked">locked</option></select> counter,</label>
      <label>count <input id="step-request" value="0 2" size="8" title="start and increments, at most ${MAX_STEPPED_INCREMENTS} increments"></label>
      <button id="step-start" type="submit">start</button>
      <button id="step-run" type="button" title="STEP RUN: the remaining steps run freely">run the rest</button>
      <button id="step-undo" type="button" title="replays the steps so far but the last, on the real Workers">reset: undo a step</button>
    </form>
    <div class="step-workers" id="step-workers"></div>
    <p class="step-value">shared counter <b id="step-value">–</b> <span class="step-result" id="step-result"></span></p>
    <p class="step-schedule">schedule <code id="step-schedule">–</code>
      <button id="step-copy" type="button">copy</button> <span id="step-replay"></span></p>
    <ol class="step-said" id="step-said"></ol>
    <p class="step-note" id="step-note"></p>
  </section>
  <section>
    <h2>Requests in flight · start → counter / target</h2>
    <p class="hint">Each request's counter rising from its start; the fraction is increments applied.</p>
    <div class="rows" id="requests"></div>
    <span class="empty" id="requests-empty">no request in flight</span>
    <p class="note" id="requests-more" hidden></p>
  </section>
  <section>
    <h2><span class="part">Mutex</span> · what guards each counter</h2>
    <p class="hint">By the request's counter model: <b>parallel</b>, a Mutex around the update
      alone (read, report, write back; <b>running</b> while held, <b>waited</b> counts the sections
      that found it taken); <b>locked</b>, one lock around each whole increment, so the Workers take
      turns; <b>racy</b>, no lock at all, so updates are lost.</p>
    <div class="rows" id="mutex"></div>
  </section>
  <section class="finished-list">
    <h2>Finished requests · the last ${DASHBOARD_FINISHED_KEPT}, newest first</h2>
    <div class="rows" id="finished"></div>
  </section>
</main>
`;

/** The page's icon, inline: four lanes of bars (so the browser asks for no /favicon.ico). */
const FAVICON = "data:image/svg+xml," + encodeURIComponent(
  `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#0b1015"/>` +
    DASHBOARD_PALETTE.slice(0, 4).map((colour, i) =>
      `<rect x="${2 + (i % 2) * 3}" y="${2 + i * 3.2}" width="${
        7 + (i % 3)
      }" height="2.4" fill="${colour}"/>`
    ).join("") + "</svg>",
);

/** The client colours, read by the page's script. */
const PALETTE_JSON = JSON.stringify(DASHBOARD_PALETTE);

/**
 * Modules, each after those it imports, as one classic script: the page needs
 * no request beyond its own. They import one another by name only
 * (`import { a } from "./x.js";`), so without those lines and the `export`
 * keywords they are the same program in one scope.
 */
function inlineModules(modules: string[]): string {
  return modules
    .map((source) => source.replace(/^import\s[^;]*;\n/gm, "").replace(/^export /gm, ""))
    .join("\n");
}

/** The page's script. */
const PAGE_SCRIPT = inlineModules([
  PAGE_STATE,
  WORKER_LANES,
  PANELS,
  CONTROLS,
  STEP_PANEL,
  PAGE_MAIN,
]);

/** The page, served at `/` by the dashboard. */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>threadcount · live</title>
<link rel="icon" href="${FAVICON}">
<style>${DASHBOARD_CSS}</style>
</head>
<body>${BODY}<script id="palette" type="application/json">${PALETTE_JSON}</script>
<script>
${PAGE_SCRIPT}</script>
</body>
</html>
`;
