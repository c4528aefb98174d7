import assert from "node:assert/strict";
import { resolveServerOptions, type ServerOptions } from "../lib/server/server_options.ts";
import { ThreadcountServer } from "../lib/server/threadcount_server.ts";
import { DEFAULT_SERVER_OPTIONS } from "../lib/defaults/defaults.ts";

Deno.test("resolveServerOptions() fills in the defaults, keeping what is given", () => {
  assert.deepEqual(resolveServerOptions(), DEFAULT_SERVER_OPTIONS);
  const resolved = resolveServerOptions({ port: 0, maxClients: 3, seed: undefined });
  assert.deepEqual(resolved, { ...DEFAULT_SERVER_OPTIONS, port: 0, maxClients: 3 });
});

Deno.test("resolveServerOptions() refuses an option out of range, naming it", async (t) => {
  const cases: [Partial<ServerOptions>, RegExp][] = [
    [{ port: 65536 }, /'port' must be an integer from 0 to 65535: received 65536/],
    [{ maxWaiting: -1 }, /'maxWaiting' must be an integer of 0 or more: received -1/],
    [{ minUnits: 5, maxUnits: 4 }, /'maxUnits' must be an integer of 5 or more: received 4/],
    [{ workerModel: "per-increment", workers: 0 }, /'workers' must be a positive integer/],
    [{ idleTimeoutMs: -5 }, /'idleTimeoutMs' must be a number of 0 or more: received -5/],
    [{ maxRequestMs: NaN }, /'maxRequestMs' must be a number of 0 or more/],
  ];
  for (const bad of [0, -1, 1.5, NaN, Infinity]) {
    cases.push([{ maxClients: bad }, /'maxClients' must be a positive integer/]);
    cases.push([{ maxLineBytes: bad }, /'maxLineBytes' must be a positive integer/]);
  }
  for (const [options, message] of cases) {
    const name = Object.entries(options).map(([key, value]) => `${key} ${value}`).join(", ");
    await t.step(name, () => {
      assert.throws(() => resolveServerOptions(options), RangeError);
      assert.throws(() => resolveServerOptions(options), message);
    });
  }
  await t.step("workerModule: not a URL", () => {
    assert.throws(() => resolveServerOptions({ workerModule: "worker.ts" }), TypeError);
  });
});

Deno.test("resolveServerOptions() refuses remote Workers with a Worker per increment or a shared counter", () => {
  const remoteWorkers = () => {
    throw new Error("never plugged in");
  };
  assert.throws(
    () => resolveServerOptions({ remoteWorkers, workerModel: "per-increment" }),
    /remote Workers \(--nats\) join the pool model only/,
  );
  assert.throws(
    () => resolveServerOptions({ remoteWorkers, counterModel: "locked" }),
    /--counter locked needs every increment on this machine/,
  );
});

Deno.test("ThreadcountServer checks its options before it opens anything", () => {
  // The port is taken: had the server listened before checking, it would fail with AddrInUse.
  using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let plugged = false;
  const remoteWorkers = () => {
    plugged = true;
    throw new Error("plugged in");
  };
  const port = taken.addr.port;
  assert.throws(() => new ThreadcountServer({ port, maxClients: 0 }), RangeError);
  assert.throws(
    () => new ThreadcountServer({ port, remoteWorkers, counterModel: "racy" }),
    /--counter racy needs every increment on this machine/,
  );
  assert.equal(plugged, false, "no remote Worker was plugged in");
});
