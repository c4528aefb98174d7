import assert from "node:assert/strict";
import { serveDashboard } from "../lib/observe/dashboard/dashboard_server.ts";
import { chromiumFound, inkedShare, launchChromium } from "./_browser.ts";
import { RawClient, startServer } from "./_helpers.ts";
import { FREE_LANE_NAME } from "../lib/fleet/remote_lane.ts";

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
      // Frozen, so the drawing and the screenshot are of one moment.
      await page.locator("#pause").click();
      for (const lane of [0, 1]) {
        const track = page.locator(`.lane[data-worker="${lane}"] .track`);
        const box = (await track.boundingBox())!;
        // The middle half of the window, between the bars' top and bottom margins.
        const region = {
          x: box.x + box.width / 4,
          y: box.y + 6,
          width: box.width / 2,
          height: box.height - 12,
        };
        // How busy the server measured this Worker over the region: its bars' spans, each
        // block of density weighted by the busy share the server sent with it.
        const busy = await page.evaluate(`((lane, from, to) => {
          const track = document.querySelector('.lane[data-worker="' + lane + '"] .track');
          let covered = 0;
          for (const bar of track.querySelectorAll(".bar")) {
            const r = bar.getBoundingClientRect();
            const overlap = Math.max(0, Math.min(r.right, to) - Math.max(r.left, from));
            const share = bar.dataset.busy === undefined ? 1 : Number(bar.dataset.busy) / 1000;
            covered += overlap * share;
          }
          return covered / (to - from);
        })(${lane}, ${region.x}, ${region.x + region.width})`) as number;
        const inked = await inkedShare(page, region);
        // On an idle machine both are near 1; on a loaded one the Workers wait on the main
        // thread, and the lane must show exactly that much, no less.
        assert.ok(busy > 0.1, `lane ${lane}: the server measured it busy ${busy}`);
        assert.ok(
          inked >= busy * 0.8,
          `lane ${lane}: busy ${(busy * 100).toFixed(1)}% but only ${
            (inked * 100).toFixed(1)
          }% inked`,
        );
      }
    } finally {
      for (const client of clients) await client[Symbol.asyncDispose]();
    }
  },
});

Deno.test({
  name: "dashboard in Chromium: a Worker's running increment is drawn from its start up to now",
  ignore: !chromiumFound,
  fn: async () => {
    // Increments of about a second each.
    await using server = startServer({
      workers: 2,
      minUnits: 10,
      maxUnits: 10,
      iterationsPerUnit: 100_000_000,
    });
    await using dashboard = serveDashboard(server, { port: 0, intervalMs: 50 });
    await using browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.setDefaultTimeout(60_000);
    await page.goto(dashboard.url);
    await page.locator("#status.live").waitFor();
    await using client = await RawClient.connect(server);
    await client.write("0 2\n");
    for (const lane of [0, 1]) {
      const track = page.locator(`.lane[data-worker="${lane}"] .track`);
      const bar = track.locator(".bar.running");
      await bar.waitFor();
      assert.match(await bar.getAttribute("data-task") ?? "", /^R1#[12]$/);
      // It reaches "now", the track's right edge: the last 6 % of the lane is inked.
      const box = (await track.boundingBox())!;
      const share = await inkedShare(page, {
        x: box.x + box.width * 0.94,
        y: box.y + 6,
        width: box.width * 0.05,
        height: box.height - 12,
      });
      assert.ok(share > 0.5, `lane ${lane}: the last 6 % only ${(share * 100).toFixed(1)}% inked`);
    }
    assert.equal(await client.readLine(), "2");
    // Once they end, each is a bar of its own, and nothing runs.
    await page.locator('.bar[data-task="R1#2"]:not(.running)').waitFor({ state: "attached" });
    await page.locator('.bar[data-task="R1#1"]:not(.running)').waitFor({ state: "attached" });
    await page.locator(".bar.running").first().waitFor({ state: "detached" });
  },
});

Deno.test({
  name: "dashboard in Chromium: the lane of a node that left is marked gone, its bars removed",
  ignore: !chromiumFound,
  fn: async () => {
    await using server = startServer({ workers: 2 });
    const lanes = ["worker 0", "node-a/worker 0"];
    // The server, as the dashboard reads it, with a lane that a node holds and then leaves.
    await using dashboard = serveDashboard({
      events: server.events,
      options: server.options,
      address: server.address,
      finished: server.finished,
      stats: () => server.stats(),
      laneNames: () => lanes,
    }, { port: 0, intervalMs: 50 });
    await using browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.setDefaultTimeout(30_000);
    await page.goto(dashboard.url);
    await page.locator("#status.live").waitFor();
    await using client = await RawClient.connect(server);
    // Enough that both Workers take some.
    await client.write("0 400\n");
    assert.equal(await client.readLine(), "400");
    const nodeLane = page.locator('.lane[data-worker="1"]');
    await nodeLane.locator(".bar").first().waitFor({ state: "attached" });
    assert.equal(await nodeLane.locator(".name").textContent(), "node-a/worker 0");
    lanes[1] = FREE_LANE_NAME;
    await page.locator('.lane.gone[data-worker="1"]').waitFor();
    assert.equal(await nodeLane.locator(".name").textContent(), "gone");
    // Bars sent for the gone lane after it left (here: the server's own Worker 1 goes on
    // running, as a late report of the node's would) are not drawn on it either. The request's
    // finished row comes after all its bars (drawn one by one or as their density).
    const drawn = await page.locator('.lane[data-worker="0"] .bar').count();
    await client.write("0 400\n");
    assert.equal(await client.readLine(), "400");
    await page.locator('[data-finished="R2"]').waitFor({ state: "attached" });
    assert.ok(
      await page.locator('.lane[data-worker="0"] .bar').count() > drawn,
      "lane 0 draws the second request",
    );
    assert.equal(await nodeLane.locator(".bar").count(), 0);
    assert.ok(
      await page.locator('.lane[data-worker="0"] .bar').count() > 0,
      "lane 0 keeps its bars",
    );
  },
});
