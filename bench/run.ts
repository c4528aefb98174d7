/**
 * `deno task bench`: the benchmark suite. Each figure is measured in the same
 * run as its floor (what the runtime itself does with no threadcount in the
 * way) and reported as a ratio. Servers run as their own processes, started
 * with their default flags but for what a benchmark says.
 *
 * Usage: deno task bench [--json] [--quick] [--only 1,3]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { LineClient } from "../lib/client/line_client.ts";
import { LineReader, streamSource } from "../lib/wire/line_reader.ts";
import { unitDrawer } from "../lib/server/work_units.ts";
import { closeQuietly, writeAll } from "../lib/wire/write_all.ts";

const root = new URL("..", import.meta.url);
const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    json: { type: "boolean", default: false },
    quick: { type: "boolean", default: false },
    only: { type: "string" },
  },
});
const scale = flags.quick ? 0.25 : 1;
const log = (text: string) => {
  if (!flags.json) console.error(text);
};

/** The flags of `deno task server`, read from deno.json, so the benchmark runs what users run. */
const SERVER_TASK_FLAGS: string[] = (() => {
  const config = JSON.parse(Deno.readTextFileSync(new URL("deno.json", root)));
  const words: string[] = config.tasks.server.command.split(/\s+/);
  // Deno's flags: those before the script (the script's own, such as --open-file-limit, follow
  // it), the short ones too (-P=worker, the Worker's read permissions).
  return words.slice(0, words.indexOf("server.ts")).filter((word) => word.startsWith("-"));
})();

/** A server under test, in its own process. */
class ServerProcess implements AsyncDisposable {
  readonly child: Deno.ChildProcess;
  port = 0;
  #drained?: Promise<void>;

  private constructor(child: Deno.ChildProcess) {
    this.child = child;
  }

  static async start(script: string, args: string[], perms: string[]): Promise<ServerProcess> {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", ...perms, script, ...args],
      cwd: root,
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const server = new ServerProcess(child);
    const lines = new LineReader(streamSource(child.stdout), { maxLineBytes: 1 << 20 });
    while (true) {
      const event = await lines.next();
      if (event.kind !== "line") throw new Error(`${script} ended before it listened`);
      const match = /listening on 127\.0\.0\.1:(\d+)/.exec(event.text);
      if (match) {
        server.port = Number(match[1]);
        break;
      }
    }
    // Keep reading its log so the pipe never fills; the figures do not depend on it.
    server.#drained = (async () => {
      while ((await lines.next()).kind === "line") { /* discard */ }
    })();
    return server;
  }

  /** threadcount's server, run exactly as `deno task server` runs it. */
  static threadcount(args: string[]): Promise<ServerProcess> {
    return ServerProcess.start("server.ts", ["--port", "0", ...args], SERVER_TASK_FLAGS);
  }

  static bare(): Promise<ServerProcess> {
    return ServerProcess.start("bench/bare_line_server.ts", ["0"], ["--allow-net=127.0.0.1"]);
  }

  /** Peak resident memory of the process so far, in MB (Linux's VmHWM). */
  async peakMemoryMb(): Promise<number> {
    // Deno reads /proc only with --allow-all; grep reads it for us.
    const { stdout } = await new Deno.Command("grep", {
      args: ["VmHWM", `/proc/${this.child.pid}/status`],
      stdout: "piped",
    }).output();
    return Number(/VmHWM:\s+(\d+) kB/.exec(new TextDecoder().decode(stdout))![1]) / 1024;
  }

  connect(): Promise<LineClient> {
    return LineClient.connect({ hostname: "127.0.0.1", port: this.port });
  }

  /** A lean connection for the load generators: raw reads and writes. */
  connectRaw(): Promise<RawConnection> {
    return RawConnection.open(this.port);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.child.kill("SIGTERM");
    } catch { /* gone */ }
    await this.child.status;
    await this.#drained;
  }
}

const encoder = new TextEncoder();

/**
 * The load generators' connection: a request's bytes out, the expected reply's bytes in, with
 * nothing between (no line framing, no text decoding), so that the generator takes as little of
 * the CPUs it shares with the server as it can, for ours and the floor alike.
 */
class RawConnection implements Disposable {
  #conn: Deno.TcpConn;
  #buffer = new Uint8Array(4096);

  private constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
  }

  static async open(port: number): Promise<RawConnection> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.setNoDelay(true);
    return new RawConnection(conn);
  }

  /**
   * Sends `request` and reads exactly as many bytes as `reply` has; throws unless they are
   * `reply`.
   */
  async exchange(request: Uint8Array, reply: Uint8Array): Promise<void> {
    await writeAll(this.#conn, request);
    if (this.#buffer.length < reply.length) this.#buffer = new Uint8Array(reply.length);
    let got = 0;
    while (got < reply.length) {
      const n = await this.#conn.read(this.#buffer.subarray(got, reply.length));
      if (n === null) throw new Error("the server closed the connection");
      got += n;
    }
    for (let i = 0; i < reply.length; i++) {
      if (this.#buffer[i] !== reply[i]) {
        const text = new TextDecoder().decode(this.#buffer.subarray(0, got));
        throw new Error(
          `expected ${JSON.stringify(new TextDecoder().decode(reply))}, got ${
            JSON.stringify(text)
          }`,
        );
      }
    }
  }

  [Symbol.dispose](): void {
    closeQuietly(this.#conn);
  }
}

/** The bytes of `text` repeated `times` times. */
function bytes(text: string, times = 1): Uint8Array {
  return encoder.encode(text.repeat(times));
}

/**
 * The TCP and dispatch benchmarks measure the server, not the busy loop: zero work units.
 * Everything else (logging included) stays at its default.
 */
const ZERO_WORK = ["--min-units", "0", "--max-units", "0"];

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function timed(run: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await run();
  return (performance.now() - start) / 1000;
}

async function expectValue(client: LineClient, request: string, expected: string): Promise<void> {
  const reply = await client.request(request);
  if (reply.kind !== "value" || reply.text !== expected) {
    throw new Error(`${request} answered ${JSON.stringify(reply)}, expected ${expected}`);
  }
}

/** The raw floor: round trips per second through bare echo Workers, `inFlight` messages at once. */
async function echoFloor(workers: number, inFlight: number, seconds: number): Promise<number> {
  const pool = Array.from(
    { length: workers },
    () => new Worker(new URL("./echo_worker.ts", import.meta.url), { type: "module" }),
  );
  try {
    let count = 0;
    let running = true;
    const { promise, resolve } = Promise.withResolvers<void>();
    let outstanding = 0;
    for (const [i, worker] of pool.entries()) {
      worker.onmessage = () => {
        count++;
        if (running) worker.postMessage(count);
        else if (--outstanding === 0) resolve();
      };
      for (let j = i; j < inFlight; j += workers) {
        worker.postMessage(j);
        outstanding++;
      }
    }
    // Warm up, then count over the measured window.
    await new Promise((r) => setTimeout(r, 200));
    const start = performance.now();
    const before = count;
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const rate = (count - before) / ((performance.now() - start) / 1000);
    running = false;
    await promise;
    return rate;
  } finally {
    for (const worker of pool) worker.terminate();
  }
}

interface Row {
  name: string;
  ours: number;
  floor: number | null;
  unit: string;
  ratio: number | null;
  target: string;
  met: boolean;
  note?: string;
}

const rows: Row[] = [];
function report(row: Row): void {
  rows.push(row);
  const ratio = row.ratio === null ? "" : ` ratio ${row.ratio.toFixed(2)}`;
  log(
    `  ${row.name}: ${fmt(row.ours)} ${row.unit}${
      row.floor === null ? "" : ` vs floor ${fmt(row.floor)}`
    }${ratio} (target ${row.target}: ${row.met ? "met" : "NOT met"})`,
  );
}

function fmt(n: number): string {
  return n >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(2);
}

// 1. Dispatch: increments per second with zero work, against bare echo Workers.
async function dispatch(): Promise<void> {
  log("1. dispatch: one request of 200 000 increments with zero work");
  const increments = Math.round(200_000 * scale);
  const floor = await echoFloor(2, 256, 1.5 * scale + 0.5);
  const floorOne = await echoFloor(1, 1, 1);
  await using server = await ServerProcess.threadcount(ZERO_WORK);
  await using client = await server.connect();
  await expectValue(client, "0 20000", "20000"); // warm-up
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    times.push(await timed(() => expectValue(client, `0 ${increments}`, String(increments))));
  }
  const ours = increments / median(times);
  report({
    name: "dispatch (increments/s, 0 units)",
    ours,
    floor,
    unit: "increments/s",
    ratio: ours / floor,
    target: ">= 5x",
    met: ours / floor >= 5,
    note: `floor: bare echo, 2 Workers, 256 messages in flight (1 in flight: ${fmt(floorOne)}/s)`,
  });
}

// 2. Parallel efficiency: CPU-bound increments on 2 Workers against 1.
async function parallel(): Promise<void> {
  log("2. parallel efficiency: fixed 1-unit increments, 2 Workers against 1");
  const increments = Math.round(300 * scale);
  const timeWith = async (workers: number) => {
    await using server = await ServerProcess.threadcount([
      "--workers",
      String(workers),
      "--min-units",
      "1",
      "--max-units",
      "1",
    ]);
    await using client = await server.connect();
    await expectValue(client, "0 10", "10");
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      times.push(await timed(() => expectValue(client, `0 ${increments}`, String(increments))));
    }
    log(`    ${workers} Worker(s): ${times.map((t) => t.toFixed(2)).join(", ")} s`);
    return median(times);
  };
  const two = await timeWith(2);
  const one = await timeWith(1);
  const efficiency = one / (2 * two);
  report({
    name: "parallel efficiency (2 Workers vs 1)",
    ours: one / two,
    floor: 2,
    unit: "x speed-up",
    ratio: efficiency,
    target: ">= 0.90 of 2x",
    met: efficiency >= 0.9,
    note: `${increments} increments: ${one.toFixed(2)} s on 1 Worker, ${two.toFixed(2)} s on 2`,
  });
}

/**
 * Runs `loops` copies of `step` over and over for `seconds`, and returns the steps done per
 * second in all.
 */
async function stepsPerSecond(
  loops: number,
  seconds: number,
  step: (loop: number) => Promise<void>,
): Promise<number> {
  let count = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  await Promise.all(Array.from({ length: loops }, async (_, loop) => {
    while (performance.now() < deadline) {
      await step(loop);
      count++;
    }
  }));
  return count / ((performance.now() - start) / 1000);
}

/** Requests per second of `1 1` over `connections` kept-alive connections. */
async function keepAliveRate(server: ServerProcess, connections: number, seconds: number) {
  const clients = await Promise.all(
    Array.from({ length: connections }, () => server.connectRaw()),
  );
  const [request, reply] = [bytes("1 1\n"), bytes("2\n")];
  try {
    for (const client of clients) await client.exchange(request, reply);
    return await stepsPerSecond(connections, seconds, (i) => clients[i].exchange(request, reply));
  } finally {
    for (const client of clients) client[Symbol.dispose]();
  }
}

/**
 * Measures ours and the floor in alternating rounds on warmed-up servers, and
 * takes each side's median of 5: this machine's figures drift by tens of percent
 * from one second to the next, and alternating keeps the drift out of the ratio.
 */
async function alternate(
  ourArgs: string[],
  measure: (server: ServerProcess) => Promise<number>,
): Promise<{ ours: number; floor: number }> {
  await using server = await ServerProcess.threadcount(ourArgs);
  await using bare = await ServerProcess.bare();
  await measure(server); // warm-up: the JIT compiles the hot paths
  await measure(bare);
  const ours: number[] = [];
  const floor: number[] = [];
  for (let round = 0; round < 5; round++) {
    ours.push(await measure(server));
    floor.push(await measure(bare));
  }
  return { ours: median(ours), floor: median(floor) };
}

// 3. Requests per second over 50 kept-alive connections.
async function keepAlive(): Promise<void> {
  log("3. requests/s of `1 1` over 50 kept-alive connections");
  const seconds = 2 * scale + 0.5;
  const { ours, floor } = await alternate(
    ZERO_WORK.concat("--max-clients", "50"),
    (server) => keepAliveRate(server, 50, seconds),
  );
  report({
    name: "kept-alive requests/s (50 connections)",
    ours,
    floor,
    unit: "requests/s",
    ratio: ours / floor,
    target: ">= 0.85x",
    met: ours / floor >= 0.85,
    note: "floor: a bare Deno line server answering the sum at once",
  });
}

/** One-shot connections per second: connect, `1 1`, close; `parallel` loops at once. */
function oneShotRate(server: ServerProcess, parallel: number, seconds: number) {
  const [request, reply] = [bytes("1 1\n"), bytes("2\n")];
  return stepsPerSecond(parallel, seconds, async () => {
    using client = await server.connectRaw();
    await client.exchange(request, reply);
  });
}

// 4. One-shot connections per second.
async function oneShot(): Promise<void> {
  log("4. one-shot connections/s (connect, `1 1`, close), 32 at a time");
  const seconds = 2 * scale + 0.5;
  const { ours, floor } = await alternate(
    ZERO_WORK.concat("--max-clients", "32"),
    (server) => oneShotRate(server, 32, seconds),
  );
  report({
    name: "one-shot connections/s",
    ours,
    floor,
    unit: "connections/s",
    ratio: ours / floor,
    target: ">= 0.9x",
    met: ours / floor >= 0.9,
    note: "same floor",
  });
}

// 5. 10 000 simultaneous connections, one request each.
async function manyConnections(): Promise<void> {
  // Each side holds a descriptor per connection: Deno raises its soft limit to the hard one,
  // which must allow this many (the bench says so otherwise).
  const count = Math.round(10_000 * scale);
  log(`5. ${count} simultaneous connections, one request each`);
  await using server = await ServerProcess.threadcount(
    ZERO_WORK.concat("--max-clients", String(count)),
  );
  const clients: LineClient[] = [];
  try {
    for (let i = 0; i < count; i += 250) {
      const batch = Math.min(250, count - i);
      clients.push(...await Promise.all(Array.from({ length: batch }, () => server.connect())));
    }
    const seconds = await timed(() =>
      Promise.all(clients.map((client, i) => expectValue(client, `${i} 1`, String(i + 1))))
    );
    const peak = await server.peakMemoryMb();
    report({
      name: `${count} simultaneous connections`,
      ours: peak,
      floor: null,
      unit: "MB peak server memory",
      ratio: null,
      target: "all exact, <= 150 MB",
      met: peak <= 150,
      note: `all ${count} answers exact, in ${seconds.toFixed(2)} s`,
    });
  } finally {
    for (const client of clients) client.close();
  }
}

// 6. The original's workload, side by side.
async function original(): Promise<void> {
  log("6. `2 10` with the default work model, against the original's figure");
  const seed = 1;
  const draw = unitDrawer({ min: 1, max: 10, seed });
  const units = Array.from({ length: 10 }, () => draw());
  const totalUnits = units.reduce((a, b) => a + b, 0);
  await using server = await ServerProcess.threadcount(["--seed", String(seed)]);
  await using client = await server.connect();
  const seconds = await timed(() => expectValue(client, "2 10", "12"));
  const originalSeconds = totalUnits * 0.5;
  report({
    name: "`2 10`, default work model",
    ours: seconds,
    floor: originalSeconds,
    unit: "s",
    ratio: originalSeconds / seconds,
    target: "report",
    met: true,
    note: `${totalUnits} units; the original needs about 0.5 s a unit on one core: ` +
      `${originalSeconds.toFixed(1)} s (ratio: times faster)`,
  });
}

/** Latencies of `count` serial `0 1` requests on one connection, in µs. */
async function serialLatencies(server: ServerProcess, count: number): Promise<number[]> {
  using client = await server.connectRaw();
  const [request, reply] = [bytes("0 1\n"), bytes("1\n")];
  const latencies: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    await client.exchange(request, reply);
    latencies.push((performance.now() - start) * 1000);
  }
  return latencies;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

// 7. One client, serial requests: the latency of the hop to a Worker and back.
async function serial(): Promise<void> {
  const count = Math.round(5000 * scale);
  log(`7. one client, ${count} serial \`0 1\` requests a round (p50, p99 latency)`);
  await using server = await ServerProcess.threadcount(ZERO_WORK);
  await using bare = await ServerProcess.bare();
  await serialLatencies(server, 500); // warm-up
  await serialLatencies(bare, 500);
  const ours: number[][] = [];
  const floor: number[][] = [];
  for (let round = 0; round < 5; round++) {
    ours.push(await serialLatencies(server, count));
    floor.push(await serialLatencies(bare, count));
  }
  const p50 = median(ours.map((l) => percentile(l, 0.5)));
  const p99 = median(ours.map((l) => percentile(l, 0.99)));
  const floorP50 = median(floor.map((l) => percentile(l, 0.5)));
  const floorP99 = median(floor.map((l) => percentile(l, 0.99)));
  const rate = 1e6 / median(ours.map((l) => l.reduce((a, b) => a + b, 0) / l.length));
  const floorRate = 1e6 / median(floor.map((l) => l.reduce((a, b) => a + b, 0) / l.length));
  report({
    name: "one client, serial `0 1` requests/s",
    ours: rate,
    floor: floorRate,
    unit: "requests/s",
    ratio: rate / floorRate,
    target: ">= 0.7x",
    met: rate / floorRate >= 0.7,
    note: `p50 ${p50.toFixed(0)} µs, p99 ${p99.toFixed(0)} µs; floor p50 ${
      floorP50.toFixed(0)
    } µs, p99 ${floorP99.toFixed(0)} µs`,
  });
}

/** Requests per second of one client that sends `depth` `1 1` requests at once, then reads them. */
async function pipelinedRate(server: ServerProcess, depth: number, seconds: number) {
  using client = await server.connectRaw();
  const [request, reply] = [bytes("1 1\n", depth), bytes("2\n", depth)];
  return depth * await stepsPerSecond(1, seconds, () => client.exchange(request, reply));
}

// 10. One client that pipelines: the replies to a burst coalesced into few writes.
async function pipelined(): Promise<void> {
  log("10. one client pipelining 100 `1 1` requests at a time");
  const seconds = 2 * scale + 0.5;
  const { ours, floor } = await alternate(
    ZERO_WORK,
    (server) => pipelinedRate(server, 100, seconds),
  );
  report({
    name: "one client, 100 pipelined `1 1` requests/s",
    ours,
    floor,
    unit: "requests/s",
    ratio: ours / floor,
    target: "report",
    met: true,
    note: "floor: the bare line server, which answers all the lines of a read in one write",
  });
}

/** A child process whose stderr is read until a line matches, then drained. */
async function spawnUntil(
  command: string,
  args: string[],
  ready: RegExp,
  env: Record<string, string> = {},
): Promise<{ child: Deno.ChildProcess; line: string; stop: () => Promise<void> }> {
  const child = new Deno.Command(command, {
    args,
    env,
    cwd: root,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const lines = new LineReader(streamSource(child.stderr), { maxLineBytes: 1 << 20 });
  let line = "";
  while (true) {
    const event = await lines.next();
    if (event.kind !== "line") throw new Error(`${command} ${args.join(" ")} ended early`);
    if (ready.test(event.text)) {
      line = event.text;
      break;
    }
  }
  const drained = (async () => {
    while ((await lines.next()).kind === "line") { /* discard */ }
  })();
  return {
    child,
    line,
    stop: async () => {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
      await child.status;
      await drained;
    },
  };
}

/** Debian's nats-server on a free port, or undefined where it is not installed. */
async function startNats(): Promise<{ url: string; stop: () => Promise<void> } | undefined> {
  for (const binary of ["nats-server", "/usr/sbin/nats-server"]) {
    try {
      const nats = await spawnUntil(
        binary,
        ["-a", "127.0.0.1", "-p", "-1"],
        /Listening for client connections on/,
        // One OS thread for Go's scheduler: on two cores shared with two spinning Workers, idle
        // Go threads that spin looking for work would take their time (a broker on its own
        // machine needs no such setting).
        { GOMAXPROCS: "1" },
      );
      const port = /:(\d+)\s*$/.exec(nats.line)![1];
      return { url: `nats://127.0.0.1:${port}`, stop: nats.stop };
    } catch { /* try the next */ }
  }
  log("  nats-server not found (apt-get install nats-server): the NATS rows are skipped");
  return undefined;
}

/** The node task's permission set, from deno.json (`-P=worker`): the files the Worker module needs. */
const NODE_READ_FLAG: string = (() => {
  const config = JSON.parse(Deno.readTextFileSync(new URL("deno.json", root)));
  const words: string[] = config.tasks.node.command.split(/\s+/);
  const flag = words.find((word) => word.startsWith("-P="));
  if (!flag) throw new Error(`the node task names no permission set (-P=…): ${words.join(" ")}`);
  return flag;
})();

/** Worker nodes (`node.ts`), one Worker each, as `deno task node` runs them. */
async function startNodes(url: string, names: string[]) {
  return await Promise.all(names.map((name) =>
    spawnUntil(Deno.execPath(), [
      "run",
      "--allow-net=127.0.0.1",
      NODE_READ_FLAG,
      "node.ts",
      "--nats",
      url,
      "--workers",
      "1",
      "--name",
      name,
    ], /ready with/)
  ));
}

/** STATS of a server, as numbers. */
async function stats(client: LineClient): Promise<Record<string, number>> {
  await client.send("STATS");
  return JSON.parse((await client.readLine())!);
}

/** Waits (bounded) until the server counts `nodes` worker nodes. */
async function awaitNodes(client: LineClient, nodes: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if ((await stats(client)).nodes >= nodes) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the server did not see ${nodes} worker nodes within 10 s`);
}

/**
 * The floor of fleet dispatch: bare NATS request/reply between two processes, with the
 * fleet's message sizes (a batch of `tasks` tasks out, its report back) and as many
 * requests in flight as the fleet may keep, in tasks per second.
 */
async function natsFloor(url: string, tasks: number, inFlight: number, seconds: number) {
  const echo = await spawnUntil(Deno.execPath(), [
    "run",
    "--allow-net=127.0.0.1",
    "bench/nats_echo.ts",
    url,
    String(32 * tasks),
  ], /echo ready/);
  const { connect } = await import("@nats-io/transport-node");
  const nc = await connect({ servers: url.replace(/^nats:\/\//, "") });
  try {
    const payload = new Uint8Array(8 * (1 + 2 * tasks));
    let count = 0;
    const loop = async (deadline: number) => {
      while (performance.now() < deadline) {
        await nc.request("bench.echo", payload, { timeout: 5000 });
        count++;
      }
    };
    const run = async (s: number) => {
      const before = count;
      const start = performance.now();
      await Promise.all(Array.from({ length: inFlight }, () => loop(start + s * 1000)));
      return (count - before) / ((performance.now() - start) / 1000);
    };
    await run(0.3); // warm-up
    return (await run(seconds)) * tasks;
  } finally {
    await nc.close();
    await echo.stop();
  }
}

// 8. Dispatch through NATS: increments per second through two nodes, against bare NATS.
async function fleetDispatch(): Promise<void> {
  log("8. dispatch through NATS: zero-work increments through two nodes on this machine");
  const nats = await startNats();
  if (!nats) return;
  try {
    const nodes = await startNodes(nats.url, ["bench-a", "bench-b"]);
    try {
      await using server = await ServerProcess.threadcount(
        ZERO_WORK.concat("--workers", "0", "--nats", nats.url),
      );
      await using client = await server.connect();
      await awaitNodes(client, 2);
      const increments = Math.round(100_000 * scale);
      await expectValue(client, "0 20000", "20000"); // warm-up
      const before = await stats(client);
      const times: number[] = [];
      for (let i = 0; i < 3; i++) {
        times.push(await timed(() => expectValue(client, `0 ${increments}`, String(increments))));
      }
      const after = await stats(client);
      const perBatch = (after.tasks_done - before.tasks_done) /
        (after.batches_sent - before.batches_sent);
      const ours = increments / median(times);
      // As many requests in flight as the fleet may have: two remote Workers, up to 8 cheap
      // batches each (remote_lane.ts's MAX_BATCHES_IN_FLIGHT).
      const floor = await natsFloor(nats.url, Math.round(perBatch), 16, 1.5 * scale + 0.5);
      report({
        name: "NATS dispatch (increments/s, 0 units, 2 nodes)",
        ours,
        floor,
        unit: "increments/s",
        ratio: ours / floor,
        target: ">= 0.5x",
        met: ours / floor >= 0.5,
        note: `floor: bare NATS request/reply, ${perBatch.toFixed(0)} tasks a message ` +
          "(the fleet's mean), 16 in flight, echo in its own process",
      });
    } finally {
      for (const node of nodes) await node.stop();
    }
  } finally {
    await nats.stop();
  }
}

// 9. CPU-bound parallel efficiency: two nodes of one Worker each against one local Worker.
async function fleetParallel(): Promise<void> {
  log("9. NATS parallel efficiency: 1-unit increments on 2 nodes × 1 Worker against 1 local");
  const nats = await startNats();
  if (!nats) return;
  const increments = Math.round(300 * scale);
  const oneUnit = ["--min-units", "1", "--max-units", "1"];
  const timeOn = async (args: string[], nodes: number) => {
    await using server = await ServerProcess.threadcount(oneUnit.concat(args));
    await using client = await server.connect();
    if (nodes > 0) await awaitNodes(client, nodes);
    await expectValue(client, "0 10", "10");
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      times.push(await timed(() => expectValue(client, `0 ${increments}`, String(increments))));
    }
    log(`    ${args.join(" ")}: ${times.map((t) => t.toFixed(2)).join(", ")} s`);
    return median(times);
  };
  try {
    const nodes = await startNodes(nats.url, ["bench-c", "bench-d"]);
    let fleet: number;
    try {
      fleet = await timeOn(["--workers", "0", "--nats", nats.url], 2);
    } finally {
      for (const node of nodes) await node.stop();
    }
    const one = await timeOn(["--workers", "1"], 0);
    const efficiency = one / (2 * fleet);
    report({
      name: "NATS parallel efficiency (2 nodes × 1 Worker vs 1 local)",
      ours: one / fleet,
      floor: 2,
      unit: "x speed-up",
      ratio: efficiency,
      target: ">= 0.85 of 2x",
      met: efficiency >= 0.85,
      note: `${increments} increments: ${one.toFixed(2)} s on 1 local Worker, ` +
        `${fleet.toFixed(2)} s on 2 nodes`,
    });
  } finally {
    await nats.stop();
  }
}

const started = performance.now();
const suite = [
  dispatch,
  parallel,
  keepAlive,
  oneShot,
  manyConnections,
  original,
  serial,
  fleetDispatch,
  fleetParallel,
  pipelined,
];
const chosen = flags.only?.split(",").map(Number) ?? suite.map((_, i) => i + 1);
for (const [i, bench] of suite.entries()) {
  if (chosen.includes(i + 1)) await bench();
}
const meta = {
  date: new Date().toISOString(),
  deno: Deno.version.deno,
  cpus: navigator.hardwareConcurrency,
  os: `${Deno.build.os} ${Deno.build.arch}`,
  seconds: Math.round((performance.now() - started) / 100) / 10,
  quick: flags.quick,
};
if (flags.json) {
  console.log(JSON.stringify({ ...meta, rows }, null, 2));
} else {
  console.log(`\nthreadcount benchmarks, ${meta.date}, Deno ${meta.deno}, ${meta.cpus} CPUs\n`);
  console.log("| benchmark | ours | floor | ratio | target | met | notes |");
  console.log("| --- | ---: | ---: | ---: | --- | --- | --- |");
  for (const row of rows) {
    console.log(
      `| ${row.name} | ${fmt(row.ours)} ${row.unit} | ${
        row.floor === null ? "" : fmt(row.floor)
      } | ` +
        `${row.ratio === null ? "" : row.ratio.toFixed(2)} | ${row.target} | ${
          row.met ? "yes" : "no"
        } | ` +
        `${row.note ?? ""} |`,
    );
  }
}
