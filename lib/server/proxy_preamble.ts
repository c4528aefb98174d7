/**
 * Who a new connection's client is: the socket's peer, or, for a connection
 * from a trusted load balancer, the client its PROXY protocol header names.
 *
 * @module
 */
import { PROXY_HEADER_TIMEOUT_MS } from "../defaults/defaults.ts";
import { formatError } from "../wire/protocol.ts";
import { ProxyHeaderError, readProxyHeader } from "../wire/proxy_header.ts";
import { closeQuietly, writeAll } from "../wire/write_all.ts";
import type { Arrival } from "./connection.ts";
import type { ServerEvents } from "./server_events.ts";

/** Options of {@linkcode proxiedArrival}. */
export interface ProxiedArrivalOptions {
  /** Where refusals are told. */
  events: ServerEvents;
  /** How long the header may take, in ms ({@linkcode PROXY_HEADER_TIMEOUT_MS} by default). */
  timeoutMs?: number;
}

/**
 * Reads the PROXY header of a connection from a trusted balancer. A malformed, hostile, late
 * or overlong header is answered `ERR bad-proxy-header` and the connection closed; the
 * balancer's health checks (a v2 `LOCAL` header, or nothing at all) are closed quietly.
 *
 * @param conn The balancer's connection.
 * @param options Where refusals are told, and the time limit.
 * @returns The client's address and bytes, or undefined when the connection was closed.
 *
 * @example
 * ```ts
 * import { proxiedArrival } from "./proxy_preamble.ts";
 * import { ServerEvents } from "./server_events.ts";
 * import assert from "node:assert/strict";
 *
 * using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * using client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * await client.write(new TextEncoder().encode("PROXY TCP4 192.0.2.7 192.0.2.1 40000 50073\r\n"));
 * using conn = await listener.accept();
 * const arrival = await proxiedArrival(conn, { events: new ServerEvents() });
 * assert.deepEqual([arrival?.hostname, arrival?.port], ["192.0.2.7", 40000]);
 * ```
 */
export async function proxiedArrival(
  conn: Deno.TcpConn,
  options: ProxiedArrivalOptions,
): Promise<Arrival | undefined> {
  const { events, timeoutMs = PROXY_HEADER_TIMEOUT_MS } = options;
  const { hostname, port } = conn.remoteAddr;
  const late = new AbortController();
  const timer = setTimeout(
    () => late.abort(new ProxyHeaderError(`no PROXY header within ${timeoutMs / 1000} s`)),
    timeoutMs,
  );
  try {
    const { source, local, rest } = await readProxyHeader(conn, late.signal);
    if (local) {
      // The balancer's health check: it asks only whether the server accepts. Nothing to log.
      closeQuietly(conn);
      return undefined;
    }
    // No source (UNKNOWN): the balancer could not name the client; its own address stands in.
    return { hostname: source?.hostname ?? hostname, port: source?.port ?? port, source: rest };
  } catch (error) {
    if (error instanceof ProxyHeaderError && !error.empty) {
      const peer = `${hostname}:${port}`;
      const code = "bad-proxy-header";
      const message = `${error.message}; a balancer named in --proxy-protocol-from must send ` +
        "one (HAProxy: send-proxy or send-proxy-v2 on its server lines)";
      events.emit({ type: "turned-away", at: Date.now(), conn: peer, code, message });
      await writeAll(conn, formatError(code, message)).catch(() => {});
      events.emit({ type: "closed", at: Date.now(), conn: peer, reason: `turned away: ${code}` });
    }
    closeQuietly(conn);
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}
