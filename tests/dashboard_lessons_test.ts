import assert from "node:assert/strict";
import { serveDashboard } from "../lib/observe/dashboard/dashboard_server.ts";
import { chromiumFound, launchChromium } from "./_browser.ts";
import { RawClient, startServer } from "./_helpers.ts";

if (!chromiumFound) {
  console.warn("dashboard_lessons_test: /usr/bin/chromium not found, so these tests are skipped");
}

Deno.test({
  name: "dashboard in Chromium: a racy lesson says its model, its lost updates, and its lock",
  ignore: !chromiumFound,
  fn: async () => {
    await using server = startServer({
      workers: 2,
      counterModel: "racy",
      minUnits: 1,
      maxUnits: 3,
      iterationsPerUnit: 20_000,
    });
    await using dashboard = serveDashboard(server, { port: 0, intervalMs: 50 });
    await using browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(30_000);
    await page.goto(dashboard.url);
    await page.locator("#status.live").waitFor();

    // Two clients of `0 60` at once, as the issue tried: the racy counter loses updates.
    const clients = [await RawClient.connect(server), await RawClient.connect(server)];
    try {
      await Promise.all(clients.map((client) => client.write("0 60\n")));
      const answers = await Promise.all(clients.map((client) => client.readLine()));
      const results = server.recorder.of("result");
      // The server's own count of lost updates is what the clients were answered.
      assert.deepEqual(
        results.map((r) => r.updatesLost).sort(),
        answers.map((a) => 60 - Number(a)).sort(),
      );
      for (const { request, value } of results) {
        const answer = Number(value);
        const row = page.locator(`[data-finished="${request}"]`);
        const lost = 60 - answer;
        await row.locator(".result", { hasText: String(answer) }).waitFor();
        assert.equal(await row.locator(".model").textContent(), "racy");
        assert.equal(
          await row.locator(".numbers").textContent(),
          `0 + 60 → ${answer}, ` +
            (lost === 0 ? "no update lost" : `${lost} update${lost === 1 ? "" : "s"} lost`),
        );
      }

      // In flight: the row and its Mutex panel say there is no lock.
      await clients[0].write("0 100000\n");
      const row = page.locator('[data-request="R3"]');
      await row.locator(".model", { hasText: "racy" }).waitFor();
      const mutex = page.locator('[data-mutex="R3"]');
      await mutex.waitFor();
      assert.equal(await mutex.locator(".guard").textContent(), "no lock: reads and writes race");
      assert.match(await mutex.locator(".lock").textContent() ?? "", /^\d+ lost$/);
      if (Deno.env.get("THREADCOUNT_UPDATE_DOCS") === "1") {
        await Deno.writeFile(
          new URL("../docs/dashboard_racy.png", import.meta.url),
          await page.screenshot({ fullPage: true }),
        );
      }
    } finally {
      for (const client of clients) await client[Symbol.asyncDispose]();
    }
  },
});

Deno.test({
  name: "dashboard in Chromium: the Mutex panel says what guards a locked and a parallel request",
  ignore: !chromiumFound,
  fn: async () => {
    await using server = startServer({ workers: 2, iterationsPerUnit: 20_000 });
    await using dashboard = serveDashboard(server, { port: 0, intervalMs: 50 });
    await using browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(30_000);
    await page.goto(dashboard.url);
    await page.locator("#status.live").waitFor();
    await using locked = await RawClient.connect(server);
    await using parallel = await RawClient.connect(server);
    await locked.write("COUNTER locked\n");
    assert.match(await locked.readLine() ?? "", /^OK counter locked/);
    await locked.write("0 100000\n");
    await parallel.write("0 100000\n");
    const lockedRow = page.locator('.mutex[data-counter="locked"]');
    const parallelRow = page.locator('.mutex[data-counter="parallel"]');
    await lockedRow.waitFor();
    await parallelRow.waitFor();
    assert.equal(
      await lockedRow.locator(".guard").textContent(),
      "a lock around the whole increment: Workers take turns",
    );
    assert.match(
      await parallelRow.locator(".guard").textContent() ?? "",
      /^a Mutex around the update · \d+ sections?, \d+ waited$/,
    );
    assert.equal(await page.locator(".request .model.locked").count(), 1);
    assert.equal(await page.locator(".request .model.parallel").count(), 1);
  },
});
