/**
 * Test fixtures for the fleet: a real nats-server on a free port, worker nodes
 * as child `deno` processes, HAProxy in front of servers. Each is a real process,
 * started and killed by the test (`await using`), its output captured.
 */
import { connectNats } from "../lib/fleet/nats_connection.ts";
import type { NatsConnection } from "@nats-io/transport-node";
import { LineClient } from "../lib/client/line_client.ts";
import { FleetNode, type FleetNodeOptions } from "../lib/fleet/fleet_node.ts";
import { encodeHello, helloSubject } from "../lib/fleet/fleet_wire.ts";
import { Child, denoTaskFlags, runChild } from "./_child.ts";
export { bounded } from "./_helpers.ts";

const root = new URL("..", import.meta.url);

/** Finds a program by trying to run it: the path that answers, or undefined. */
async function findProgram(names: string[], args: string[]): Promise<string | undefined> {
  for (const name of names) {
    try {
      const { code } = await runChild(name, { args, limitMs: 10_000 });
      if (code === 0) return name;
    } catch { /* not there */ }
  }
  return undefined;
}

/** Debian's nats-server, or undefined where it is not installed. */
export const NATS_SERVER = await findProgram(
  ["nats-server", "/usr/sbin/nats-server", "/usr/bin/nats-server"],
  ["--version"],
);
/** Debian's haproxy, or undefined where it is not installed. */
export const HAPROXY = await findProgram(
  ["haproxy", "/usr/sbin/haproxy", "/usr/bin/haproxy"],
  ["-v"],
);

if (!NATS_SERVER) {
  console.log(
    "fleet tests: nats-server not found (apt-get install nats-server): skipping them",
  );
}
if (!HAPROXY) {
  console.log("fleet tests: haproxy not found (apt-get install haproxy): skipping its test");
}

/** Reads a child's stream line by line into `lines`, calling `onLine` for each. */
async function collect(
  stream: ReadableStream<Uint8Array>,
  lines: string[],
  onLine: (line: string) => void,
): Promise<void> {
  let rest = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    const parts = (rest + text).split("\n");
    rest = parts.pop()!;
    for (const line of parts) {
      lines.push(line);
      onLine(line);
    }
  }
  if (rest !== "") {
    lines.push(rest);
    onLine(rest);
  }
}

/** A child process whose stderr is kept, with a way to wait for a line. */
class LoggedChild implements AsyncDisposable {
  readonly child: Child;
  readonly stderr: string[] = [];
  #waiters: { test: RegExp; resolve: (line: string) => void }[] = [];
  #reading: Promise<void>;
  #stdout: Promise<unknown>;

  constructor(command: string, args: string[], options: { name?: string } = {}) {
    this.child = new Child(command, { args, name: options.name });
    this.#stdout = this.process.stdout.pipeTo(new WritableStream());
    this.#reading = collect(this.process.stderr, this.stderr, (line) => {
      for (const waiter of [...this.#waiters]) {
        if (waiter.test.test(line)) {
          this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      }
    });
  }

  /** The process: its pipes and status. */
  get process(): Deno.ChildProcess {
    return this.child.process;
  }

  /** Resolves with the first stderr line (seen already or to come) that matches. */
  waitForLine(test: RegExp): Promise<string> {
    const seen = this.stderr.find((line) => test.test(line));
    if (seen !== undefined) return Promise.resolve(seen);
    const { promise, resolve } = Promise.withResolvers<string>();
    this.#waiters.push({ test, resolve });
    return Promise.race([
      promise,
      this.child.status.then(async (status) => {
        // Its last lines may still be on their way through the pipe.
        await this.#reading;
        const late = this.stderr.find((line) => test.test(line));
        if (late !== undefined) return late;
        throw new Error(
          `the process ended (${status.code}) before printing ${test}:\n${this.stderr.join("\n")}`,
        );
      }),
    ]);
  }

  /** Kills the process with `signal` and waits for it to end. */
  async kill(signal: Deno.Signal = "SIGKILL"): Promise<Deno.CommandStatus> {
    this.child.kill(signal);
    const status = await this.child.status;
    await this.#reading;
    await this.#stdout;
    return status;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.kill("SIGKILL").catch(() => {});
    await this.child[Symbol.asyncDispose]();
  }
}

/** A nats-server child process on a free port of 127.0.0.1. */
export class NatsServer implements AsyncDisposable {
  #child: LoggedChild;
  /** Its port. */
  readonly port: number;

  private constructor(child: LoggedChild, port: number) {
    this.#child = child;
    this.port = port;
  }

  /** `nats://127.0.0.1:<port>`. */
  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /**
   * Starts nats-server and waits until it is ready.
   *
   * @param port A port; by default a free one, chosen by nats-server itself (`-p -1`).
   * @param extra More nats-server arguments (e.g. `--auth TOKEN`).
   */
  static async start(port = -1, extra: string[] = []): Promise<NatsServer> {
    if (!NATS_SERVER) throw new Error("nats-server is not installed");
    const child = new LoggedChild(NATS_SERVER, ["-a", "127.0.0.1", "-p", String(port), ...extra]);
    try {
      const line = await child.waitForLine(/Listening for client connections on [\d.]+:\d+/);
      await child.waitForLine(/Server is ready/);
      return new NatsServer(child, Number(/:(\d+)\s*$/.exec(line)![1]));
    } catch (error) {
      await child.kill();
      throw error;
    }
  }

  /** Kills it (SIGKILL: the broker vanishes without a word). */
  async kill(): Promise<void> {
    await this.#child.kill("SIGKILL");
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.kill();
  }
}

/** Options of {@linkcode startNode}. */
export interface NodeProcessOptions {
  name: string;
  workers?: number;
}

/** The node task's permissions but the network, which the test narrows to this machine. */
const NODE_FLAGS = denoTaskFlags("node", "node.ts").filter((flag) => flag !== "--allow-net");

/** A worker node (`node.ts`) as a child process. */
export class NodeProcess extends LoggedChild {
  /** The node's name. */
  readonly name: string;

  constructor(natsUrl: string, options: NodeProcessOptions) {
    super(Deno.execPath(), [
      "run",
      "--allow-net=127.0.0.1",
      ...NODE_FLAGS,
      "node.ts",
      "--nats",
      natsUrl,
      "--workers",
      String(options.workers ?? 1),
      "--name",
      options.name,
    ], { name: `node.ts --name ${options.name}` });
    this.name = options.name;
  }

  /** Resolves once the node is connected and has announced itself. */
  ready(): Promise<string> {
    return this.waitForLine(/ready with \d+ Workers?/);
  }
}

/**
 * Starts a worker node and waits until it is ready.
 *
 * @param natsUrl The broker.
 * @param options Name and Workers.
 */
export async function startNode(
  natsUrl: string,
  options: NodeProcessOptions,
): Promise<NodeProcess> {
  const node = new NodeProcess(natsUrl, options);
  try {
    await node.ready();
    return node;
  } catch (error) {
    await node.kill();
    throw error;
  }
}

/** HAProxy in TCP mode in front of some servers, as a child process. */
export class HaproxyProcess extends LoggedChild {
  /** The port it listens on. */
  readonly port: number;
  readonly configPath: string;

  private constructor(configPath: string, port: number) {
    super(HAPROXY!, ["-db", "-f", configPath]);
    this.configPath = configPath;
    this.port = port;
  }

  /**
   * Starts HAProxy on a free port, balancing over `backends`, and waits until it accepts.
   *
   * @param backends The servers' addresses (`host:port`).
   */
  static async start(backends: string[]): Promise<HaproxyProcess> {
    if (!HAPROXY) throw new Error("haproxy is not installed");
    const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = probe.addr.port;
    probe.close();
    // The shipped config, with this test's ports in place of the demo's addresses.
    const shipped = await Deno.readTextFile(new URL("deploy/haproxy.cfg", root));
    const config = shipped
      .replace(/^\s*bind .*$/m, `    bind 127.0.0.1:${port}`)
      .replace(/^\s*server .*\n/gm, "")
      .replace(
        /^(backend threadcount_servers\n(?:[ \t]+.*\n)*)/m,
        (block) =>
          block + backends.map((b, i) => `    server s${i} ${b} check inter 500ms\n`).join(""),
      );
    const configPath = await Deno.makeTempFile({ prefix: "threadcount-haproxy-", suffix: ".cfg" });
    await Deno.writeTextFile(configPath, config);
    const proxy = new HaproxyProcess(configPath, port);
    try {
      await proxy.#accepting();
      return proxy;
    } catch (error) {
      await proxy[Symbol.asyncDispose]();
      throw error;
    }
  }

  async #accepting(): Promise<void> {
    // HAProxy prints nothing when it is ready: its port answering is the sign.
    for (let attempt = 0; attempt < 200; attempt++) {
      try {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port: this.port });
        conn.close();
        return;
      } catch {
        const status = await Promise.race([
          this.child.status,
          new Promise((resolve) => setTimeout(resolve, 25)),
        ]);
        if (status) throw new Error(`haproxy ended:\n${this.stderr.join("\n")}`);
      }
    }
    throw new Error(`haproxy did not listen on ${this.port}:\n${this.stderr.join("\n")}`);
  }

  override async [Symbol.asyncDispose](): Promise<void> {
    await super[Symbol.asyncDispose]();
    await Deno.remove(this.configPath).catch(() => {});
  }
}

/** A connection to the broker for a server in this process; close it after the server. */
export function natsConnection(url: string): Promise<NatsConnection> {
  return connectNats(url, { name: "test", reconnectWaitMs: 100 });
}

/**
 * A client whose disposal closes at once (no STOP and wait): when the fleet is broken and a
 * request never ends, the test fails at its bound instead of hanging in its clean-up.
 */
export async function quickClient(
  address: { hostname: string; port: number },
): Promise<LineClient> {
  const client = await LineClient.connect(address);
  return Object.assign(client, {
    [Symbol.asyncDispose]: () => Promise.resolve(client.close()),
  });
}

/** A worker node in this process (for tests that read its counters), closed with `await using`. */
export async function inProcessNode(
  url: string,
  options: Omit<FleetNodeOptions, "log">,
): Promise<{ node: FleetNode; log: string[]; conn: NatsConnection } & AsyncDisposable> {
  const conn = await natsConnection(url);
  const log: string[] = [];
  const node = new FleetNode(conn, { ...options, log: (line) => log.push(line) });
  return {
    node,
    log,
    conn,
    async [Symbol.asyncDispose]() {
      await node.close();
      await conn.close();
    },
  };
}

/**
 * Publishes a well-formed hello as a stranger would: any name, any Worker count, a session of
 * its choosing and a key to which it knows no secret.
 */
export function strangerHello(
  nc: NatsConnection,
  node: string,
  workers: number,
  session = `stranger-session-${node}`.padEnd(16, "x").slice(0, 64),
): void {
  nc.publish(
    helloSubject(node),
    encodeHello({ node, workers, busy: 0, session, byeKey: "0".repeat(64) }),
  );
}
