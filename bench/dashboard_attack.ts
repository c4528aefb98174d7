/**
 * The dashboard's attacks of issue 21 (item 7), measured against a server
 * started from a checkout (this one, or an older one to compare):
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 --allow-read=. --allow-run bench/dashboard_attack.ts run . page
 * ```
 *
 * Scenarios: `nodash` (no dashboard), `nopage` (a dashboard, no page) and
 * `page` (a page open) each run one client that loops connect / `0 1` /
 * close for SECONDS (60) and report its rate, the server's CPU per
 * connection, and the sizes of the page's messages (and of a late page's
 * first); `silent` opens 2 000 dashboard streams that never read while the
 * client loops, and reports the server's largest RSS and the longest a
 * normal `0 1` took meanwhile. The server runs as `deno task server` runs it,
 * with `--iterations-per-unit 1` so that the work is not what is measured.
 *
 * @module
 */
import { Child, runChild } from "../tests/_child.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const self = new URL(import.meta.url).pathname;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One `0 1` on a connection of its own. */
async function oneRequest(port: number): Promise<void> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(encoder.encode("0 1\n"));
    const buffer = new Uint8Array(256);
    let text = "";
    while (!text.includes("\n")) {
      const n = await conn.read(buffer);
      if (n === null) throw new Error("the server closed before it answered");
      text += decoder.decode(buffer.subarray(0, n));
    }
    if (text.trim() !== "1") throw new Error(`the server answered ${JSON.stringify(text)}`);
  } finally {
    conn.close();
  }
}

/** A role of its own process: the client, a page, or the silent streams. */
async function role(name: string, args: number[]): Promise<unknown> {
  const [port, seconds, count] = args;
  if (name === "churn") {
    const start = performance.now();
    let total = 0;
    while (performance.now() - start < seconds * 1000) {
      await oneRequest(port);
      total++;
    }
    return { total, perSecond: Math.round(total / seconds) };
  }
  if (name === "page") {
    const response = await fetch(`http://127.0.0.1:${port}/events`);
    const reader = response.body!.getReader();
    const stop = setTimeout(() => reader.cancel(), seconds * 1000);
    const sizes: number[] = [];
    let tail = new Uint8Array(0);
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done || !value) break;
      // Messages end with a blank line: count the bytes of each.
      const joined = new Uint8Array(tail.length + value.length);
      joined.set(tail);
      joined.set(value, tail.length);
      let from = 0;
      for (let i = Math.max(1, tail.length); i < joined.length; i++) {
        if (joined[i] === 10 && joined[i - 1] === 10) {
          sizes.push(i + 1 - from);
          from = i + 1;
        }
      }
      tail = joined.subarray(from);
    }
    clearTimeout(stop);
    const [first = 0, ...updates] = sizes;
    updates.sort((a, b) => a - b);
    return {
      firstBytes: first,
      updates: updates.length,
      maxBytes: updates.at(-1) ?? 0,
      medianBytes: updates[Math.floor(updates.length / 2)] ?? 0,
    };
  }
  // silent: open `count` streams, never read; then say what each got.
  const conns: Deno.TcpConn[] = [];
  for (let i = 0; i < count; i++) {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(encoder.encode(`GET /events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`));
    conns.push(conn);
  }
  await sleep(seconds * 1000);
  const statuses: Record<string, number> = {};
  await Promise.all(conns.map(async (conn) => {
    const head = new Uint8Array(12);
    const timer = setTimeout(() => conn.close(), 5000);
    const n = await conn.read(head).catch(() => null);
    clearTimeout(timer);
    const status = n ? decoder.decode(head.subarray(9, 12)) : "none";
    statuses[status] = (statuses[status] ?? 0) + 1;
    try {
      conn.close();
    } catch { /* closed by the timer */ }
  }));
  return { opened: count, statuses };
}

/** Runs a role in a process of its own, and reads its result. */
async function spawnRole(name: string, args: number[], seconds: number): Promise<unknown> {
  const child = new Child(Deno.execPath(), {
    args: ["run", "--allow-net=127.0.0.1", self, name, ...args.map(String)],
    stderr: "null",
    limitMs: (seconds + 60) * 1000,
  });
  return JSON.parse((await child.output()).stdout);
}

/** A free port on 127.0.0.1. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Starts the server of checkout `repo`, runs `scenario`, and reports. */
async function run(repo: string, scenario: string, seconds: number): Promise<unknown> {
  const port = freePort();
  const dashboardPort = freePort();
  await using server = new Child(Deno.execPath(), {
    args: [
      ...["run", "-q", "-P=worker", "--allow-net=127.0.0.1"],
      "--v8-flags=--max-semi-space-size=4,--heap-growing-percent=20",
      ...["server.ts", "--port", String(port), "--quiet", "--iterations-per-unit", "1"],
      ...["--open-file-limit", "20000", "--workers", "2"],
      ...(scenario === "nodash" ? [] : ["--dashboard", String(dashboardPort)]),
    ],
    cwd: repo,
    stdout: "null",
    limitMs: (seconds + 120) * 1000,
  });
  // Deno reads /proc only with --allow-all: cat reads it for us.
  const proc = async (file: string) =>
    (await runChild("cat", { args: [`/proc/${server.pid}/${file}`] })).stdout;
  const rssMB = async () =>
    Math.round(Number(/VmRSS:\s+(\d+)/.exec(await proc("status"))![1]) / 1024);
  // utime + stime, in ticks of 10 ms.
  const cpuMs = async () => {
    const fields = (await proc("stat")).split(") ")[1].split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10;
  };
  for (let tries = 0;; tries++) {
    try {
      await oneRequest(port);
      break;
    } catch (error) {
      if (tries > 600) throw error;
      await sleep(100);
    }
  }
  const result: Record<string, unknown> = { repo, scenario, rssStartMB: await rssMB() };
  if (scenario === "silent") {
    const churn = spawnRole("churn", [port, seconds], seconds);
    await sleep(5000);
    const silent = spawnRole("silent", [dashboardPort, seconds / 2, 2000], seconds);
    let maxRss = 0;
    let maxMs = 0;
    const start = performance.now();
    while (performance.now() - start < (seconds / 2 + 8) * 1000) {
      const sent = performance.now();
      await oneRequest(port);
      maxMs = Math.max(maxMs, performance.now() - sent);
      maxRss = Math.max(maxRss, await rssMB());
      await sleep(200);
    }
    Object.assign(result, { silent: await silent, churn: await churn });
    Object.assign(result, { maxRssMB: maxRss, maxNormalRequestMs: Math.round(maxMs) });
  } else {
    const page = scenario === "page" ? spawnRole("page", [dashboardPort, seconds + 2], seconds) : 0;
    const cpuBefore = await cpuMs();
    const churn = await spawnRole("churn", [port, seconds], seconds) as { total: number };
    result.churn = churn;
    result.serverCpuMsPerConnection = +((await cpuMs() - cpuBefore) / churn.total).toFixed(3);
    if (scenario !== "nodash") result.latePage = await spawnRole("page", [dashboardPort, 2], 2);
    if (page) result.page = await page;
  }
  result.rssEndMB = await rssMB();
  server.kill("SIGTERM");
  await server.status;
  return result;
}

const [command, ...rest] = Deno.args;
if (command === "run") {
  const [repo = ".", scenario = "page", seconds = "60"] = rest;
  console.log(JSON.stringify(await run(repo, scenario, Number(seconds))));
} else {
  console.log(JSON.stringify(await role(command, rest.map(Number))));
}
