/**
 * The dashboard page's entry: it draws the snapshot it gets on connecting,
 * then each update, from the Server-Sent Events at `/events` (the format is in
 * `dashboard_views.ts`: updates set values by key, so each is applied as it comes).
 *
 * @module
 */
import {
  endRequest,
  renderClients,
  renderFinished,
  renderMutex,
  renderRequest,
  renderRequestsMore,
  renderStats,
} from "./panels.js";
import { $, state } from "./page_state.js";
import { setUpControls } from "./controls.js";
import { renderStepPanel, setUpStepPanel } from "./step_panel.js";
import {
  addBar,
  addSummary,
  buildAxis,
  buildLanes,
  frame,
  renderQueued,
  renderRunning,
} from "./worker_lanes.js";

/** @typedef {import("../dashboard_views.ts").DashboardSnapshot} DashboardSnapshot */
/** @typedef {import("../dashboard_views.ts").DashboardUpdate} DashboardUpdate */

function connect() {
  const source = new EventSource("/events");
  source.addEventListener("snapshot", (event) => {
    /** @type {DashboardSnapshot} */
    const snap = JSON.parse(event.data);
    state.offset = snap.now - Date.now();
    $("address").textContent = "server " + snap.address;
    for (const bar of state.bars.values()) bar.el.remove();
    state.bars.clear();
    buildLanes(snap.lanes);
    renderClients(snap.clients);
    for (const bar of snap.bars) addBar(bar, snap.now);
    for (const summary of snap.summary) addSummary(summary, snap.now);
    renderQueued(snap.queued);
    renderRunning(snap.running, snap.now);
    for (const row of state.requests.values()) row.remove();
    state.requests.clear();
    for (const view of snap.requests) renderRequest(view);
    renderRequestsMore(snap.requestsMore);
    renderMutex(snap.mutex);
    renderFinished(snap.finished);
    renderStats(snap.stats);
    renderStepPanel(snap.stepping, true);
    $("status").textContent = "live";
    $("status").className = "status live";
  });
  source.addEventListener("update", (event) => {
    /** @type {DashboardUpdate} */
    const update = JSON.parse(event.data);
    state.offset = update.now - Date.now();
    if (update.lanes) buildLanes(update.lanes);
    if (update.clients) renderClients(update.clients);
    for (const bar of update.bars) addBar(bar, update.now);
    for (const summary of update.summary) addSummary(summary, update.now);
    renderQueued(update.queued);
    renderRunning(update.running, update.now);
    for (const request of update.ended) endRequest(request);
    for (const view of update.requests) renderRequest(view);
    renderRequestsMore(update.requestsMore);
    renderMutex(update.mutex);
    if (update.finished) renderFinished(update.finished);
    renderStats(update.stats);
    renderStepPanel(update.stepping);
  });
  source.onerror = () => {
    $("status").textContent = "reconnecting…";
    $("status").className = "status";
  };
}

/** Larger type for a projector: the button, or `?large=1` in the address. */
function typeSize() {
  const button = $("type-size");
  const apply = (/** @type {boolean} */ large) => {
    document.body.classList.toggle("large", large);
    button.textContent = large ? "A−" : "A+";
  };
  apply(new URLSearchParams(location.search).get("large") === "1");
  button.addEventListener("click", () => apply(!document.body.classList.contains("large")));
}

typeSize();
setUpControls();
setUpStepPanel();
buildAxis();
connect();
requestAnimationFrame(frame);
