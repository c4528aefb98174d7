/**
 * The page's classroom controls: open N real clients with a request (on a
 * counter model chosen), stop a client, and download the last minute as a
 * Perfetto trace. They need the token the
 * server's log prints in the dashboard's address (`?token=`); without it the
 * page only watches.
 *
 * @module
 */
import { $ } from "./page_state.js";

export function setUpControls() {
  const token = new URLSearchParams(location.search).get("token");
  const note = $("control-note");
  const open = /** @type {HTMLButtonElement} */ ($("control-open"));
  const trace = /** @type {HTMLAnchorElement} */ ($("control-trace"));
  if (!token) {
    open.disabled = true;
    trace.removeAttribute("href");
    note.textContent = "The controls need the address the server's log prints (with ?token=).";
    return;
  }
  trace.href = "/trace.json?token=" + encodeURIComponent(token);
  document.body.classList.add("controls-on");
  // The "stop" buttons of the slots and the waiting line (panels.js redraws them).
  document.addEventListener("click", async (event) => {
    const button = /** @type {HTMLElement} */ (event.target).closest?.("button[data-stop]");
    if (!(button instanceof HTMLButtonElement)) return;
    const conn = button.dataset.stop;
    const response = await fetch("/control/stop", {
      method: "POST",
      headers: { "content-type": "application/json", "x-threadcount-token": token },
      body: JSON.stringify({ conn }),
    });
    note.textContent = (await response.text()).trim();
  });
  $("controls").addEventListener("submit", async (event) => {
    event.preventDefault();
    const count = Number(/** @type {HTMLInputElement} */ ($("control-count")).value);
    const request = /** @type {HTMLInputElement} */ ($("control-request")).value;
    const counter = /** @type {HTMLSelectElement} */ ($("control-counter")).value;
    const response = await fetch("/control/clients", {
      method: "POST",
      headers: { "content-type": "application/json", "x-threadcount-token": token },
      body: JSON.stringify(counter ? { count, request, counter } : { count, request }),
    });
    const text = await response.text();
    note.textContent = response.ok
      ? "opened " + JSON.parse(text).opened + " clients sending " + request +
        (counter ? " on a " + counter + " counter" : "")
      : text.trim();
  });
}
