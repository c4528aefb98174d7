/**
 * Serves the live dashboard over HTTP: the page at `/`, and its updates as
 * Server-Sent Events at `/events`, a batch every `intervalMs`.
 *
 * @module
 */
import { DASHBOARD_PORT, HOST } from "../../constCS.ts";
import { DashboardFeed } from "./dashboard_feed.ts";
import { DASHBOARD_HTML } from "./dashboard_page.ts";
import type { ThreadcountServer } from "../server/threadcount_server.ts";

/** Options of {@linkcode serveDashboard}. */
export interface DashboardOptions {
  /** Address to listen on. Defaults to `HOST` (127.0.0.1). */
  hostname?: string;
  /** Port; 0 picks a free one. Defaults to `DASHBOARD_PORT` (8080). */
  port?: number;
  /** Time between two updates, in ms. Defaults to 250. */
  intervalMs?: number;
}

/** A running dashboard. */
export interface Dashboard extends AsyncDisposable {
  /** Where it listens. */
  addr: Deno.NetAddr;
  /** Its address, `http://host:port/`. */
  url: string;
  /** Closes the event streams and stops serving. */
  close(): Promise<void>;
}

const encoder = new TextEncoder();

/**
 * Starts the dashboard of a server. It closes when the server stops.
 *
 * @param server The server to show.
 * @param options Where to listen and how often to update.
 * @returns The running dashboard.
 *
 * @example
 * ```ts ignore
 * import { serveDashboard } from "./dashboard_server.ts";
 * import { ThreadcountServer } from "../server/threadcount_server.ts";
 *
 * await using server = new ThreadcountServer({ port: 0 });
 * await using dashboard = serveDashboard(server, { port: 0 });
 * console.log(`dashboard at ${dashboard.url}`);
 * ```
 */
export function serveDashboard(
  server: ThreadcountServer,
  options: DashboardOptions = {},
): Dashboard {
  const { hostname = HOST, port = DASHBOARD_PORT, intervalMs = 250 } = options;
  const feed = new DashboardFeed({
    workers: server.options.workers,
    maxClients: server.options.maxClients,
    address: server.address,
    stats: () => server.stats(),
  });
  const subscription = server.events.subscribe((event) => feed.hear(event));
  const streams = new Set<ReadableStreamDefaultController<Uint8Array>>();

  const send = (
    controller: ReadableStreamDefaultController<Uint8Array>,
    event: string,
    data: unknown,
  ) => controller.enqueue(encoder.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`));

  const timer = setInterval(() => {
    const update = feed.takeUpdate();
    if (streams.size === 0) return;
    const chunk = encoder.encode(`event: update\ndata: ${JSON.stringify(update)}\n\n`);
    for (const controller of streams) {
      // A page that does not keep up is dropped rather than buffered without end.
      if ((controller.desiredSize ?? 0) < -64) {
        streams.delete(controller);
        controller.close();
      } else {
        controller.enqueue(chunk);
      }
    }
  }, intervalMs);

  const http = Deno.serve({
    hostname,
    port,
    onListen: () => {},
  }, (request) => {
    const { pathname } = new URL(request.url);
    if (pathname === "/") {
      return new Response(DASHBOARD_HTML, {
        headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" },
      });
    }
    if (pathname === "/events") {
      let self: ReadableStreamDefaultController<Uint8Array>;
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          self = controller;
          streams.add(controller);
          send(controller, "snapshot", feed.snapshot());
        },
        cancel() {
          streams.delete(self);
        },
      }, { highWaterMark: 64 });
      return new Response(body, {
        headers: {
          "content-type": "text/event-stream",
          "cache-control": "no-store",
          "x-accel-buffering": "no",
        },
      });
    }
    return new Response("not found: the dashboard is at /\n", { status: 404 });
  });

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      clearInterval(timer);
      subscription[Symbol.dispose]();
      for (const controller of streams) {
        try {
          controller.close();
        } catch { /* the page already went */ }
      }
      streams.clear();
      await http.shutdown();
    })();
    return closing;
  };
  server.finished.then(close);
  const addr = http.addr as Deno.NetAddr;
  return {
    addr,
    url: `http://${addr.hostname}:${addr.port}/`,
    close,
    [Symbol.asyncDispose]: close,
  };
}
