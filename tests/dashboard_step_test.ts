/**
 * The dashboard's step panel in headless Chromium: the teacher steps a count's Workers
 * from the page, on real Workers, and every page shows the server's answers.
 */
import assert from "node:assert/strict";
import type { Locator, Page } from "playwright-core";
import { serveDashboard } from "../lib/observe/dashboard/dashboard_server.ts";
import { chromiumFound, launchChromium } from "./_browser.ts";
import { RawClient, startServer } from "./_helpers.ts";

if (!chromiumFound) {
  console.warn("dashboard_step_test: /usr/bin/chromium not found, so it is skipped");
}

/** A Worker's row of the panel. */
const row = (page: Page, worker: number) =>
  page.locator(`#step-workers .step-worker[data-worker="${worker}"]`);

/** Waits until a locator's text is exactly `text` (Playwright polls; no sleep). */
async function shows(locator: Locator, text: string): Promise<void> {
  await locator.filter({ hasText: new RegExp(`^${RegExp.escape(text)}$`) }).waitFor();
}

/** Clicks a Worker's step button, and waits until the panel shows that many steps. */
async function step(page: Page, worker: number, steps: number): Promise<void> {
  await row(page, worker).locator("button").click();
  await page.locator("#step-said li").nth(steps - 1).waitFor();
}

Deno.test({
  name:
    "dashboard in Chromium: the step panel steps a racy 0 2 to a lost update, shown on a watching page too; reset undoes a step",
  ignore: !chromiumFound,
  fn: async () => {
    await using server = startServer({ workers: 2, counterModel: "racy" });
    await using dashboard = serveDashboard(server, { port: 0, intervalMs: 50 });
    await using browser = await launchChromium();
    const teacher = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const watcher = await browser.newPage({ viewport: { width: 1024, height: 768 } });
    teacher.setDefaultTimeout(30_000);
    watcher.setDefaultTimeout(30_000);
    // Without the token: no panel until a count is stepped, and nothing to click.
    await watcher.goto(new URL("/", dashboard.url).href);
    await watcher.locator("#status.live").waitFor();
    assert.equal(await watcher.locator("#step-panel").isHidden(), true);
    await teacher.goto(dashboard.url);
    await teacher.locator("#status.live").waitFor();
    assert.equal(await teacher.locator("#step-run").isDisabled(), true, "nothing started");
    await teacher.locator("#step-counter").selectOption("racy");
    await teacher.locator("#step-request").fill("0 2");
    await teacher.locator("#step-start").click();
    await shows(
      teacher.locator("#step-title"),
      "COUNTER racy · 0 2 · the Workers wait for your first step",
    );
    await shows(row(teacher, 0).locator(".step-next"), "read");

    await step(teacher, 0, 1);
    await shows(row(teacher, 0).locator(".step-read"), "0");
    await shows(row(teacher, 0).locator(".step-next"), "write 1");
    await shows(teacher.locator("#step-value"), "0");
    await step(teacher, 1, 2);
    await shows(row(teacher, 1).locator(".step-read"), "0");
    await step(teacher, 0, 3);
    await shows(teacher.locator("#step-value"), "1");
    await shows(row(teacher, 0).locator(".step-next"), "done");
    assert.equal(await row(teacher, 0).locator("button").isDisabled(), true, "worker 0 is done");
    // The watching page follows the teacher's clicks.
    await watcher.locator("#step-panel").waitFor();
    await shows(row(watcher, 1).locator(".step-read"), "0");
    await shows(watcher.locator("#step-value"), "1");
    assert.equal(await row(watcher, 1).locator("button").isDisabled(), true, "it only watches");
    // Projected: it fits at 1024 px, in type of 16 px and up.
    const fits = "document.documentElement.scrollWidth <= document.documentElement.clientWidth";
    assert.equal(await watcher.evaluate(fits), true, "the page scrolls sideways at 1024 px");
    const smallest = `Math.min(...[...document.querySelectorAll(
      "#step-panel :is(h2, p, span, b, code, li, button, select, input)")]
      .map((node) => parseFloat(getComputedStyle(node).fontSize)))`;
    assert.ok(Number(await watcher.evaluate(smallest)) >= 16, "type smaller than 16 px");
    await step(teacher, 1, 4);
    await shows(teacher.locator("#step-value"), "1");
    await shows(teacher.locator("#step-result"), "answer: 1 (1 update lost)");
    await shows(teacher.locator("#step-schedule"), "SCHEDULE 0 1 0 1");
    assert.deepEqual(await teacher.locator("#step-said li").allTextContents(), [
      "worker 0 read 0",
      "worker 1 read 0",
      "worker 0 wrote 1",
      "worker 1 wrote 1, erasing 1 update",
    ]);
    await shows(watcher.locator("#step-result"), "answer: 1 (1 update lost)");
    // Reset: the first three steps again, on a new connection, on the real Workers.
    const stepsBefore = server.recorder.of("step").length;
    await teacher.locator("#step-undo").click();
    await shows(teacher.locator("#step-schedule"), "SCHEDULE 0 1 0");
    await shows(row(teacher, 1).locator(".step-next"), "write 1");
    await shows(row(teacher, 1).locator(".step-read"), "0");
    await shows(teacher.locator("#step-value"), "1");
    assert.equal(await row(teacher, 1).locator("button").isDisabled(), false);
    assert.equal(await teacher.locator("#step-result").textContent(), "", "no answer yet");
    const replayed = server.recorder.of("step").slice(stepsBefore).map((e) => e.text);
    assert.deepEqual(replayed, ["worker 0 read 0", "worker 1 read 0", "worker 0 wrote 1"]);
    await shows(watcher.locator("#step-schedule"), "SCHEDULE 0 1 0");

    // Start over with two increments a Worker: mid-race, after a lost update.
    await teacher.locator("#step-request").fill("0 4");
    await teacher.locator("#step-start").click();
    await shows(
      teacher.locator("#step-title"),
      "COUNTER racy · 0 4 · the Workers wait for your first step",
    );
    for (const [n, worker] of [0, 1, 0, 1, 0].entries()) await step(teacher, worker, n + 1);
    await shows(teacher.locator("#step-said li").nth(3), "worker 1 wrote 1, erasing 1 update");
    await shows(row(teacher, 0).locator(".step-next"), "write 2");
    await shows(row(teacher, 0).locator(".step-read"), "1");
    await shows(row(teacher, 1).locator(".step-next"), "read");
    await shows(teacher.locator("#step-value"), "1");
    if (Deno.env.get("THREADCOUNT_UPDATE_DOCS") === "1") {
      await teacher.evaluate("document.getElementById('step-panel').scrollIntoView()");
      await Deno.writeFile(
        new URL("../docs/dashboard_step.png", import.meta.url),
        await teacher.screenshot(),
      );
    }
  },
});

Deno.test({
  name: "dashboard in Chromium: the step panel with the lock: worker 1's read waits for worker 0",
  ignore: !chromiumFound,
  fn: async () => {
    await using server = startServer({ workers: 2 });
    await using dashboard = serveDashboard(server, { port: 0, intervalMs: 50 });
    await using browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1024, height: 768 } });
    page.setDefaultTimeout(30_000);
    await page.goto(dashboard.url);
    await page.locator("#status.live").waitFor();
    // A student steps a count of their own: the teacher's waits for the Workers, and is told so.
    await using student = await RawClient.connect(server);
    await student.write("COUNTER racy\nSTEP ON\n0 2\nSTEP 0\n");
    for (const line of ["OK counter racy", "OK step on", "worker 0 read 0"]) {
      assert.equal(await student.readLine(), line);
    }
    const studentPeer = server.recorder.of("step")[0].conn;
    await page.locator("#step-counter").selectOption("locked");
    await page.locator("#step-start").click();
    await shows(row(page, 1).locator(".step-next"), "take the lock, read");
    await row(page, 0).locator("button").click();
    await page.locator("#step-note", {
      hasText: `STEP 0 sent: waiting for the server's answer; the Workers are stepping another ` +
        `client's count (${studentPeer}, R1): yours runs when it ends`,
    }).waitFor();
    assert.equal(await row(page, 1).locator("button").isDisabled(), true, "one step at a time");
    await student[Symbol.asyncDispose]();
    await page.locator("#step-said li").nth(0).waitFor();
    await step(page, 1, 2);
    await shows(
      page.locator("#step-said li").nth(1),
      "worker 1 waits for the lock (worker 0 holds it)",
    );
    await shows(row(page, 1).locator(".step-next"), "waits for the lock (held by worker 0)");
    assert.equal(await row(page, 1).locator("button").isDisabled(), true, "it waits");
    await step(page, 0, 3);
    await step(page, 1, 4);
    await shows(row(page, 1).locator(".step-read"), "1");
    await step(page, 1, 5);
    await shows(page.locator("#step-result"), "answer: 2 (0 updates lost)");
    await shows(page.locator("#step-schedule"), "SCHEDULE 0 1 0 1 1");
    // A start of 300 digits wraps inside the panel: the projected page keeps its width.
    const start = "9".repeat(300);
    await page.locator("#step-request").fill(`${start} 2`);
    await page.locator("#step-start").click();
    await step(page, 0, 1);
    await page.locator("#step-said li", { hasText: start }).first().waitFor();
    assert.equal(await page.evaluate("document.documentElement.scrollWidth"), 1024);
  },
});

Deno.test("dashboard: POST /control/step needs the token and the page's Origin (403 otherwise)", async () => {
  await using server = startServer({ workers: 2 });
  await using dashboard = serveDashboard(server, { port: 0 });
  const origin = `http://127.0.0.1:${dashboard.addr.port}`;
  const post = (headers: Record<string, string>, body: string) =>
    fetch(new URL("/control/step", dashboard.url), {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body,
    });
  const start = JSON.stringify({ action: "start", counter: "racy", request: "0 2" });
  for (
    const headers of <Record<string, string>[]> [
      { origin },
      { origin, "x-threadcount-token": "0".repeat(32) },
      { "x-threadcount-token": dashboard.token, origin: "http://evil.example" },
    ]
  ) {
    const response = await post(headers, start);
    assert.equal(response.status, 403, JSON.stringify(headers));
    assert.match(await response.text(), /^forbidden: controls need the dashboard's token/);
  }
  assert.equal(server.recorder.of("accepted").length, 0, "a refused control opens nothing");
  const headers = { origin, "x-threadcount-token": dashboard.token };
  const large = await post(headers, " ".repeat(4096) + start);
  assert.equal(large.status, 413);
  await large.body?.cancel();
  const response = await post(headers, start);
  assert.equal(response.status, 200);
  assert.equal((await response.json()).phase, "stepping");
  await server.recorder.waitForType("counting");
});
