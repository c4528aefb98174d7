/**
 * The dashboard page's own cost at a high rate (issue 19): a server from a
 * checkout (this one, or an older one to compare) with `--iterations-per-unit
 * 1000`, 12 clients that loop `0 50000`, and one page in headless Chromium.
 * Reports the increments a second, the page's main-thread CPU (Chromium's
 * `TaskDuration`) and the bytes a second of its event stream, over SECONDS,
 * and how much of the middle of each lane is inked (from a screenshot).
 *
 * ```sh
 * deno run -A bench/dashboard_page_load.ts . 20
 * ```
 *
 * @module
 */
import { inkedShare } from "../tests/_browser.ts";
import { Child } from "../tests/_child.ts";

const [repo = ".", secondsText = "20"] = Deno.args;
const seconds = Number(secondsText);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

const port = freePort();
const dashboardPort = freePort();
await using server = new Child(Deno.execPath(), {
  args: [
    ...["run", "-q", "-P=worker", "--allow-net=127.0.0.1", "--allow-write=traces"],
    "--v8-flags=--max-semi-space-size=4,--heap-growing-percent=20",
    ...["server.ts", "--port", String(port), "--quiet", "--iterations-per-unit", "1000"],
    ...["--workers", "2", "--dashboard", String(dashboardPort)],
  ],
  cwd: repo,
  stdout: "null",
  stderr: "null",
  limitMs: (seconds + 120) * 1000,
});

async function request(line: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode(line + "\n"));
    const buffer = new Uint8Array(4096);
    let text = "";
    while (!text.includes("\n")) {
      const n = await conn.read(buffer);
      if (n === null) break;
      text += new TextDecoder().decode(buffer.subarray(0, n));
    }
    return text.trim();
  } finally {
    conn.close();
  }
}

for (let tries = 0;; tries++) {
  try {
    await request("0 1");
    break;
  } catch (error) {
    if (tries > 600) throw error;
    await sleep(100);
  }
}
let stop = false;
let increments = 0;
const clients = Array.from({ length: 12 }, async () => {
  while (!stop) {
    try {
      if ((await request("0 50000")) === "50000") increments += 50000;
    } catch {
      if (!stop) await sleep(50); // turned away or reset: the next try
    }
  }
});

Deno.env.set("__IS_WSL_TEST__", "1");
const { chromium } = await import("playwright-core");
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
});
const result: Record<string, unknown> = { repo, seconds };
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Performance.enable");
  let streamBytes = 0;
  await cdp.send("Network.enable");
  cdp.on("Network.dataReceived", (event) => {
    streamBytes += event.encodedDataLength || event.dataLength;
  });
  await page.goto(`http://127.0.0.1:${dashboardPort}/`);
  await sleep(5000);
  const metric = async (
    name: string,
  ) => ((await cdp.send("Performance.getMetrics")).metrics.find((m) => m.name === name)?.value ??
    0);
  const cpu0 = await metric("TaskDuration");
  const bytes0 = streamBytes;
  const inc0 = increments;
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const elapsed = (performance.now() - t0) / 1000;
  result.incrementsPerSecond = Math.round((increments - inc0) / elapsed);
  result.pageCpuShare = +((await metric("TaskDuration") - cpu0) / elapsed).toFixed(3);
  result.streamBytesPerSecond = Math.round((streamBytes - bytes0) / elapsed);
  // Ink of the middle half of each lane, from a screenshot decoded in a canvas.
  const tracks = page.locator(".track");
  const inked: number[] = [];
  for (let i = 0; i < await tracks.count(); i++) {
    const box = (await tracks.nth(i).boundingBox())!;
    const share = await inkedShare(page, {
      x: box.x + box.width / 4,
      y: box.y + 6,
      width: box.width / 2,
      height: box.height - 12,
    });
    inked.push(+share.toFixed(3));
  }
  result.laneMiddleInked = inked;
} finally {
  stop = true;
  await browser.close();
  await Promise.allSettled(clients);
  server.kill("SIGTERM");
  await server.status.catch(() => {});
}
console.log(JSON.stringify(result));
