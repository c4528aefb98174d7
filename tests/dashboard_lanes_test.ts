import assert from "node:assert/strict";
import { serveDashboard } from "../lib/observe/dashboard/dashboard_server.ts";
import { chromiumFound, inkedShare, launchChromium } from "./_browser.ts";
import { RawClient, startServer } from "./_helpers.ts";

if (!chromiumFound) {
  console.warn("dashboard_lanes_test: /usr/bin/chromium not found, so these tests are skipped");
}

Deno.test({
  name:
    "dashboard in Chromium: at a high rate a busy Worker's lane is inked, and the page says why",
  ignore: !chromiumFound,
  fn: async () => {
    // Tiny increments, as fast as the pool runs them (about 100 000 a second or more on an idle
    // machine): far more than an update carries one by one.
    await using server = startServer({
      workers: 2,
      iterationsPerUnit: 1000,
      minUnits: 1,
      maxUnits: 10,
    });
    await using dashboard = serveDashboard(server, { port: 0 });
    await using browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.setDefaultTimeout(60_000);
    await page.goto(dashboard.url);
    await page.locator("#status.live").waitFor();
    const clients = await Promise.all(Array.from({ length: 4 }, () => RawClient.connect(server)));
    try {
      await Promise.all(clients.map((client) => client.write("0 1000000\n")));
      // Twelve updates' density on each lane: three seconds of them, more than the 2 s window.
      for (const lane of [0, 1]) {
        await page.locator(`.lane[data-worker="${lane}"] .bar.summary`).nth(11).waitFor({
          state: "attached",
        });
      }
      assert.match(
        await page.locator("#summarised").textContent() ?? "",
        /^\d+ increments of the last minute are drawn as their density/,
      );
      for (const lane of [0, 1]) {
        const box = (await page.locator(`.lane[data-worker="${lane}"] .track`).boundingBox())!;
        // The middle half of the window, between the bars' top and bottom margins.
        const share = await inkedShare(page, {
          x: box.x + box.width / 4,
          y: box.y + 6,
          width: box.width / 2,
          height: box.height - 12,
        });
        assert.ok(share > 0.5, `lane ${lane}: only ${(share * 100).toFixed(1)}% inked`);
      }
    } finally {
      for (const client of clients) await client[Symbol.asyncDispose]();
    }
  },
});
