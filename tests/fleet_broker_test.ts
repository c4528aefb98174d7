/**
 * The fleet when the broker goes away and comes back, and several servers
 * behind HAProxy sharing one fleet: real nats-server, node and haproxy processes.
 * Skipped, and said so, where nats-server (or haproxy) is not installed.
 */
import assert from "node:assert/strict";
import { fleetWorkers } from "../lib/fleet/server_fleet.ts";
import { startServer } from "./_helpers.ts";
import {
  bounded,
  HAPROXY,
  HaproxyProcess,
  NATS_SERVER,
  natsConnection,
  NatsServer,
  quickClient,
  startNode,
} from "./_nats.ts";

Deno.test({
  name: "fleet: nats-server stopped and restarted mid-request: local Workers go on, all reconnect",
  ignore: !NATS_SERVER,
  async fn() {
    let nats = await NatsServer.start();
    const port = nats.port;
    try {
      await using node = await startNode(nats.url, { name: "faithful" });
      const nc = await natsConnection(nats.url);
      try {
        await using server = startServer({
          workers: 1,
          graceMs: 1000,
          minUnits: 1,
          maxUnits: 3,
          iterationsPerUnit: 2_000_000,
          remoteWorkers: fleetWorkers(nc),
        });
        const { recorder } = server;
        await bounded(recorder.waitForType("node-joined"), "a node");
        const names = () => server.laneNames();
        await using client = await quickClient(server.addr);
        const answer = client.request("0 1500");
        await recorder.waitFor((e) =>
          e.type === "task-done" && names()[e.worker] === "faithful/worker 0"
        );
        await nats.kill();
        await bounded(recorder.waitForType("fleet-lost"), "fleet-lost");
        const lostAt = recorder.events.findIndex((e) => e.type === "fleet-lost");
        // STATS, and with it the dashboard, says so.
        assert.equal(server.stats().fleet_connected, 0);
        // Meanwhile the local Worker counts on.
        await recorder.waitFor((e) =>
          e.type === "task-done" && recorder.events.indexOf(e) > lostAt &&
          names()[e.worker] === "worker 0"
        );
        nats = await NatsServer.start(port);
        // Both sides come back by themselves: the node announces itself to the server again.
        await bounded(recorder.waitFor((e) => e.type === "node-joined", 2), "the node's return");
        await bounded(node.waitForLine(/back on the broker/), "the node's reconnection");
        assert.deepEqual(await bounded(answer, "the answer"), { kind: "value", text: "1500" });

        const done = recorder.of("task-done").filter((e) => e.request === "R1");
        const numbers = new Set(done.map((e) => e.task));
        assert.equal(numbers.size, 1500, "each task applied once");
        assert.equal(done.length, 1500);
        const lost = recorder.of("fleet-lost")[0];
        assert.match(lost.reason, /lost the NATS broker .*counting on the 1 local Workers/);
        // Regained at the start and after the broker's return; on a loaded machine the node may
        // also miss its heartbeats and be lost and regained once more: the two always alternate.
        const upsAndDowns = recorder.events.filter((e) =>
          e.type === "fleet-regained" || e.type === "fleet-lost"
        ).map((e) => e.type);
        assert.ok(upsAndDowns.length >= 3, `${upsAndDowns}`);
        upsAndDowns.forEach((type, i) =>
          assert.equal(type, i % 2 === 0 ? "fleet-regained" : "fleet-lost", `${upsAndDowns}`)
        );
        assert.equal(upsAndDowns.at(-1), "fleet-regained");
        const stats = server.stats();
        assert.equal(stats.nodes, 1);
        assert.equal(stats.workers, 1);
        assert.equal(stats.fleet_connected, 1);
      } finally {
        await nc.close();
      }
    } finally {
      await nats.kill();
    }
  },
});

Deno.test({
  name: "fleet: 20 clients × 5 requests through two servers behind HAProxy and two nodes",
  ignore: !NATS_SERVER || !HAPROXY,
  async fn() {
    await using nats = await NatsServer.start();
    await using _nodeA = await startNode(nats.url, { name: "lb-a" });
    await using _nodeB = await startNode(nats.url, { name: "lb-b" });
    const ncs = [await natsConnection(nats.url), await natsConnection(nats.url)];
    try {
      const work = {
        graceMs: 1000,
        workers: 0,
        minUnits: 1,
        maxUnits: 3,
        iterationsPerUnit: 20_000,
        // deploy/haproxy.cfg names each client in a PROXY header.
        proxyProtocolFrom: ["127.0.0.1"],
      };
      await using serverA = startServer({
        ...work,
        maxClients: 20,
        remoteWorkers: fleetWorkers(ncs[0]),
      });
      await using serverB = startServer({
        ...work,
        maxClients: 20,
        remoteWorkers: fleetWorkers(ncs[1]),
      });
      for (const server of [serverA, serverB]) {
        await bounded(server.recorder.waitFor((e) => e.type === "node-joined", 2), "two nodes");
      }
      await using proxy = await HaproxyProcess.start([serverA.address, serverB.address]);

      const answers = await Promise.all(
        Array.from({ length: 20 }, async (_, c) => {
          await using client = await quickClient({ hostname: "127.0.0.1", port: proxy.port });
          const got: string[] = [];
          for (let r = 0; r < 5; r++) {
            const start = c * 1000 + r * 100;
            const reply = await client.request(`${start} ${10 + r}`);
            got.push(reply.kind === "value" ? reply.text : reply.line);
          }
          return got;
        }),
      );
      const expected = Array.from(
        { length: 20 },
        (_, c) => Array.from({ length: 5 }, (_, r) => String(c * 1000 + r * 100 + 10 + r)),
      );
      assert.deepEqual(answers, expected);
      // Both servers served, and each counted only on the fleet (--workers 0).
      for (const server of [serverA, serverB]) {
        assert.ok(server.stats().requests > 0, `${server.address} served no request`);
        const names = server.laneNames();
        assert.ok(server.recorder.of("task-done").every((e) => names[e.worker].startsWith("lb-")));
      }
      assert.equal(serverA.stats().requests + serverB.stats().requests, 100);
    } finally {
      for (const nc of ncs) await nc.close();
    }
  },
});
