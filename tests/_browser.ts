/**
 * Headless Chromium for the dashboard's browser tests (playwright-core and
 * `/usr/bin/chromium`), and the measure they assert on: the share of a
 * screenshot's pixels that are inked, decoded in the browser's own canvas.
 *
 * @module
 */
import type { Browser, Page } from "playwright-core";

/** Where the tests find Chromium. */
export const CHROMIUM = "/usr/bin/chromium";

/** Whether Chromium is installed: without it the browser tests are skipped, saying so. */
export const chromiumFound = await Deno.stat(CHROMIUM).then(() => true, () => false);

/** Launches headless Chromium; close it with `await using`. */
export async function launchChromium(): Promise<Browser & AsyncDisposable> {
  // Playwright probes for WSL as it loads, by reading under /proc/sys, which Deno allows only
  // with --allow-all. is-wsl's own switch skips the probe (this is no WSL).
  Deno.env.set("__IS_WSL_TEST__", "1");
  const { chromium } = await import("playwright-core");
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
  return Object.assign(browser, { [Symbol.asyncDispose]: () => browser.close() });
}

/**
 * Decodes a PNG (base64) in the page's canvas, and counts the pixels far from
 * the lanes' background, `#0b1015`: ink.
 */
const INK_IN_PAGE = `async (b64) => {
  const blob = await (await fetch("data:image/png;base64," + b64)).blob();
  const bitmap = await createImageBitmap(blob);
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const context = canvas.getContext("2d");
  context.drawImage(bitmap, 0, 0);
  const data = context.getImageData(0, 0, bitmap.width, bitmap.height).data;
  let ink = 0;
  for (let p = 0; p < data.length; p += 4) {
    const distance = Math.abs(data[p] - 0x0b) + Math.abs(data[p + 1] - 0x10) +
      Math.abs(data[p + 2] - 0x15);
    if (distance > 40) ink++;
  }
  return ink / (data.length / 4);
}`;

/**
 * The share of a region's pixels that are inked (far from the lanes' background),
 * from a screenshot of the page decoded in the page's own canvas.
 *
 * @param page The page.
 * @param clip The region, in CSS pixels.
 * @returns A share from 0 to 1.
 */
export async function inkedShare(
  page: Page,
  clip: { x: number; y: number; width: number; height: number },
): Promise<number> {
  const png = await page.screenshot({ clip });
  let binary = "";
  for (const byte of png) binary += String.fromCharCode(byte);
  // Run in the page as source: Deno's own types have no 2D canvas.
  const share = await page.evaluate(`(${INK_IN_PAGE})(${JSON.stringify(btoa(binary))})`);
  return Number(share);
}
