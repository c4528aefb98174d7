/**
 * The fleet with real processes: a nats-server child on a free port, worker
 * nodes as child `deno` processes (or a FleetNode in this process when the test
 * reads its counters), servers in this process. Skipped, and said so, where
 * nats-server is not installed.
 */
import assert from "node:assert/strict";
import { fleetWorkers } from "../lib/fleet/server_fleet.ts";
import type { ServerEvent } from "../lib/server/server_events.ts";
import {
  byeSubject,
  decodeReport,
  encodeBatch,
  helloSubject,
  runSubject,
  SUBJECT_PREFIX,
} from "../lib/fleet/fleet_wire.ts";
import { RawClient, startServer } from "./_helpers.ts";
import {
  bounded,
  inProcessNode,
  NATS_SERVER,
  natsConnection,
  NatsServer,
  NodeProcess,
  quickClient,
  startNode,
  strangerHello,
} from "./_nats.ts";

const ignore = !NATS_SERVER;

/** Work of about a millisecond a unit: batches stay small, both nodes get some. */
const FLEET_WORK = {
  graceMs: 1000,
  workers: 0,
  minUnits: 1,
  maxUnits: 3,
  iterationsPerUnit: 1_000_000,
};

type Recorded = { events: ServerEvent[] };

function joined(recorded: Recorded, node: string): boolean {
  return recorded.events.some((e) => e.type === "node-joined" && e.node === node);
}

/** Asserts that each of the request's `total` tasks was applied exactly once. */
function assertEachTaskOnce(recorded: Recorded, request: string, total: number): void {
  const done = recorded.events.filter((e) => e.type === "task-done" && e.request === request);
  const numbers = done.map((e) => Number((e as { task: string }).task.split("#")[1]));
  assert.equal(new Set(numbers).size, numbers.length, "no task applied twice");
  assert.equal(numbers.length, total);
}

Deno.test({
  name: "fleet: one request is served by two nodes, both nodes' Workers in the reports",
  ignore,
  async fn() {
    await using nats = await NatsServer.start();
    await using nodeA = await startNode(nats.url, { name: "node-a" });
    await using nodeB = await startNode(nats.url, { name: "node-b" });
    const nc = await natsConnection(nats.url);
    try {
      await using server = startServer({ ...FLEET_WORK, remoteWorkers: fleetWorkers(nc) });
      const { recorder } = server;
      await bounded(recorder.waitFor((e) => e.type === "node-joined", 2), "two nodes");
      await using client = await quickClient(server.addr);
      assert.deepEqual(await client.request("5 300"), { kind: "value", text: "305" });

      const names = server.laneNames();
      const ran = new Set(recorder.of("task-done").map((e) => names[e.worker]));
      assert.deepEqual([...ran].sort(), ["node-a/worker 0", "node-b/worker 0"]);
      assertEachTaskOnce(recorder, "R1", 300);
      const stats = server.stats();
      assert.equal(stats.nodes, 2);
      assert.equal(stats.remote_workers, 2);
      assert.equal(stats.workers, 0);
      assert.ok(joined(recorder, nodeA.name) && joined(recorder, nodeB.name));
    } finally {
      await nc.close();
    }
  },
});

Deno.test({
  name: "fleet: a node SIGKILLed mid-request costs time, not correctness",
  ignore,
  async fn() {
    await using nats = await NatsServer.start();
    await using doomed = await startNode(nats.url, { name: "doomed" });
    await using survivor = await startNode(nats.url, { name: "survivor" });
    const nc = await natsConnection(nats.url);
    try {
      await using server = startServer({ ...FLEET_WORK, remoteWorkers: fleetWorkers(nc) });
      const { recorder } = server;
      await bounded(recorder.waitFor((e) => e.type === "node-joined", 2), "two nodes");
      await using client = await quickClient(server.addr);
      const answer = client.request("0 400");
      const doomedLane = () => server.laneNames().indexOf("doomed/worker 0");
      await recorder.waitFor((e) => e.type === "task-done" && e.worker === doomedLane());
      const status = await doomed.kill("SIGKILL");
      assert.equal(status.signal, "SIGKILL");
      assert.deepEqual(await bounded(answer, "the answer"), { kind: "value", text: "400" });

      assertEachTaskOnce(recorder, "R1", 400);
      // It had a batch in flight (two are kept at each remote Worker): that batch was re-sent.
      const resent = server.stats().fleet_batches_resent ?? 0;
      assert.ok(resent >= 1, "a batch was re-sent");
      // Only what it held: once nothing listens on its subject, it is taken down, not retried.
      assert.ok(resent <= 10, `${resent} batches re-sent`);
      // Silent since, it is taken for lost (if no batch sent to it found it gone already).
      await bounded(recorder.waitForType("node-lost"), "node-lost");
      const lost = recorder.of("node-lost");
      assert.deepEqual(lost.map((e) => e.node), ["doomed"]);
      assert.equal(survivor.stderr.filter((l) => /died|malformed/.test(l)).length, 0);
    } finally {
      await nc.close();
    }
  },
});

Deno.test({
  name: "fleet: a vanished client's queued remote increments are not run",
  ignore,
  async fn() {
    await using nats = await NatsServer.start();
    await using counted = await inProcessNode(nats.url, {
      name: "counted",
      workers: 1,
      heartbeatMs: 200,
      maxQueuedBatches: 64,
    });
    const { node, log: nodeLog } = counted;
    const nc = await natsConnection(nats.url);
    try {
      await using server = startServer({
        ...FLEET_WORK,
        minUnits: 1,
        maxUnits: 1,
        remoteWorkers: fleetWorkers(nc),
      });
      const { recorder } = server;
      await bounded(recorder.waitForType("node-joined"), "a node");
      const vanishing = await RawClient.connect(server);
      await vanishing.write("0 2000\n");
      await recorder.waitForType("task-done", 3);
      await vanishing[Symbol.asyncDispose]();
      await bounded(recorder.waitForType("request-failed"), "the request's end");
      await using next = await quickClient(server.addr);
      // The node runs batches in order: this answer comes after every batch of R1 it was sent.
      assert.deepEqual(await next.request("7 3"), { kind: "value", text: "10" });

      const dispatched = recorder.of("task-queued").filter((e) => e.task.startsWith("R1#")).length;
      assert.ok(dispatched < 2000, `dispatched ${dispatched} of 2000`);
      // The node ran what was dispatched before the client left, and nothing else of R1.
      assert.equal(node.stats.tasksRun, dispatched + 3);
      const stats = server.stats();
      assert.equal(stats.tasks_queued, 0);
      const reportedForR1 = recorder.of("task-done").filter((e) => e.request === "R1").length;
      assert.equal(reportedForR1 + stats.tasks_discarded, dispatched);
      assert.deepEqual(nodeLog, []);
    } finally {
      await nc.close();
    }
  },
});

Deno.test({
  name: "fleet: malformed messages on the subjects are counted, logged, dropped; counting goes on",
  ignore,
  async fn() {
    await using nats = await NatsServer.start();
    await using sturdy = await inProcessNode(nats.url, {
      name: "sturdy",
      workers: 1,
      heartbeatMs: 200,
      maxQueuedBatches: 64,
    });
    const { node, log: nodeLog } = sturdy;
    const stranger = await natsConnection(nats.url);
    const nc = await natsConnection(nats.url);
    try {
      await using server = startServer({ ...FLEET_WORK, remoteWorkers: fleetWorkers(nc) });
      const { recorder } = server;
      await bounded(recorder.waitForType("node-joined"), "a node");
      // A liar: announces a Worker, then answers every batch with garbage.
      const liar = stranger.subscribe(runSubject("liar", 0), {
        callback: (_error, msg) => void msg.respond(new TextEncoder().encode("not a report")),
      });
      const garbage = [
        new TextEncoder().encode("{not json"),
        new TextEncoder().encode('{"v":1,"node":"a.b","workers":-1}'),
        new Uint8Array([0xff, 0xfe, 0x00]),
        new Uint8Array(0),
      ];
      for (const bytes of garbage) {
        stranger.publish(helloSubject("liar"), bytes);
        stranger.publish(byeSubject("liar"), bytes);
        stranger.publish(runSubject("sturdy", 0), bytes);
        stranger.publish(runSubject("sturdy", 0), bytes, { reply: `${SUBJECT_PREFIX}.nowhere` });
      }
      strangerHello(stranger, "liar", 1);
      await stranger.flush();
      await recorder.waitFor((e) => e.type === "node-joined" && e.node === "liar");

      await using client = await quickClient(server.addr);
      assert.deepEqual(await client.request("1 200"), { kind: "value", text: "201" });
      assertEachTaskOnce(recorder, "R1", 200);
      const names = server.laneNames();
      assert.ok(
        recorder.of("task-done").every((e) => names[e.worker] === "sturdy/worker 0"),
        "only the honest node's reports were applied",
      );
      liar.unsubscribe();

      const stats = server.stats();
      // 4 hellos + 4 byes, and at least the liar's first reply.
      assert.ok((stats.fleet_malformed ?? 0) >= 9, `server dropped ${stats.fleet_malformed}`);
      assert.equal(node.stats.malformed, 8);
      // At most one line a second: these came within a moment, so one or two lines.
      const reports = recorder.of("fleet-malformed");
      assert.ok(reports.length >= 1 && reports.length <= 2, `${reports.length} server lines`);
      assert.ok(nodeLog.length >= 1 && nodeLog.length <= 2, nodeLog.join("\n"));
      assert.match(nodeLog[0], /dropped a malformed message on threadcount\.v2\.run\.sturdy\.0/);
    } finally {
      await nc.close();
      await stranger.close();
    }
  },
});

Deno.test({
  name: "fleet: --workers 0 and no node at all: a request gets ERR no-workers, bounded",
  ignore,
  async fn() {
    await using nats = await NatsServer.start();
    const nc = await natsConnection(nats.url);
    try {
      await using server = startServer({
        ...FLEET_WORK,
        remoteWorkers: fleetWorkers(nc, { waitMs: 200 }),
      });
      await using client = await quickClient(server.addr);
      const reply = await bounded(client.request("2 10"), "ERR no-workers");
      assert.equal(reply.kind === "error" && reply.code, "no-workers");
      assert.match(reply.kind === "error" ? reply.message : "", /deno task node/);
      assert.equal(server.stats().tasks_queued, 0);
    } finally {
      await nc.close();
    }
  },
});

Deno.test({
  name: "fleet: a broker closed to strangers: credentials in the URL let node and server in",
  ignore,
  async fn() {
    await using nats = await NatsServer.start(-1, ["--user", "class", "--pass", "s3cret"]);
    const url = `nats://class:s3cret@127.0.0.1:${nats.port}`;
    await using node = await startNode(url, { name: "insider" });
    const nc = await natsConnection(url);
    try {
      await using server = startServer({ ...FLEET_WORK, remoteWorkers: fleetWorkers(nc) });
      await bounded(server.recorder.waitForType("node-joined"), "the node");
      await using client = await quickClient(server.addr);
      assert.deepEqual(await bounded(client.request("1 20"), "the answer"), {
        kind: "value",
        text: "21",
      });
      assert.equal(node.name, "insider");
    } finally {
      await nc.close();
    }
    // A node without the password is refused, says what to check, and exits. (In a child
    // process: the NATS client's socket reports the broker's reset after the refusal.)
    await using stranger = new NodeProcess(nats.url, { name: "stranger" });
    const said = await bounded(stranger.waitForLine(/cannot connect/), "the refusal");
    assert.match(said, /Authorization Violation.*user\/password, token or --nats-creds/i);
    assert.equal((await stranger.process.status).code, 1);
  },
});

Deno.test({
  name: "fleet: a node takes at most maxQueuedBatches per Worker and drops the rest",
  ignore,
  async fn() {
    await using nats = await NatsServer.start();
    await using small = await inProcessNode(nats.url, {
      name: "small",
      workers: 1,
      heartbeatMs: 1000,
      maxQueuedBatches: 2,
    });
    const { node } = small;
    const sender = await natsConnection(nats.url);
    try {
      await small.conn.flush();
      const replies: Float64Array[] = [];
      const twoReplies = Promise.withResolvers<void>();
      const inbox = sender.subscribe("test.replies", {
        callback: (_error, msg) => {
          replies.push(decodeReport(msg.data));
          if (replies.length === 2) twoReplies.resolve();
        },
      });
      await sender.flush();
      // Four batches at once; each spins long enough that all four arrive while the first runs.
      for (let id = 1; id <= 4; id++) {
        sender.publish(runSubject("small", 0), encodeBatch(new Float64Array([2_000_000, id, 5])), {
          reply: "test.replies",
        });
      }
      await sender.flush();
      await bounded(twoReplies.promise, "two replies");
      assert.deepEqual(replies.map((r) => r[0]), [1, 2], "the first two ran, in order");
      assert.equal(node.stats.batchesDropped, 2);
      inbox.unsubscribe();
    } finally {
      await sender.close();
    }
  },
});

Deno.test({
  name: "fleet: racy and locked counters are refused where increments may run on other machines",
  ignore,
  async fn() {
    await using nats = await NatsServer.start();
    const nc = await natsConnection(nats.url);
    try {
      assert.throws(
        () =>
          startServer({
            ...FLEET_WORK,
            workers: 1,
            remoteWorkers: fleetWorkers(nc),
            counterModel: "racy",
          }),
        /--counter racy needs every increment on this machine/,
      );
      await using server = startServer({
        ...FLEET_WORK,
        workers: 1,
        remoteWorkers: fleetWorkers(nc),
      });
      await using raw = await RawClient.connect(server);
      await raw.write("COUNTER locked\n");
      assert.match(
        (await raw.readLine())!,
        /^ERR bad-request COUNTER locked needs every increment/,
      );
      await raw.write("COUNTER parallel\n2 3\n");
      assert.equal(await raw.readLine(), "OK counter parallel");
      assert.equal(await raw.readLine(), "5 (0 updates lost)");
    } finally {
      await nc.close();
    }
  },
});
