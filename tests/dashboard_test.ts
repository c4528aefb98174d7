import assert from "node:assert/strict";
import { serveDashboard } from "../lib/observe/dashboard/dashboard_server.ts";
import type {
  DashboardSnapshot,
  DashboardUpdate,
} from "../lib/observe/dashboard/dashboard_views.ts";
import { DASHBOARD_PALETTE } from "../lib/observe/dashboard/page_style.ts";
import { RawClient, startServer } from "./_helpers.ts";
import { ITERATIONS_PER_UNIT } from "../lib/defaults/defaults.ts";
import { CHROMIUM, chromiumFound, launchChromium } from "./_browser.ts";

if (!chromiumFound) {
  console.warn(
    `dashboard_test: ${CHROMIUM} not found, so the browser test is skipped; ` +
      "install it with: apt-get install -y chromium",
  );
}

/** Runs `fn` with a signal that aborts, with a message, if the test is still waiting at `ms`. */
async function withDeadline<T>(
  ms: number,
  what: string,
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const deadline = new AbortController();
  const timer = setTimeout(
    () => deadline.abort(new Error(`gave up after ${ms} ms waiting for ${what}`)),
    ms,
  );
  try {
    return await fn(deadline.signal);
  } finally {
    clearTimeout(timer);
  }
}

/** Reads Server-Sent Events one at a time; fails, never hangs, when they stop. */
function eventReader(body: ReadableStream<Uint8Array>, signal: AbortSignal) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  const aborted = new Promise<never>((_, reject) => {
    signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
  aborted.catch(() => {});
  let text = "";
  return {
    async next(): Promise<{ name: string; data: DashboardSnapshot & DashboardUpdate }> {
      while (!text.includes("\n\n")) {
        const { value, done } = await Promise.race([reader.read(), aborted]);
        if (done) throw new Error("the dashboard closed its event stream");
        text += value;
      }
      const [block] = text.split("\n\n", 1);
      text = text.slice(block.length + 2);
      const [, name] = /^event: (\w+)$/m.exec(block)!;
      return { name, data: JSON.parse(/^data: (.*)$/m.exec(block)![1]) };
    },
    cancel: () => reader.cancel(),
  };
}

Deno.test({
  name: "dashboard in headless Chromium: history on connect, slots, distinct colours, results",
  ignore: !chromiumFound,
  fn: async () => {
    // The default work, so the picture is the one a user sees.
    await using server = startServer({
      workers: 2,
      maxClients: 3,
      minUnits: 1,
      maxUnits: 10,
      iterationsPerUnit: ITERATIONS_PER_UNIT,
    });
    await using dashboard = serveDashboard(server, { port: 0, intervalMs: 100 });
    await using browser = await launchChromium();
    // A request that ends before the page is opened: the page must show it all the same.
    {
      await using early = await RawClient.connect(server);
      await early.write("5 4\n");
      assert.equal(await early.readLine(), "9");
    }
    await server.recorder.waitForType("closed");

    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.setDefaultTimeout(30_000); // a wait that fails says what it waited for
    await page.goto(dashboard.url);
    await page.locator("#status.live").waitFor();
    assert.equal(await page.locator(".lane").count(), 2);
    assert.equal(await page.locator('#zoom button.on[data-window="2"]').count(), 1);
    // History on connect: the finished bars and the finished request, from the snapshot alone.
    assert.equal(await page.locator('[data-task^="R1#"]').count(), 4);
    assert.equal(await page.locator('[data-finished="R1"] .result').textContent(), "9");
    assert.equal(await page.locator(".slots .box.free").count(), 3);

    // Three clients take the three slots; two more wait in line.
    const clients: RawClient[] = [];
    for (let i = 0; i < 5; i++) {
      clients.push(await RawClient.connect(server));
      await server.recorder.waitFor((e) => e.type === "served" || e.type === "waiting", 2 + i);
    }
    await page.locator(".slots .box.taken").nth(2).waitFor();
    await page.locator("[data-waiting]").nth(1).waitFor();
    assert.equal(await page.locator(".slots .box.free").count(), 0);
    assert.equal(await page.locator("#slots-title").textContent(), "3 of 3 taken");
    const colourOf = (selector: string) =>
      page.locator(`${selector} .swatch`).evaluateAll((nodes) =>
        nodes.map((n) => n.getAttribute("data-colour"))
      );
    const served = await colourOf(".slots .box.taken");
    const waiting = await colourOf("[data-waiting]");
    assert.equal(served.length, 3);
    assert.equal(waiting.length, 2);
    assert.equal(
      new Set([...served, ...waiting]).size,
      5,
      `colours repeat: ${served} ${waiting}`,
    );
    // Each is painted in its palette colour, from the palette the page was sent.
    const styles = await page.locator(".slots .box.taken .swatch").evaluateAll((nodes) =>
      nodes.map((n) => n.getAttribute("style"))
    );
    served.forEach((colour, i) => {
      const hex = DASHBOARD_PALETTE[Number(colour?.split("/")[0])];
      const rgb = [1, 3, 5].map((at) => parseInt(hex.slice(at, at + 2), 16)).join(", ");
      assert.match(styles[i] ?? "", new RegExp(`background: rgb\\(${rgb}\\)`), `slot ${i + 1}`);
    });
    const { port } = clients[3].conn.localAddr as Deno.NetAddr;
    assert.equal(
      await page.locator("[data-waiting]").first().getAttribute("data-waiting"),
      `127.0.0.1:${port}`,
    );

    // Three requests at once; the long one is still counting while the page is looked at. Its
    // client asks for progress lines, so its critical sections write, and may wait for the lock.
    await clients[2].write("PROGRESS ON\n");
    assert.equal(await clients[2].readLine(), "OK progress on");
    const asks = ["100 12", "200 8", "300 40"];
    await Promise.all(asks.map((ask, i) => clients[i].write(`${ask}\n`)));
    const row = page.locator('[data-request="R4"]');
    await row.locator(".fraction", { hasText: /^[1-3]\d \/ 40/ }).waitFor(); // 10 to 39 done
    assert.match(await row.locator(".numbers").textContent() ?? "", /^300 → \d+ \/ 340$/);
    await page.locator('[data-mutex="R4"]').waitFor();
    const png = await page.screenshot({ fullPage: true });
    assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47]); // "PNG"
    if (Deno.env.get("THREADCOUNT_UPDATE_DOCS") === "1") {
      await Deno.writeFile(new URL("../docs/dashboard.png", import.meta.url), png);
    }

    const answerOf = async (client: RawClient) => {
      for (let line = await client.readLine();; line = await client.readLine()) {
        if (!line?.startsWith("PROGRESS ")) return line;
      }
    };
    const answers = await Promise.all(clients.slice(0, 3).map(answerOf));
    assert.deepEqual(answers, ["112", "208", "340"]);
    for (const [request, result] of [["R2", "112"], ["R3", "208"], ["R4", "340"]]) {
      await page.locator(`[data-finished="${request}"] .result`, { hasText: result }).waitFor();
    }
    await page.locator("#requests-empty:not([hidden])").waitFor();
    for (const [request, count] of [["R2", 12], ["R3", 8], ["R4", 40]] as const) {
      assert.equal(await page.locator(`.bar[data-task^="${request}#"]`).count(), count);
    }
    // A finished request keeps its client's colour.
    const finishedColour = await page.locator('[data-finished="R4"] .swatch')
      .getAttribute("data-colour");
    assert.equal(finishedColour, served[2]);
    await page.locator('.queue[data-queued="0"]').nth(1).waitFor();
    for (const c of clients) await c[Symbol.asyncDispose]();

    // More increments than updates carry one by one: the rest are drawn as their density,
    // counted on the page, so every increment is on the page, one way or the other.
    await using busy = startServer({ workers: 2, iterationsPerUnit: 1 });
    await using busyDashboard = serveDashboard(busy, { port: 0, intervalMs: 5000 });
    const busyPage = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    busyPage.setDefaultTimeout(30_000);
    await busyPage.goto(busyDashboard.url);
    await busyPage.locator("#status.live").waitFor();
    await using counting = await RawClient.connect(busy);
    await counting.write("0 20000\n");
    assert.equal(await counting.readLine(), "20000");
    // R1's end comes in the update with its last bars, or after them.
    await busyPage.locator('[data-finished="R1"] .result', { hasText: "20000" }).waitFor();
    const drawn = await busyPage.locator('.bar[data-task^="R1#"]').count();
    const blocks = await busyPage.locator(".bar.summary").evaluateAll((nodes) =>
      nodes.map((n) => Number(n.getAttribute("data-summary")))
    );
    const summarised = blocks.reduce((a, b) => a + b, 0);
    assert.ok(blocks.length > 0 && summarised > 0, "no increment was summarised");
    assert.equal(drawn + summarised, 20000);
    assert.equal(
      await busyPage.locator("#summarised").textContent(),
      `${summarised} increments of the last minute are drawn as their density ` +
        "(a block inked by the share of time its Worker was busy, in the clients' colours): " +
        "more ended than the page is sent one by one",
    );
  },
});

Deno.test("dashboard over plain HTTP: the page, a snapshot, updates, and history for a late page", async () => {
  await using server = startServer({ workers: 3, maxClients: 4 });
  await using dashboard = serveDashboard(server, { port: 0, intervalMs: 20 });
  const page = await (await fetch(dashboard.url)).text();
  for (const marker of ['data-stat="tasks-done"', 'id="slots"', 'id="mutex"', "EventSource"]) {
    assert.ok(page.includes(marker), `page lacks ${marker}`);
  }
  assert.ok(!/<script[^>]+src=|<link[^>]+href="http/.test(page), "no outside resources");
  const notFound = await fetch(new URL("/nope", dashboard.url));
  assert.equal(notFound.status, 404);
  await notFound.body?.cancel();

  await withDeadline(20_000, "the dashboard's events", async (signal) => {
    const response = await fetch(new URL("/events", dashboard.url), { signal });
    assert.equal(response.headers.get("content-type"), "text/event-stream");
    const events = eventReader(response.body!, signal);
    try {
      const snapshot = await events.next();
      assert.equal(snapshot.name, "snapshot");
      assert.deepEqual(snapshot.data.lanes, {
        names: ["worker 0", "worker 1", "worker 2"],
        total: 3,
        gone: [],
      });
      assert.deepEqual(snapshot.data.clients.slots, [null, null, null, null]);
      assert.deepEqual(snapshot.data.requests, []);

      await using client = await RawClient.connect(server);
      await client.write("1 12\n");
      assert.equal(await client.readLine(), "13");
      const bars: [string, number, number, number, number, number][] = [];
      let finished;
      let listed = false;
      // Twelve bars and the end of R1 arrive within a bounded number of updates.
      for (let updates = 0; finished === undefined; updates++) {
        assert.ok(updates < 1000, "R1's end never reached the dashboard");
        const update = await events.next();
        assert.equal(update.name, "update");
        assert.deepEqual(update.data.summary, []);
        // Times travel relative to the update's now: back to the server's clock.
        const { now } = update.data;
        bars.push(
          ...update.data.bars.map(([task, lane, colour, start, end, units]) =>
            [task, lane, colour, now + start, now + end, units] as typeof bars[number]
          ),
        );
        finished = update.data.finished?.find((f) => f.request === "R1");
        // A request the pages were sent is ended in the update that lists it finished; one
        // that began and ended between two updates was never sent, so there is nothing to end.
        if (finished) assert.deepEqual(update.data.ended, listed ? ["R1"] : []);
        listed ||= update.data.requests.some((r) => r.request === "R1");
        assert.ok(!finished || !update.data.requests.some((r) => r.request === "R1"));
      }
      assert.equal(finished.result, "13");
      assert.equal(bars.length, 12);
      assert.equal(new Set(bars.map(([task]) => task)).size, 12);
      // Each bar is a task its Worker ran, on the Worker's own clock: one at a time per lane.
      const done = server.recorder.of("task-done");
      for (const [task, worker, colour, startedAt, endedAt] of bars) {
        const event = done.find((e) => e.task === task)!;
        assert.deepEqual([worker, colour], [event.worker, 0]);
        assert.ok(Math.abs(startedAt - event.startedAt) <= 0.051, `${task} started`);
        assert.ok(Math.abs(endedAt - event.endedAt) <= 0.051, `${task} ended`);
      }
      for (let lane = 0; lane < 3; lane++) {
        const spans = done.filter((e) => e.worker === lane).sort((a, b) =>
          a.startedAt - b.startedAt
        );
        for (let i = 1; i < spans.length; i++) {
          assert.ok(spans[i].startedAt >= spans[i - 1].endedAt, `worker ${lane} ran two at once`);
        }
      }
    } finally {
      await events.cancel();
    }

    // A page that connects now gets the recent window: R1's bars, and R1 as finished, not in flight.
    const late = await fetch(new URL("/events", dashboard.url), { signal });
    const lateEvents = eventReader(late.body!, signal);
    try {
      const { name, data } = await lateEvents.next();
      assert.equal(name, "snapshot");
      assert.equal(data.bars.filter(([task]) => task.startsWith("R1#")).length, 12);
      assert.deepEqual(data.requests, []);
      assert.deepEqual(data.finished.map((f) => [f.request, f.result]), [["R1", "13"]]);
      assert.deepEqual(data.queued.filter((n) => n > 0), []);
    } finally {
      await lateEvents.cancel();
    }
  });
});
