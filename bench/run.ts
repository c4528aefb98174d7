/**
 * `deno task bench`: the benchmark suite. Each figure is measured in the same
 * run as its floor (what the runtime itself does with no threadcount in the
 * way) and reported as a ratio. Servers run as their own processes, started
 * with their default flags but for what a benchmark says.
 *
 * `deno task bench --help` lists its flags.
 *
 * @module
 */
import { readCommandLine } from "../lib/cli/flags.ts";
import { BENCH_COMMAND, BENCH_NAMES, type BenchName } from "./bench_cli.ts";
import { LineClient } from "../lib/client/line_client.ts";
import { LineReader, streamSource } from "../lib/wire/line_reader.ts";
import { unitDrawer } from "../lib/server/work_units.ts";
import { closeQuietly, writeAll } from "../lib/wire/write_all.ts";
import { Child, denoTaskFlags, runChild } from "../tests/_child.ts";

/** Each benchmark by its name; `BENCH_NAMES` gives their order and numbers. */
const SUITE: Record<BenchName, () => Promise<void>> = {
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
};

const { flags } = readCommandLine(BENCH_COMMAND, Deno.args);
const scale = flags.quick ? 0.25 : 1;
const log = (text: string) => {
  if (!flags.json) console.error(text);
};

/** The flags of `deno task server`, read from deno.json, so the benchmark runs what users run. */
const SERVER_TASK_FLAGS = denoTaskFlags("server", "server.ts");

/** How long any process of the benchmarks may run: a bound on a hang, not a measurement. */
const BENCH_CHILD_LIMIT_MS = 30 * 60_000;

/** A server under test, in its own process. */
class ServerProcess implements AsyncDisposable {
  readonly child: Child;
  port = 0;
  #drained?: Promise<void>;

  private constructor(child: Child) {
    this.child = child;
  }

  static async start(script: string, args: string[], perms: string[]): Promise<ServerProcess> {
    const child = new Child(Deno.execPath(), {
      args: ["run", ...perms, script, ...args],
      name: script,
      stderr: "null",
      limitMs: BENCH_CHILD_LIMIT_MS,
    });
    const server = new ServerProcess(child);
    const lines = new LineReader(streamSource(child.process.stdout), { maxLineBytes: 1 << 20 });
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

  /** The bare floor: a line server that answers at once, with no Worker. */
  static bare(): Promise<ServerProcess> {
    return ServerProcess.start("bench/bare_line_server.ts", ["0"], ["--allow-net=127.0.0.1"]);
  }

  /** The hop floor: the bare server plus one Worker round trip a request, over shared memory. */
  static hop(): Promise<ServerProcess> {
    return ServerProcess.start("bench/hop_line_server.ts", ["0"], [
      "--allow-net=127.0.0.1",
      "--allow-read=bench",
    ]);
  }

  /** Peak resident memory of the process so far, in MB (Linux's VmHWM). */
  async peakMemoryMb(): Promise<number> {
    // Deno reads /proc only with --allow-all; grep reads it for us.
    const { stdout } = await runChild("grep", {
      args: ["VmHWM", `/proc/${this.child.pid}/status`],
    });
    return Number(/VmHWM:\s+(\d+) kB/.exec(stdout)![1]) / 1024;
  }

  connect(): Promise<LineClient> {
    return LineClient.connect({ hostname: "127.0.0.1", port: this.port });
  }

  /** A lean connection for the load generators: raw reads and writes. */
  connectRaw(): Promise<RawConnection> {
    return RawConnection.open(this.port);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.child.kill("SIGTERM");
    await this.child.status;
    await this.#drained;
    await this.child[Symbol.asyncDispose]();
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
  /** The hop floor (one Worker round trip a request over shared memory), where measured. */
  hopFloor?: number;
  /** ours / hopFloor. */
  hopRatio?: number;
  target: string;
  met: boolean;
  note?: string;
}

const rows: Row[] = [];
function report(row: Row): void {
  rows.push(row);
  const ratio = row.ratio === null ? "" : ` ratio ${row.ratio.toFixed(2)}`;
  const hop = row.hopFloor === undefined
    ? ""
    : `, hop floor ${fmt(row.hopFloor)} ratio ${row.hopRatio!.toFixed(2)}`;
  log(
    `  ${row.name}: ${fmt(row.ours)} ${row.unit}${
      row.floor === null ? "" : ` vs floor ${fmt(row.floor)}`
    }${ratio}${hop} (target ${row.target}: ${row.met ? "met" : "NOT met"})`,
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
 * Measures ours and both floors in alternating rounds on warmed-up servers, and takes each
 * side's median of 5: this machine's figures drift by tens of percent from one second to the
 * next, and alternating keeps the drift out of the ratios.
 */
async function alternate(
  ourArgs: string[],
  measure: (server: ServerProcess) => Promise<number>,
): Promise<{ ours: number; floor: number; hop: number }> {
  await using server = await ServerProcess.threadcount(ourArgs);
  await using bare = await ServerProcess.bare();
  await using hop = await ServerProcess.hop();
  const sides = [server, bare, hop];
  for (const side of sides) await measure(side); // warm-up: the JIT compiles the hot paths
  const figures: number[][] = [[], [], []];
  for (let round = 0; round < 5; round++) {
    for (const [i, side] of sides.entries()) figures[i].push(await measure(side));
  }
  const [ours, floor, hopFloor] = figures.map(median);
  return { ours, floor, hop: hopFloor };
}

/** The fields of a row measured against both floors, judged against the hop floor. */
function againstFloors(
  { ours, floor, hop }: { ours: number; floor: number; hop: number },
  hopTarget: number,
) {
  return {
    ours,
    floor,
    ratio: ours / floor,
    hopFloor: hop,
    hopRatio: ours / hop,
    target: `>= ${hopTarget.toFixed(2)}x hop`,
    met: ours / hop >= hopTarget,
  };
}

// 3. Requests per second over 50 kept-alive connections.
async function keepAlive(): Promise<void> {
  log("3. requests/s of `1 1` over 50 kept-alive connections");
  const seconds = 2 * scale + 0.5;
  const figures = await alternate(
    ZERO_WORK.concat("--max-clients", "50"),
    (server) => keepAliveRate(server, 50, seconds),
  );
  report({
    name: "kept-alive requests/s (50 connections)",
    unit: "requests/s",
    ...againstFloors(figures, 0.8),
    note: "floors: a bare Deno line server answering the sum at once; the same plus one " +
      "Worker round trip a request over a shared-memory ring (hop)",
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
  const figures = await alternate(
    ZERO_WORK.concat("--max-clients", "32"),
    (server) => oneShotRate(server, 32, seconds),
  );
  report({
    name: "one-shot connections/s",
    unit: "connections/s",
    ...againstFloors(figures, 0.9),
    note: "same floors",
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
  await using hop = await ServerProcess.hop();
  const sides = [server, bare, hop];
  for (const side of sides) await serialLatencies(side, 500); // warm-up
  const latencies: number[][][] = [[], [], []];
  for (let round = 0; round < 5; round++) {
    for (const [i, side] of sides.entries()) latencies[i].push(await serialLatencies(side, count));
  }
  const [ours, floor, hopFloor] = latencies;
  const p50 = median(ours.map((l) => percentile(l, 0.5)));
  const p99 = median(ours.map((l) => percentile(l, 0.99)));
  const hopP50 = median(hopFloor.map((l) => percentile(l, 0.5)));
  const hopP99 = median(hopFloor.map((l) => percentile(l, 0.99)));
  const rate = (runs: number[][]) =>
    1e6 / median(runs.map((l) => l.reduce((a, b) => a + b, 0) / l.length));
  report({
    name: "one client, serial `0 1` requests/s",
    unit: "requests/s",
    ...againstFloors({ ours: rate(ours), floor: rate(floor), hop: rate(hopFloor) }, 0.9),
    note: `p50 ${p50.toFixed(0)} µs, p99 ${p99.toFixed(0)} µs; hop floor p50 ${
      hopP50.toFixed(0)
    } µs, p99 ${hopP99.toFixed(0)} µs`,
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
  const figures = await alternate(ZERO_WORK, (server) => pipelinedRate(server, 100, seconds));
  report({
    name: "one client, 100 pipelined `1 1` requests/s",
    unit: "requests/s",
    ...againstFloors(figures, 0),
    target: "report",
    met: true,
    note: "floors answer all the lines of a read in one write",
  });
}

/** A child process whose stderr is read until a line matches, then drained. */
async function spawnUntil(
  command: string,
  args: string[],
  ready: RegExp,
  env: Record<string, string> = {},
): Promise<{ child: Child; line: string; stop: () => Promise<void> }> {
  const child = new Child(command, { args, env, stdout: "null", limitMs: BENCH_CHILD_LIMIT_MS });
  const lines = new LineReader(streamSource(child.process.stderr), { maxLineBytes: 1 << 20 });
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
      child.kill("SIGKILL");
      await child.status.catch(() => {});
      await drained;
      await child[Symbol.asyncDispose]();
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

/** The node task's permissions but the network, which the benchmark narrows to this machine. */
const NODE_FLAGS = denoTaskFlags("node", "node.ts").filter((flag) => flag !== "--allow-net");

/** Worker nodes (`node.ts`), one Worker each, as `deno task node` runs them. */
async function startNodes(url: string, names: string[]) {
  return await Promise.all(names.map((name) =>
    spawnUntil(Deno.execPath(), [
      "run",
      "--allow-net=127.0.0.1",
      ...NODE_FLAGS,
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
const chosen = flags.only ?? BENCH_NAMES.map((_, i) => i + 1);
for (const [i, name] of BENCH_NAMES.entries()) {
  if (chosen.includes(i + 1)) await SUITE[name]();
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
  console.log(
    "| benchmark | ours | floor | ratio | hop floor | hop ratio | target | met | notes |",
  );
  console.log("| --- | ---: | ---: | ---: | ---: | ---: | --- | --- | --- |");
  const cell = (n: number | null | undefined, show: (n: number) => string) =>
    n === null || n === undefined ? "" : show(n);
  const ratio = (n: number) => n.toFixed(2);
  for (const row of rows) {
    console.log(
      `| ${row.name} | ${fmt(row.ours)} ${row.unit} | ${cell(row.floor, fmt)} | ` +
        `${cell(row.ratio, ratio)} | ${cell(row.hopFloor, fmt)} | ${cell(row.hopRatio, ratio)} | ` +
        `${row.target} | ${row.met ? "yes" : "no"} | ${row.note ?? ""} |`,
    );
  }
}
