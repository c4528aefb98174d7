/**
 * The demo: a server and three clients at once in one terminal, as the
 * original project's screen recording showed them in four.
 *
 * @module
 */
import { type DashboardOptions, serveDashboard } from "../observe/dashboard_server.ts";
import { EventLog } from "../observe/event_log.ts";
import { LineClient } from "../client/line_client.ts";
import { ServerEvents } from "../server/server_events.ts";
import { type ServerOptions, ThreadcountServer } from "../server/threadcount_server.ts";

/** The requests each demo client sends, in order. */
export const DEMO_SCRIPT: readonly (readonly string[])[] = [
  ["2 10", "40 5"],
  ["100 6", "2 x"],
  ["-7 8", "123456789012345678901234567890 3"],
];

/** Options of {@linkcode runDemo}. */
export interface DemoOptions {
  /** Server options (the demo listens on a free port unless told otherwise). */
  server?: Partial<ServerOptions>;
  /** Prints one line. Defaults to `console.log`. */
  write?: (line: string) => void;
  /** The requests of each client. Defaults to {@linkcode DEMO_SCRIPT}. */
  script?: readonly (readonly string[])[];
  /** Serve the live dashboard too (a taken port falls back to a free one). */
  dashboard?: DashboardOptions;
  /** After the clients are done, keep serving until this signal aborts. */
  holdUntil?: AbortSignal;
}

/** What each demo client got back, in order. */
export type DemoTranscript = string[][];

/**
 * Runs the demo: starts a server, runs the clients at once, prints the
 * server's log and every client's requests and replies as they happen,
 * then shuts the server down.
 *
 * @param options What to run and where to print.
 * @returns Each client's replies, in order.
 */
export async function runDemo(options: DemoOptions = {}): Promise<DemoTranscript> {
  const { write = (line: string) => console.log(line), script = DEMO_SCRIPT } = options;
  const events = new ServerEvents();
  const log = new EventLog({ write: (line) => write(`[server]   ${line}`) });
  using _log = events.subscribe((event) => log.print(event), {
    tasks: () => log.wantsTaskEvents(),
  });
  await using server = new ThreadcountServer({ port: 0, ...options.server }, events);
  const { hostname, port } = server.addr;
  write(`[demo]     server at ${server.address}; ${script.length} clients start at once`);
  if (options.dashboard) {
    let dashboard;
    try {
      dashboard = serveDashboard(server, options.dashboard);
    } catch (error) {
      if (!(error instanceof Deno.errors.AddrInUse)) throw error;
      dashboard = serveDashboard(server, { ...options.dashboard, port: 0 });
    }
    write(`[demo]     live dashboard at ${dashboard.url}`);
  }
  const transcript = await Promise.all(script.map(async (requests, i) => {
    const name = `[client ${i + 1}]`;
    await using client = await LineClient.connect({ hostname, port });
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
  if (options.holdUntil && !options.holdUntil.aborted) {
    write(`[demo]     still serving at ${server.address}; press Ctrl-C to stop`);
    await new Promise((resolve) =>
      options.holdUntil!.addEventListener("abort", resolve, { once: true })
    );
  }
  log.flush();
  return transcript;
}
