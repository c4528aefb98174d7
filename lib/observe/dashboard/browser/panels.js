/**
 * The dashboard page's other panels: the figures, the client slots and
 * waiting line (the Semaphore), the requests in flight, their critical
 * sections (the Mutex) and the finished requests.
 *
 * @module
 */
import { $, connLabel, el, find, paint, shortConn, state, swatch } from "./page_state.js";

/** @typedef {import("../dashboard_views.ts").ClientsView} ClientsView */
/** @typedef {import("../dashboard_views.ts").RequestView} RequestView */
/** @typedef {import("../dashboard_views.ts").MutexView} MutexView */
/** @typedef {import("../dashboard_views.ts").FinishedView} FinishedView */
/** @typedef {import("../dashboard_views.ts").DashboardStats} DashboardStats */

/** @param {ClientsView} clients */
export function renderClients(clients) {
  const slots = $("slots");
  slots.textContent = "";
  clients.slots.forEach((tag, i) => {
    const box = el("div", "box " + (tag ? "taken" : "free"));
    box.dataset.slot = String(i);
    if (tag) {
      const [conn, colour] = tag;
      box.dataset.conn = conn;
      box.append(swatch(colour), document.createTextNode(shortConn(conn)), stopButton(conn));
      box.title = "slot " + (i + 1) + ": " + conn;
    } else {
      box.textContent = "free";
    }
    slots.appendChild(box);
  });
  const hidden = clients.slotCount - clients.slots.length;
  if (hidden > 0) slots.appendChild(el("div", "more", "+ " + hidden + " more slots"));
  $("slots-title").textContent = clients.taken + " of " + clients.slotCount + " taken";
  const line = $("waiting");
  line.textContent = "";
  clients.waiting.forEach(([conn, colour], i) => {
    const li = el("li");
    li.dataset.waiting = conn;
    li.append(
      document.createTextNode((i + 1) + "."),
      swatch(colour),
      document.createTextNode(conn),
      stopButton(conn),
    );
    line.appendChild(li);
  });
  const more = clients.waitingCount - clients.waiting.length;
  if (more > 0) line.appendChild(el("li", "", "+ " + more + " more"));
  if (clients.waitingCount === 0) line.appendChild(el("span", "empty", "no one waits"));
  $("waiting-title").textContent = "Waiting line (" + clients.waitingCount + ")";
}

/**
 * A client's "stop" button: controls.js posts `/control/stop` for it, and shows
 * the buttons only to a page that has the token.
 *
 * @param {string} conn The client, as the page names it.
 */
function stopButton(conn) {
  const button = /** @type {HTMLButtonElement} */ (el("button", "stop", "×"));
  button.type = "button";
  button.dataset.stop = conn;
  button.title = "stop " + conn + ": it is told ERR stopped-by-teacher and closed";
  button.setAttribute("aria-label", "stop " + conn);
  return button;
}

/** What each counter model is, for a badge's tooltip. */
const MODEL_TITLE = {
  parallel: "parallel: the work runs in parallel; a Mutex guards the update alone (no update lost)",
  locked:
    "locked: one lock around each whole increment (read, spin, write): right, but the Workers take turns",
  racy:
    "racy: no lock; each increment reads the counter, spins, writes back read + 1: updates are lost",
};

/**
 * A badge naming a request's counter model.
 * @param {"racy" | "locked" | "parallel"} counter
 */
function modelBadge(counter) {
  const badge = el("span", "model " + counter, counter);
  badge.title = MODEL_TITLE[counter];
  return badge;
}

/**
 * `, 18 updates lost` for a racy or locked request, nothing for a parallel one.
 * @param {{ counter: string, lost?: number }} view
 */
function lostText(view) {
  if (view.lost === undefined) return "";
  return view.lost === 0
    ? ", no update lost"
    : ", " + view.lost + (view.lost === 1 ? " update lost" : " updates lost");
}

/** @param {RequestView} view */
export function renderRequest(view) {
  let row = state.requests.get(view.request);
  if (!row) {
    row = el("div", "request");
    row.dataset.request = view.request;
    const progress = el("div", "progress");
    progress.appendChild(el("div"));
    row.append(
      el("span", "id", view.request),
      connLabel(view.conn, view.colour),
      modelBadge(view.counter),
      el("span", "numbers"),
      progress,
      el("span", "fraction"),
    );
    $("requests").appendChild(row);
    state.requests.set(view.request, row);
  }
  const numbers = find(row, ".numbers");
  numbers.textContent = "";
  numbers.append(
    el("span", "", view.start),
    document.createTextNode(" → "),
    el("b", "value", view.value),
    document.createTextNode(" / "),
    el("span", "", view.target),
  );
  if (view.lost) numbers.appendChild(el("span", "lost", lostText(view)));
  numbers.title = view.start + " + " + view.total + " increments: now " + view.value +
    lostText(view);
  const share = view.total === 0 ? 1 : view.done / view.total;
  const bar = find(row, ".progress > div");
  bar.style.width = (share * 100).toFixed(1) + "%";
  paint(bar, view.colour);
  find(row, ".fraction").textContent = view.done + " / " + view.total + " (" +
    Math.floor(share * 100) + "%)";
}
/** @param {string} request */
export function endRequest(request) {
  const row = state.requests.get(request);
  if (row) row.remove();
  state.requests.delete(request);
}
/** @param {number} more Requests in flight that are not listed. */
export function renderRequestsMore(more) {
  $("requests-empty").hidden = state.requests.size > 0;
  const note = $("requests-more");
  note.hidden = more === 0;
  note.textContent = "+ " + more + " more in flight, not listed";
}

/** @param {MutexView[] | undefined} mutex */
export function renderMutex(mutex) {
  const box = $("mutex");
  box.textContent = "";
  if (!mutex) {
    box.appendChild(el("span", "empty", "this server does not report its critical sections"));
    return;
  }
  if (mutex.length === 0) box.appendChild(el("span", "empty", "no request in flight"));
  for (const m of mutex) {
    const guard = m.counter === "parallel"
      ? "a Mutex around the update · " + m.sections +
        (m.sections === 1 ? " section, " : " sections, ") + m.waited + " waited"
      : m.counter === "locked"
      ? "a lock around the whole increment: Workers take turns"
      : "no lock: reads and writes race";
    const row = el("div", "mutex");
    row.dataset.mutex = m.request;
    const port = el("span", "conn");
    port.append(swatch(m.colour), document.createTextNode(shortConn(m.conn)));
    port.title = m.conn;
    const state = m.counter === "parallel"
      ? el("span", "lock" + (m.held ? " held" : ""), m.held ? "running" : "free")
      : el("span", "lock" + (m.lost ? " lost" : ""), (m.lost ?? 0) + " lost");
    row.dataset.counter = m.counter;
    row.append(
      el("span", "id", m.request),
      port,
      modelBadge(m.counter),
      el("span", "guard", guard),
      state,
    );
    box.appendChild(row);
  }
}

/** @param {FinishedView[]} finished */
export function renderFinished(finished) {
  const box = $("finished");
  box.textContent = "";
  if (finished.length === 0) box.appendChild(el("span", "empty", "none yet"));
  for (const f of finished) {
    const row = el("div", "finished" + (f.failed === undefined ? "" : " failed"));
    row.dataset.finished = f.request;
    const numbers = el("span", "numbers");
    if (f.failed === undefined) {
      numbers.append(
        el("span", "", f.start),
        document.createTextNode(" + " + f.total + " → "),
        el("b", "result", f.result),
      );
      if (f.lost !== undefined) numbers.appendChild(el("span", "lost", lostText(f)));
      numbers.title = numbers.textContent ?? "";
    } else {
      numbers.textContent = f.start + " + " + f.total + ": failed (" + f.failed + ")";
    }
    row.append(
      el("span", "id", f.request),
      connLabel(f.conn, f.colour),
      modelBadge(f.counter),
      numbers,
      el(
        "span",
        "time",
        f.ms >= 1000 ? (f.ms / 1000).toFixed(2) + " s" : f.ms.toFixed(0) + " ms",
      ),
    );
    box.appendChild(row);
  }
}

/** @param {DashboardStats} stats */
export function renderStats(stats) {
  /**
   * @param {string} name
   * @param {string} text
   */
  const set = (name, text) => {
    find(document, '[data-stat="' + name + '"]').textContent = text;
  };
  set("tasks-done", String(stats.tasks_done));
  set("tasks-per-s", String(stats.tasks_per_s));
  set("utilisation", Math.round(stats.utilisation * 100) + "%");
  set("tasks-queued", String(stats.tasks_queued));
  set("requests-in-flight", String(stats.requests_in_flight ?? state.requests.size));
  set("clients-active", String(stats.clients_active));
  set("clients-waiting", String(stats.clients_waiting));
  // With --nats: the worker nodes, and whether the broker is reachable.
  const fleet = $("fleet");
  if (stats.nodes === undefined) return;
  fleet.hidden = false;
  const lost = stats.fleet_connected === 0;
  fleet.classList.toggle("lost", lost);
  fleet.textContent = lost
    ? "fleet lost: the broker is unreachable; " +
      (stats.workers > 0
        ? "serving on local Workers"
        : "no local Workers (--workers 0): requests wait, then ERR no-workers")
    : "fleet: " + stats.nodes + (stats.nodes === 1 ? " node, " : " nodes, ") +
      stats.remote_workers + (stats.remote_workers === 1 ? " remote Worker" : " remote Workers");
}
