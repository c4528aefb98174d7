/**
 * The floor of the fleet benchmark: a bare NATS responder that answers every
 * request on `bench.echo` with a reply of the size a node's report would have,
 * and does nothing else. Run as its own process, like a node.
 *
 * Usage: deno run --allow-net=127.0.0.1 bench/nats_echo.ts NATS_URL REPLY_BYTES
 *
 * @module
 */
import { connect } from "@nats-io/transport-node";

if (import.meta.main) {
  const [url, bytes] = Deno.args;
  const nc = await connect({ servers: url.replace(/^nats:\/\//, "") });
  const reply = new Uint8Array(Number(bytes));
  nc.subscribe("bench.echo", { callback: (_error, msg) => void msg.respond(reply) });
  await nc.flush();
  console.error("echo ready");
  await nc.closed();
}
