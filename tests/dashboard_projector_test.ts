import assert from "node:assert/strict";
import { serveDashboard } from "../lib/observe/dashboard/dashboard_server.ts";
import { chromiumFound, launchChromium } from "./_browser.ts";
import { RawClient, startServer } from "./_helpers.ts";

if (!chromiumFound) {
  console.warn("dashboard_projector_test: /usr/bin/chromium not found, so it is skipped");
}

/**
 * What wraps on the page, run in it as source (Deno's types have no DOM): each of these is
 * one line when no taller than one and a half of its own line height.
 */
const WRAPPED_IN_PAGE = `(() => {
  const found = [];
        for (
          const node of document.querySelectorAll(
            ".numbers, .fraction, .lane .name, .stat .value, .stat .label, .conn",
          )
        ) {
          const style = getComputedStyle(node);
          const line = parseFloat(style.lineHeight) || parseFloat(style.fontSize) * 1.2;
          const rect = node.getBoundingClientRect();
          if (rect.height > line * 1.5) found.push(\`\${node.className}: \${node.textContent}\`);
        }
        // The queue's boxes are taller than its text: it is one line when no taller than them.
        for (const node of document.querySelectorAll(".queue")) {
          if (node.getBoundingClientRect().height > 30) found.push(\`queue: \${node.textContent}\`);
        }
        const { scrollWidth, clientWidth } = document.documentElement;
        if (scrollWidth > clientWidth) {
          const wide = [...document.querySelectorAll("body *")]
            .filter((node) => node.getBoundingClientRect().right > clientWidth + 1)
            .slice(0, 3).map((node) => node.className || node.tagName);
          found.push(\`the page scrolls sideways: \${wide.join(", ")}\`);
        }
        return found;
})()`;

Deno.test({
  name: "dashboard in Chromium: at 1024 × 768 and 1920 × 1080 no number or name wraps; larger type",
  ignore: !chromiumFound,
  fn: async () => {
    await using server = startServer({ workers: 2, iterationsPerUnit: 200_000 });
    await using dashboard = serveDashboard(server, { port: 0, intervalMs: 50 });
    await using browser = await launchChromium();
    await using long = await RawClient.connect(server);
    await using big = await RawClient.connect(server);
    await long.write("0 100000\n");
    await big.write("123456789012345678901234567890 100000\n");
    for (const [width, height] of [[1024, 768], [1920, 1080]]) {
      const page = await browser.newPage({ viewport: { width, height } });
      page.setDefaultTimeout(30_000);
      await page.goto(dashboard.url);
      await page.locator("#status.live").waitFor();
      await page.locator('[data-request="R2"] .fraction', { hasText: /^[1-9]/ }).waitFor();
      // Each of these is one line: no taller than one and a half of its own line height.
      const wrapped = await page.evaluate(WRAPPED_IN_PAGE);
      assert.deepEqual(wrapped, [], `${width} × ${height}`);
      // Two different queues, two different names: the pool's, and each Worker's own.
      assert.equal(
        await page.locator('[data-stat="tasks-queued"] + .label').textContent(),
        "in the pool's queue, no Worker yet",
      );
      assert.match(
        await page.locator(".queue").first().textContent() ?? "",
        /^(none|\d+) waiting$/,
      );
      // Larger type, for the back of the room.
      const hint = page.locator(".hint").first();
      const before = (await hint.boundingBox())!.height;
      await page.locator("#type-size").click();
      assert.equal(await page.locator("body.large").count(), 1);
      assert.ok((await hint.boundingBox())!.height > before * 1.2, "the type did not grow");
      await page.close();
    }
  },
});
