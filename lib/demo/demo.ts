/**
 * The demo: a server and three clients at once in one terminal, as the
 * original project's screen recording showed them in four.
 *
 * @module
 */
import {
  type Dashboard,
  type DashboardOptions,
  serveDashboard,
} from "../observe/dashboard/dashboard_server.ts";
import { EventLog } from "../observe/event_log.ts";
import { LineClient } from "../client/line_client.ts";
import { ServerEvents } from "../server/server_events.ts";
import { ThreadcountServer } from "../server/threadcount_server.ts";
import type { ServerOptions } from "../server/server_options.ts";
import { DASHBOARD_PORT, HOST, PORT } from "../defaults/defaults.ts";

/** The requests each demo client sends, in order. */
export const DEMO_SCRIPT: readonly (readonly string[])[] = [
  ["2 10", "40 5"],
  ["100 6", "2 x"],
  ["-7 8", "123456789012345678901234567890 3"],
];

/** Options of {@linkcode runDemo}. */
export interface DemoOptions {
  /**
   * Server options. Its port (default `PORT`, 50073) is a preference: when it
   * is taken, the server listens on a free one, and the demo says so.
   */
  server?: Partial<ServerOptions>;
  /** Prints one line. Defaults to `console.log`. */
  write?: (line: string) => void;
  /** The requests of each client. Defaults to {@linkcode DEMO_SCRIPT}. */
  script?: readonly (readonly string[])[];
  /**
   * Serve the live dashboard too. Its port (default `DASHBOARD_PORT`, 8080) is
   * a preference, as the server's is.
   */
  dashboard?: DashboardOptions;
  /**
   * After the clients are done, keep serving until this signal aborts, and
   * print the commands that join the server from other terminals.
   */
  holdUntil?: AbortSignal;
}

/** What each demo client got back, in order. */
export type DemoTranscript = string[][];

/**
 * Runs the demo: starts a server, runs the clients at once, prints the
 * server's log and every client's requests and replies as they happen,
 * then shuts the server down (at once, or when `holdUntil` aborts).
 *
 * @param options What to run and where to print.
 * @returns Each client's replies, in order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { runDemo } from "./demo.ts";
 *
 * const lines: string[] = [];
 * const transcript = await runDemo({
 *   server: { port: 0, workers: 2, iterationsPerUnit: 1000 },
 *   write: (line) => lines.push(line),
 * });
 * assert.deepEqual(transcript[0], ["12", "45"]);
 * assert.equal(lines.at(-1), "[demo]     stopped");
 * ```
 */
export async function runDemo(options: DemoOptions = {}): Promise<DemoTranscript> {
  const { write = (line: string) => console.log(line), script = DEMO_SCRIPT } = options;
  const say = (text: string) => write(`[demo]     ${text}`);
  const holding = options.holdUntil !== undefined;
  const events = new ServerEvents();
  const log = new EventLog({ write: (line) => write(`[server]   ${line}`) });
  using _log = events.subscribe((event) => log.print(event), {
    tasks: () => log.wantsTaskEvents(),
  });
  const preferred = options.server?.port ?? PORT;
  const server = preferringPort(
    preferred,
    (port) => new ThreadcountServer({ ...options.server, port }, events),
  );
  let dashboard: Dashboard | undefined;
  try {
    if (server.addr.port !== preferred && preferred !== 0) {
      say(`port ${preferred} is taken (is another server running?), so the server took a free one`);
    }
    say(`server at ${server.address}; ${script.length} clients start at once`);
    if (options.dashboard) {
      const wanted = options.dashboard.port ?? DASHBOARD_PORT;
      // Asked first, not tried: a dashboard that fails to listen leaves its timer running.
      const free = portIsFree(options.dashboard.hostname ?? HOST, wanted);
      dashboard = preferringPort(
        free ? wanted : 0,
        (port) => serveDashboard(server, { ...options.dashboard, port }),
      );
      const taken = dashboard.addr.port !== wanted && wanted !== 0
        ? ` (port ${wanted} is taken, so a free one)`
        : "";
      say(
        `live dashboard at ${dashboard.url}${taken}: ` +
          (holding ? "open until you press Ctrl-C" : "it closes when the clients are done"),
      );
    }
    const transcript = await runClients(server.addr, script, write);
    if (holding && !options.holdUntil!.aborted) {
      say(
        `the ${script.length} clients are done; the server` +
          (dashboard ? " and the dashboard stay" : " stays") +
          " up until you press Ctrl-C. Join from another terminal:",
      );
      for (const [what, how] of joinCommands(server.addr, dashboard)) {
        say(`  ${how.padEnd(38)} ${what}`);
      }
      await aborted(options.holdUntil!);
      say(`stopping the server${dashboard ? " and the dashboard" : ""}`);
    } else {
      say(`the ${script.length} clients are done; stopping the server`);
    }
    return transcript;
  } finally {
    await server.shutdown(
      options.holdUntil?.aborted ? "the demo was asked to stop" : "the demo is over",
    );
    await dashboard?.close();
    log.flush();
    say("stopped");
  }
}

/** The clients, at once, each printing what it sends and gets. */
function runClients(
  address: Deno.NetAddr,
  script: readonly (readonly string[])[],
  write: (line: string) => void,
): Promise<DemoTranscript> {
  return Promise.all(script.map(async (requests, i) => {
    const name = `[client ${i + 1}]`;
    await using client = await LineClient.connect(address);
    const replies: string[] = [];
    for (const request of requests) {
      write(`${name} > ${request}`);
      const reply = await client.request(request);
      const text = reply.kind === "value" ? reply.text : reply.line;
      replies.push(text);
      write(`${name} < ${text}`);
    }
    write(`${name} > STOP`);
    return replies;
  }));
}

/**
 * The commands that join a running demo from another terminal, each with
 * what it does.
 *
 * @param server Where the server listens.
 * @param dashboard The dashboard, if one is served.
 * @returns `[what, command]` pairs, e.g. `["one request", "deno task client --port 50073 2 10"]`.
 *
 * @example
 * ```ts
 * import { joinCommands } from "./demo.ts";
 * import assert from "node:assert/strict";
 *
 * const commands = joinCommands({ transport: "tcp", hostname: "127.0.0.1", port: 50073 });
 * assert.deepEqual(commands[0], ["the prompt", "deno task client --port 50073"]);
 * ```
 */
export function joinCommands(
  server: Deno.NetAddr,
  dashboard?: { url: string },
): [what: string, command: string][] {
  // A server on every interface is reached on this machine's loopback, the client's default.
  const host = server.hostname === HOST || server.hostname === "0.0.0.0"
    ? ""
    : ` --host ${server.hostname}`;
  const client = `deno task client${host} --port ${server.port}`;
  const commands: [string, string][] = [
    ["the prompt", client],
    ["one request", `${client} 2 10`],
  ];
  if (dashboard) commands.push(["the live dashboard, in a browser", dashboard.url]);
  return commands;
}

/** Listens on `port`, or on a free port when that one is taken. */
function preferringPort<T>(port: number, listen: (port: number) => T): T {
  try {
    return listen(port);
  } catch (error) {
    if (!(error instanceof Deno.errors.AddrInUse) || port === 0) throw error;
    return listen(0);
  }
}

/** Whether a port can be listened on now. */
function portIsFree(hostname: string, port: number): boolean {
  try {
    Deno.listen({ hostname, port }).close();
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse) return false;
    throw error;
  }
}

function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) =>
    signal.addEventListener("abort", () => resolve(), { once: true })
  );
}
