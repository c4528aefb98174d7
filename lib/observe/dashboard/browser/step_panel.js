/**
 * The step panel: the teacher is the scheduler of one count. Each button asks the
 * dashboard (`POST /control/step`), which speaks the server's wire on its own connection
 * (`STEP 0`, `STEP RUN`, …); what the panel draws is the server's answers, sent to every
 * page in the feed (`stepping`), so the projected page follows the teacher's clicks made
 * on another device too. Without the token the page only watches, and shows the panel
 * only while a count is stepped.
 *
 * @module
 */
import { $, el } from "./page_state.js";

/** @typedef {import("../dashboard_views.ts").StepPanelView} StepPanelView */

const stepPanel = {
  /** @type {string | null} */
  token: null,
  /** The version of the view drawn: an older one (a late answer) is not drawn. */
  version: -1,
  /** @type {StepPanelView | undefined} */
  view: undefined,
  /** Whether this page waits for an answer of its own. */
  asking: false,
};

/**
 * Draws the panel, when `view` is newer than the one shown (or comes in a snapshot).
 * @param {StepPanelView | undefined} view
 * @param {boolean} [fresh] Whether it is a snapshot's: drawn whatever the version.
 */
export function renderStepPanel(view, fresh = false) {
  if (!view || (view.version < stepPanel.version && !fresh)) return;
  stepPanel.version = view.version;
  stepPanel.view = view;
  $("step-panel").hidden = !stepPanel.token && view.phase === "off";
  const stepping = view.phase === "stepping" && !view.waiting && !stepPanel.asking;
  const rows = $("step-workers");
  const head = el("div", "step-worker step-head");
  head.append(
    el("span", "", "Worker"),
    el("span", "", "next step"),
    el("span", "", "value it read"),
    el("span", ""),
  );
  const drawn = view.workers.map((worker) => {
    const row = el("div", "step-worker");
    row.dataset.worker = String(worker.worker);
    row.classList.toggle("waits", worker.next.startsWith("waits"));
    row.classList.toggle("done", worker.next.startsWith("done"));
    const button = /** @type {HTMLButtonElement} */ (el("button", "", "step " + worker.worker));
    button.type = "button";
    button.dataset.step = String(worker.worker);
    button.disabled = !stepPanel.token || !stepping || !worker.steppable;
    row.append(
      el("span", "step-name", "worker " + worker.worker),
      el("span", "step-next", worker.next),
      el("span", "step-read", worker.read),
      button,
    );
    return row;
  });
  rows.replaceChildren(...(drawn.length ? [head, ...drawn] : []));
  $("step-value").textContent = view.phase === "off" ? "–" : view.value;
  $("step-result").textContent = view.result ? "answer: " + view.result : "";
  const lost = /\((\d+) updates? lost\)/.exec(view.result ?? "");
  $("step-result").classList.toggle("lost", lost !== null && lost[1] !== "0");
  const schedule = view.steps.length ? "SCHEDULE " + view.steps.join(" ") : "";
  $("step-schedule").textContent = schedule || "–";
  $("step-replay").textContent = schedule
    ? "replay it: deno task client, then COUNTER " + view.counter + ", " + schedule + ", " +
      view.request
    : "";
  $("step-said").replaceChildren(...view.said.map((text) => el("li", "", text)));
  $("step-title").textContent = view.phase === "off"
    ? "no count stepped yet"
    : "COUNTER " + view.counter + " · " + view.request + " · " + phaseWords(view);
  const note = view.error ?? view.waiting ?? "";
  $("step-note").textContent = note;
  $("step-note").classList.toggle("bad", view.error !== undefined);
  setButtons(view);
}

/** @param {StepPanelView} view */
function phaseWords(view) {
  switch (view.phase) {
    case "starting":
      return "starting";
    case "stepping":
      return view.steps.length === 0
        ? "the Workers wait for your first step"
        : view.steps.length + (view.steps.length === 1 ? " step" : " steps");
    case "done":
      return "answered";
    default:
      return "ended without an answer";
  }
}

/** @param {StepPanelView | undefined} view */
function setButtons(view) {
  const idle = !stepPanel.token || stepPanel.asking || Boolean(view?.waiting);
  const button = (/** @type {string} */ id) => /** @type {HTMLButtonElement} */ ($(id));
  button("step-start").disabled = !stepPanel.token || stepPanel.asking;
  button("step-run").disabled = idle || view?.phase !== "stepping";
  button("step-undo").disabled = idle || !view || view.phase === "off";
  button("step-copy").disabled = !view || view.steps.length === 0;
}

/**
 * Asks the dashboard; draws the panel it answers, or says why it refused.
 * @param {Record<string, unknown>} body
 */
async function ask(body) {
  if (!stepPanel.token) return;
  stepPanel.asking = true;
  setButtons(stepPanel.view);
  let text = "";
  try {
    const response = await fetch("/control/step", {
      method: "POST",
      headers: { "content-type": "application/json", "x-threadcount-token": stepPanel.token },
      body: JSON.stringify(body),
    });
    text = await response.text();
    stepPanel.asking = false;
    if (response.ok) {
      // The feed may have drawn a newer view while this was asked (its buttons off then):
      // draw the newest again, now that nothing is asked.
      const view = JSON.parse(text);
      return renderStepPanel(view.version < stepPanel.version ? stepPanel.view : view, true);
    }
  } catch (error) {
    text = "the dashboard did not answer (" + error + "): is the server still running?";
  }
  stepPanel.asking = false;
  renderStepPanel(stepPanel.view && { ...stepPanel.view, version: stepPanel.version });
  $("step-note").textContent = text.trim();
  $("step-note").classList.add("bad");
}

/** Wires the panel's buttons to `POST /control/step`, when the page has the token. */
export function setUpStepPanel() {
  stepPanel.token = new URLSearchParams(location.search).get("token");
  $("step-panel").hidden = !stepPanel.token;
  setButtons(undefined);
  if (!stepPanel.token) return;
  $("step-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const counter = /** @type {HTMLSelectElement} */ ($("step-counter")).value;
    const request = /** @type {HTMLInputElement} */ ($("step-request")).value;
    ask({ action: "start", counter, request });
  });
  $("step-run").addEventListener("click", () => ask({ action: "run" }));
  $("step-undo").addEventListener("click", () => ask({ action: "undo" }));
  $("step-workers").addEventListener("click", (event) => {
    const button = /** @type {HTMLElement} */ (event.target).closest?.("button[data-step]");
    if (button instanceof HTMLButtonElement) {
      ask({ action: "step", worker: Number(button.dataset.step) });
    }
  });
  $("step-copy").addEventListener("click", async () => {
    const text = $("step-schedule").textContent ?? "";
    try {
      await navigator.clipboard.writeText(text);
      $("step-note").textContent = "copied: " + text;
    } catch {
      // Without the clipboard (a page not opened as 127.0.0.1): select it, for Ctrl-C.
      getSelection()?.selectAllChildren($("step-schedule"));
      $("step-note").textContent = "selected: press Ctrl-C to copy it";
    }
  });
}
