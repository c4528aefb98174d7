import assert from "node:assert/strict";
import { serveDashboard } from "../lib/observe/dashboard_server.ts";
import { RawClient, startServer } from "./_helpers.ts";

const CHROMIUM = "/usr/bin/chromium";
const chromiumFound = await Deno.stat(CHROMIUM).then(() => true, () => false);
if (!chromiumFound) {
  console.warn(
    `dashboard_test: ${CHROMIUM} not found, so the browser test is skipped; ` +
      "install it with: apt-get install -y chromium",
  );
}

Deno.test({
  name: "dashboard in headless Chromium: a lane per Worker, a bar per increment, waiting clients",
  ignore: !chromiumFound,
  fn: async () => {
    // Playwright probes for WSL as it loads, by reading under /proc/sys, which Deno allows only
    // with --allow-all. is-wsl's own switch skips the probe (this is no WSL), so the suite keeps
    // its narrow permissions.
    Deno.env.set("__IS_WSL_TEST__", "1");
    const { chromium } = await import("playwright-core");
    await using server = startServer({
      workers: 2,
      maxClients: 3,
      minUnits: 1,
      maxUnits: 8,
      iterationsPerUnit: 2_000_000, // about 2 ms a unit: bars of a few ms
    });
    await using dashboard = serveDashboard(server, { port: 0, intervalMs: 100 });
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      await page.goto(`${dashboard.url}?window=2`);
      await page.locator("#status.live").waitFor();
      assert.equal(await page.locator("[data-worker]").count(), 2);

      // Three clients at once, each holding a slot, and a fourth that must wait.
      const clients = await Promise.all([0, 1, 2].map(() => RawClient.connect(server)));
      await server.recorder.waitForType("served", 3);
      const waiting = await RawClient.connect(server);
      await server.recorder.waitForType("waiting");
      const counts = [60, 45, 30];
      await Promise.all(clients.map((c, i) => c.write(`${i * 100} ${counts[i]}\n`)));
      const answers = await Promise.all(clients.map((c) => c.readLine()));
      assert.deepEqual(answers, ["60", "145", "230"]);

      const total = String(counts.reduce((a, b) => a + b));
      await page.locator('[data-stat="tasks-done"]', { hasText: new RegExp(`^${total}$`) })
        .waitFor();
      for (const [i, n] of counts.entries()) {
        assert.equal(await page.locator(`[data-task^="R${i + 1}#"]`).count(), n);
      }
      assert.equal(await page.locator(".bar.pending").count(), 0);
      await page.locator('[data-stat="clients-waiting"]', { hasText: /^1$/ }).waitFor();
      const { hostname, port } = waiting.conn.localAddr as Deno.NetAddr;
      await page.locator(`[data-connection="${hostname}:${port}"][data-state="waiting"]`)
        .waitFor();
      assert.equal(await page.locator('li[data-state="served"]').count(), 3);

      const png = await page.screenshot({ fullPage: true });
      assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47]); // "PNG"
      if (Deno.env.get("THREADCOUNT_UPDATE_DOCS") === "1") {
        await Deno.writeFile(new URL("../docs/dashboard.png", import.meta.url), png);
      }
      for (const c of clients) await c[Symbol.asyncDispose]();
      await waiting[Symbol.asyncDispose]();
    } finally {
      await browser.close();
    }
  },
});

Deno.test("dashboard over plain HTTP: the page, then a snapshot and batched updates as events", async () => {
  await using server = startServer({ workers: 3, maxClients: 4 });
  await using dashboard = serveDashboard(server, { port: 0, intervalMs: 20 });
  const page = await (await fetch(dashboard.url)).text();
  for (const marker of ['data-stat="tasks-done"', 'data-stat="clients-waiting"', "EventSource"]) {
    assert.ok(page.includes(marker), `page lacks ${marker}`);
  }
  assert.ok(!/<script[^>]+src=|<link[^>]+href="http/.test(page), "no outside resources");
  const notFound = await fetch(new URL("/nope", dashboard.url));
  assert.equal(notFound.status, 404);
  await notFound.body?.cancel();

  const response = await fetch(new URL("/events", dashboard.url));
  assert.equal(response.headers.get("content-type"), "text/event-stream");
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const nextEvent = async () => {
    while (!text.includes("\n\n")) text += (await reader.read()).value ?? "";
    const [block] = text.split("\n\n", 1);
    text = text.slice(block.length + 2);
    const [, name] = /^event: (\w+)$/m.exec(block)!;
    return { name, data: JSON.parse(/^data: (.*)$/m.exec(block)![1]) };
  };
  const snapshot = await nextEvent();
  assert.equal(snapshot.name, "snapshot");
  assert.equal(snapshot.data.workers, 3);
  assert.equal(snapshot.data.maxClients, 4);

  const client = await RawClient.connect(server);
  await client.write("1 12\n");
  assert.equal(await client.readLine(), "13");
  let done = 0;
  while (done < 12) {
    const update = await nextEvent();
    assert.equal(update.name, "update");
    done += update.data.done.length;
  }
  assert.equal(done, 12);
  await reader.cancel();
  await client[Symbol.asyncDispose]();
});
