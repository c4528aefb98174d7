/**
 * Serves the live dashboard over HTTP: the page at `/`, and its updates as
 * Server-Sent Events at `/events`, a batch every `intervalMs`.
 *
 * Only GET and HEAD are answered, and only for a Host that names this machine's
 * loopback or the listen address: a page on another site that points a name of
 * its own at 127.0.0.1 (DNS rebinding) cannot read the stream. The stream is
 * refused (403) to a request that a browser marks as coming from another
 * origin (`Origin`, or `Sec-Fetch-Site`); tools that send neither (curl) are served.
 *
 * @module
 */
import {
  DASHBOARD_CONTROL_BODY_BYTES,
  DASHBOARD_INTERVAL_MS,
  DASHBOARD_PORT,
  HOST,
} from "../../defaults/defaults.ts";
import { ControlClients } from "./control_clients.ts";
import { StopControl } from "./control_stop.ts";
import { SteppingControl } from "./control_stepping.ts";
import { RecentTrace } from "./recent_trace.ts";
import type { ServerEvents } from "../../server/server_events.ts";
import type { ServerOptions, ServerStats } from "../../server/server_options.ts";
import { DashboardFeed, type RunningTaskSample } from "./dashboard_feed.ts";
import { DASHBOARD_HTML } from "./page_html.ts";
import { PageStreams, type PageStreamsOptions, SlowPageError } from "./page_streams.ts";
import type { RequestSection } from "./request_board.ts";

/** Options of {@linkcode serveDashboard}; the pages' bounds are those of {@linkcode PageStreams}. */
export interface DashboardOptions extends PageStreamsOptions {
  /** Address to listen on. Defaults to `HOST` (127.0.0.1). */
  hostname?: string;
  /** Port; 0 picks a free one. Defaults to `DASHBOARD_PORT` (8080). */
  port?: number;
  /** Time between two updates, in ms. Defaults to {@linkcode DASHBOARD_INTERVAL_MS}. */
  intervalMs?: number;
}

/** What the dashboard reads of a server: a `ThreadcountServer` is one. */
export interface DashboardSource {
  readonly events: ServerEvents;
  readonly options: Readonly<Pick<ServerOptions, "workers" | "maxClients">>;
  readonly address: string;
  readonly finished: Promise<void>;
  stats(): ServerStats;
  /** The requests in flight, with their critical sections. */
  requestsInFlight?(): readonly RequestSection[];
  /** The pool's lanes, one name per Worker; may grow. */
  laneNames?(): readonly string[];
  /** What each Worker runs now, sampled. */
  runningTasks?(): readonly RunningTaskSample[];
  /** Stops one client by its address (the page's "stop"); false when none is open. */
  stopClient?(peer: string): boolean;
}

/** A running dashboard. */
export interface Dashboard extends AsyncDisposable {
  /** Where it listens. */
  addr: Deno.NetAddr;
  /** Its address with its token, `http://host:port/?token=…`: what the log prints. */
  url: string;
  /**
   * The secret that the classroom controls need (`X-Threadcount-Token`, or `?token=`
   * for `/trace.json`): made anew each run, known only to whoever reads the log.
   */
  token: string;
  /** Closes the event streams and stops serving. */
  close(): Promise<void>;
}

const LOOPBACK_NAMES = ["127.0.0.1", "localhost", "[::1]"];
const HOST_HEADER = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::(\d{1,5}))?$/;

/**
 * Starts the dashboard of a server. It closes when the server stops.
 *
 * @param server The server to show.
 * @param options Where to listen, how often to update, and the pages' bounds.
 * @returns The running dashboard.
 * @throws {Deno.errors.AddrInUse} When the port is taken (nothing is left running).
 * @throws {RangeError} When `intervalMs` is not a positive number, or a page bound
 *   (`maxPages`, `maxQueuedBytes`, `stallMs`) not a positive integer.
 *
 * @example
 * ```ts
 * import { serveDashboard } from "./dashboard_server.ts";
 * import { ThreadcountServer } from "../../server/threadcount_server.ts";
 * import assert from "node:assert/strict";
 *
 * await using server = new ThreadcountServer({ port: 0, workers: 1 });
 * await using dashboard = serveDashboard(server, { port: 0 });
 * const page = await fetch(dashboard.url);
 * assert.match(await page.text(), /threadcount · live/);
 * ```
 */
export function serveDashboard(
  server: DashboardSource,
  options: DashboardOptions = {},
): Dashboard {
  const { hostname = HOST, port = DASHBOARD_PORT, intervalMs = DASHBOARD_INTERVAL_MS } = options;
  if (!(intervalMs > 0 && Number.isFinite(intervalMs))) {
    throw new RangeError(`'intervalMs' must be a positive number: received ${intervalMs}`);
  }
  const pages = new PageStreams(options);
  // Listen first: when the port is taken, nothing else has started and nothing leaks.
  const http = Deno.serve({
    hostname,
    port,
    onListen: () => {},
    onError: (error) => {
      // A page dropped for not reading (page_streams.ts): its connection closes, as it should.
      if (error instanceof SlowPageError) return new Response(null, { status: 500 });
      console.error(`threadcount dashboard: could not answer a request (${error})`);
      return new Response("internal error\n", { status: 500 });
    },
  }, (request) => answer(request));
  const addr = http.addr as Deno.NetAddr;
  const allowedHosts = new Set(
    [...LOOPBACK_NAMES, addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname]
      .map((name) => name.toLowerCase()),
  );

  const defaultLanes = Array.from({ length: server.options.workers }, (_, i) => `worker ${i}`);
  const feedLanes = () => server.laneNames?.() ?? defaultLanes;
  const stepper = new SteppingControl({
    address: tcpAddress(server.address),
    workers: () => server.stats().workers,
  });
  const feed = new DashboardFeed({
    address: server.address,
    maxClients: server.options.maxClients,
    lanes: feedLanes,
    stats: () => server.stats(),
    requestsInFlight: server.requestsInFlight ? () => server.requestsInFlight!() : undefined,
    running: server.runningTasks ? () => server.runningTasks!() : undefined,
    stepping: () => stepper.view(),
  });
  const token = Array.from(
    crypto.getRandomValues(new Uint8Array(16)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
  const recent = new RecentTrace();
  const control = new ControlClients(tcpAddress(server.address));
  const stopper = new StopControl((peer) => server.stopClient?.(peer) ?? false);
  /** The classroom controls, by path: each answers a body it is given within its bound. */
  const controls: Record<string, (text: string) => Response | Promise<Response>> = {
    "/control/clients": (text) => control.answer(text),
    "/control/stop": (text) => stopper.answer(text),
    "/control/step": (text) => stepper.answer(text),
  };
  const subscription = server.events.subscribe((event) => {
    feed.hear(event);
    stopper.hear(event);
    stepper.hear(event);
    if (event.type === "task-done") recent.add(event);
  });
  /** The snapshot of this interval, shared by the pages that open in it. */
  let snapshot: Uint8Array | undefined;
  let failed = false;
  const timer = setInterval(() => {
    snapshot = undefined;
    try {
      const update = feed.takeUpdate();
      if (pages.size > 0) pages.send(update.bytes, Date.now());
    } catch (error) {
      // A bug, not a load: the bounds keep every panel small. Said once; the server serves on.
      if (!failed) console.error(`threadcount dashboard: an update was not sent (${error})`);
      failed = true;
    }
  }, intervalMs);

  function answer(request: Request): Response | Promise<Response> {
    const host = checkHost(request.headers.get("host"), allowedHosts, addr.port);
    if (host !== "ok") {
      return host === "malformed"
        ? plain(400, "bad request: the Host header is missing or malformed\n")
        : plain(421, `misdirected request: open the dashboard as http://127.0.0.1:${addr.port}/\n`);
    }
    const own = `http://${request.headers.get("host")!.toLowerCase()}`;
    const controlPath = pathOf(request.url);
    if (request.method === "POST" && Object.hasOwn(controls, controlPath)) {
      // The token, and the page's own Origin: a page on another site has neither.
      if (
        !sameToken(request.headers.get("x-threadcount-token"), token) ||
        request.headers.get("origin")?.toLowerCase() !== own
      ) {
        return plain(403, "forbidden: controls need the dashboard's token and its own page\n");
      }
      return answerControl(request, controls[controlPath]);
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      return plain(405, "method not allowed: the dashboard only reads (GET, HEAD)\n", {
        allow: "GET, HEAD",
      });
    }
    const pathname = pathOf(request.url);
    const head = request.method === "HEAD";
    if (pathname === "/") {
      return new Response(head ? null : DASHBOARD_HTML, {
        headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" },
      });
    }
    if (pathname === "/favicon.ico") return new Response(null, { status: 204 });
    if (pathname === "/trace.json") {
      if (!sameToken(new URL(request.url).searchParams.get("token"), token)) {
        return plain(
          403,
          "forbidden: the trace needs the dashboard's token (?token=, in the log)\n",
        );
      }
      return new Response(head ? null : recent.trace(feedLanes(), Date.now()), {
        headers: {
          "content-type": "application/json",
          "content-disposition": 'attachment; filename="threadcount-last-minute.json"',
          "cache-control": "no-store",
        },
      });
    }
    if (pathname === "/events") {
      if (!sameOrigin(request.headers, own)) {
        return plain(403, "forbidden: the live stream is for the dashboard's own page\n");
      }
      const headers = {
        "content-type": "text/event-stream",
        "cache-control": "no-store",
        "x-accel-buffering": "no",
      };
      if (head) return new Response(null, { headers });
      if (pages.size >= pages.maxPages) {
        return plain(
          503,
          `too many dashboard pages open (${pages.maxPages}): close one, then reload this one\n`,
          { "retry-after": "10", connection: "close" },
        );
      }
      snapshot ??= feed.snapshot().bytes;
      return new Response(pages.open(snapshot, Date.now()), { headers });
    }
    return plain(404, "not found: the dashboard is at /\n");
  }

  /** A control's answer to a `POST`, its body read within its bound. */
  async function answerControl(
    request: Request,
    control: (text: string) => Response | Promise<Response>,
  ): Promise<Response> {
    const text = await boundedText(request, DASHBOARD_CONTROL_BODY_BYTES);
    if (text === undefined) {
      return plain(413, `too large: a control is at most ${DASHBOARD_CONTROL_BODY_BYTES} bytes\n`);
    }
    return control(text);
  }

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      clearInterval(timer);
      subscription[Symbol.dispose]();
      pages.close();
      await control.close();
      await stepper.close();
      await http.shutdown();
    })();
    return closing;
  };
  server.finished.then(close);
  return {
    addr,
    url: `http://${addr.hostname}:${addr.port}/?token=${token}`,
    token,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * Whether a request may read the live stream: a browser names the page that
 * asks in `Origin` (cross-origin requests) and `Sec-Fetch-Site` (all of them,
 * no-cors ones too); a tool that sends neither is served.
 */
function sameOrigin(headers: Headers, own: string): boolean {
  const origin = headers.get("origin");
  if (origin !== null && origin.toLowerCase() !== own) return false;
  const site = headers.get("sec-fetch-site");
  return site === null || site === "same-origin" || site === "none";
}

/** Whether `given` is the token, compared in constant time. */
function sameToken(given: string | null, token: string): boolean {
  if (given === null || given.length !== token.length) return false;
  let difference = 0;
  for (let i = 0; i < token.length; i++) difference |= given.charCodeAt(i) ^ token.charCodeAt(i);
  return difference === 0;
}

/** A request's body as text, or `undefined` when it is longer than `max` bytes. */
async function boundedText(request: Request, max: number): Promise<string | undefined> {
  if (Number(request.headers.get("content-length") ?? 0) > max) return undefined;
  const chunks: Uint8Array[] = [];
  let length = 0;
  for await (const chunk of request.body ?? []) {
    length += chunk.length;
    if (length > max) return undefined;
    chunks.push(chunk);
  }
  const bytes = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  return new TextDecoder().decode(bytes);
}

/** The server's TCP address from its text, `host:port` or `[v6]:port`. */
function tcpAddress(address: string): { hostname: string; port: number } {
  const at = address.lastIndexOf(":");
  return {
    hostname: address.slice(0, at).replace(/^\[|\]$/g, ""),
    port: Number(address.slice(at + 1)),
  };
}

function plain(status: number, text: string, headers: Record<string, string> = {}): Response {
  return new Response(text, { status, headers: { "content-type": "text/plain", ...headers } });
}

/** Whether a Host header names this dashboard: `ok`, `malformed` or `other`. */
function checkHost(
  header: string | null,
  allowed: ReadonlySet<string>,
  port: number,
): "ok" | "malformed" | "other" {
  if (header === null) return "malformed";
  const match = HOST_HEADER.exec(header.toLowerCase());
  if (!match) return "malformed";
  const [, name, portText] = match;
  // A browser leaves the port out only when it is the scheme's own.
  const portMatches = portText === undefined ? port === 80 : Number(portText) === port;
  return allowed.has(name) && portMatches ? "ok" : "other";
}

/** The path of a request's URL; the Host was checked, so the URL parses. */
function pathOf(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return "";
  }
}
