/** The accept loop when descriptors run out, and after. */
import assert from "node:assert/strict";
import { AcceptLoop } from "../lib/server/accept_loop.ts";
import { type ServerEvent, ServerEvents } from "../lib/server/server_events.ts";
import { closeQuietly } from "../lib/wire/write_all.ts";

/**
 * A listener whose first accept fails with EMFILE and whose second hands over `conn`; later
 * accepts wait until it is closed, as a real listener's do.
 */
function listenerOutOfDescriptorsOnce(conn: Deno.TcpConn): Deno.TcpListener {
  const closed = Promise.withResolvers<never>();
  closed.promise.catch(() => {}); // heard by a pending accept, if any
  let accepts = 0;
  return {
    accept() {
      accepts++;
      if (accepts === 1) return Promise.reject(new Error("Too many open files (os error 24)"));
      if (accepts === 2) return Promise.resolve(conn);
      return closed.promise;
    },
    close() {
      closed.reject(new Deno.errors.BadResource("closed"));
    },
  } as unknown as Deno.TcpListener;
}

Deno.test("AcceptLoop: the client accepted after descriptors ran out is served once they are to spare again, not told ERR busy", async () => {
  using real = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  using client = await Deno.connect({ hostname: "127.0.0.1", port: real.addr.port });
  const conn = await real.accept();
  const events = new ServerEvents();
  const heard: ServerEvent[] = [];
  events.subscribe((event) => heard.push(event));
  const handed = Promise.withResolvers<Deno.TcpConn>();
  const loop = new AcceptLoop(listenerOutOfDescriptorsOnce(conn), {
    onConnection: handed.resolve,
    events,
    // Any file the test may read: held open as the reserve.
    reserveFile: new URL(import.meta.url),
    openConnections: () => 0,
  });
  const reply = new Uint8Array(256);
  const told = client.read(reply).then((n) =>
    n === null ? "nothing" : new TextDecoder().decode(reply.subarray(0, n))
  );
  try {
    // By the time the waiting accept returns, the reserve can be held again: descriptors
    // are to spare, so the client goes on to be served.
    const first = await Promise.race([handed.promise.then(() => "handed on"), told]);
    assert.equal(first, "handed on");
    assert.deepEqual(heard.map((event) => event.type), ["notice"]);
    assert.match(heard[0].type === "notice" ? heard[0].message : "", /out of file descriptors/);
  } finally {
    closeQuietly(conn);
    await loop.close();
  }
  // The client was told nothing before the close: no ERR busy.
  assert.equal(await told, "nothing");
});
