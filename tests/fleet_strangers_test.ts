/**
 * Strangers on the broker: any client with the class's password can publish on the
 * fleet's subjects. Each test plays one (a raw NATS client) against a server in this
 * process and honest nodes, and checks that the answers stay exact and that what the
 * stranger costs is bounded: counted in batches, lanes and messages, not in time.
 * Skipped, and said so, where nats-server is not installed.
 */
import { MAX_UNPROVEN_NODES } from "../lib/defaults/defaults.ts";
import assert from "node:assert/strict";
import { Empty, headers, type Msg, type NatsConnection } from "@nats-io/transport-node";
import { fleetWorkers } from "../lib/fleet/server_fleet.ts";
import {
  byeSubject,
  decodeHello,
  encodeBatch,
  encodeBye,
  encodeReport,
  helloSubject,
  randomToken,
  runSubject,
  SUBJECT_PREFIX,
} from "../lib/fleet/fleet_wire.ts";
import { BATCH_HEADER, TASK_STRIDE } from "../lib/pool/worker_messages.ts";
import { startServer } from "./_helpers.ts";
import {
  bounded,
  inProcessNode,
  NATS_SERVER,
  natsConnection,
  NatsServer,
  quickClient,
  startNode,
  strangerHello,
} from "./_nats.ts";

const ignore = !NATS_SERVER;

/** Work of about a millisecond a unit, as in fleet_nodes_test.ts. */
const FLEET_WORK = {
  graceMs: 1000,
  workers: 0,
  minUnits: 1,
  maxUnits: 3,
  iterationsPerUnit: 1_000_000,
};

const NODE = { heartbeatMs: 200, maxQueuedBatches: 64 };

/** A report for `msg`'s batch, each task given `times(i)` as its start and end. */
function reportFor(msg: Msg, times: (i: number) => [number, number]): Uint8Array {
  const batch = new Float64Array(new Uint8Array(msg.data).slice().buffer);
  const rows: number[] = [];
  for (let at = BATCH_HEADER, i = 0; at < batch.length; at += TASK_STRIDE, i++) {
    rows.push(batch[at], batch[at + 1], ...times(i));
  }
  return encodeReport(new Float64Array(rows));
}

/** Subscribes a stranger to `subject`, counting what it gets; `answer` may reply. */
function listen(
  nc: NatsConnection,
  subject: string,
  answer: (msg: Msg) => void = () => {},
): { count: () => number; stop: () => void } {
  let count = 0;
  const subscription = nc.subscribe(subject, {
    callback: (_error, msg) => {
      count++;
      answer(msg);
    },
  });
  return { count: () => count, stop: () => subscription.unsubscribe() };
}

/**
 * A broker with two connections to it: the server's (`nc`) and a stranger's. Closed, with both
 * connections, by `await using`.
 */
async function brokerWithStranger() {
  const nats = await NatsServer.start();
  const stranger = await natsConnection(nats.url);
  const nc = await natsConnection(nats.url);
  return {
    nats,
    stranger,
    nc,
    async [Symbol.asyncDispose]() {
      await nc.close();
      await stranger.close();
      await nats[Symbol.asyncDispose]();
    },
  };
}

Deno.test({
  name: "fleet: a thief's absurd report is malformed, its lane benched, the times shown true",
  ignore,
  async fn() {
    await using broker = await brokerWithStranger();
    const { nats, stranger, nc } = broker;
    await using _honest = await inProcessNode(nats.url, { name: "honest", workers: 1, ...NODE });
    await using server = startServer({ ...FLEET_WORK, remoteWorkers: fleetWorkers(nc) });
    const { recorder } = server;
    await bounded(recorder.waitForType("node-joined"), "the node");
    // On the node's own subject, answering the first batch before the node, with times
    // 10^306 ms apart.
    const thief = listen(stranger, runSubject("honest", 0), (msg) => {
      if (thief.count() === 1) msg.respond(reportFor(msg, () => [-1e306, 1e306]));
    });
    await stranger.flush();
    const startedAt = performance.timeOrigin + performance.now();
    await using client = await quickClient(server.addr);
    assert.deepEqual(await bounded(client.request("0 40"), "the answer"), {
      kind: "value",
      text: "40",
    });
    thief.stop();
    await stranger.flush();
    assert.ok(thief.count() >= 1, "the thief answered");
    const stats = server.stats();
    assert.ok((stats.fleet_malformed ?? 0) >= 1, "its report was counted as malformed");
    // Every time shown (log, dashboard, trace) is one the server could check.
    const endedAt = performance.timeOrigin + performance.now();
    for (const e of recorder.of("task-done")) {
      assert.ok(e.startedAt >= startedAt && e.endedAt <= endedAt, `${e.task} at ${e.startedAt}`);
    }
    // Its lies moved no estimate: the next request's batches all make their deadlines.
    const resent = stats.fleet_batches_resent ?? 0;
    assert.deepEqual(await bounded(client.request("0 40"), "the next answer"), {
      kind: "value",
      text: "40",
    });
    assert.equal(server.stats().fleet_batches_resent, resent);
  },
});

Deno.test({
  name: "fleet: a black hole announcing 64 Workers gets one lane and one batch per back-off",
  ignore,
  async fn() {
    await using broker = await brokerWithStranger();
    const { stranger, nc } = broker;
    await using server = startServer({
      ...FLEET_WORK,
      workers: 1,
      remoteWorkers: fleetWorkers(nc, { minDeadlineMs: 300 }),
    });
    const { recorder } = server;
    const hole = listen(stranger, `${SUBJECT_PREFIX}.run.hole.*`);
    await stranger.flush();
    await nc.flush();
    strangerHello(stranger, "hole", 64);
    await bounded(recorder.waitForType("node-joined"), "the hole");
    await using client = await quickClient(server.addr);
    const beat = setInterval(() => strangerHello(stranger, "hole", 64), 100);
    try {
      assert.deepEqual(await bounded(client.request("0 200"), "the answer"), {
        kind: "value",
        text: "200",
      });
    } finally {
      clearInterval(beat);
    }
    await nc.flush();
    await stranger.flush(); // every batch sent to it has reached it
    hole.stop();
    assert.deepEqual(server.laneNames().filter((n) => n.startsWith("hole/")), [
      "hole/worker 0",
    ]);
    const stats = server.stats();
    // Each batch it swallowed was sent again elsewhere; it swallowed one per back-off (the
    // first at once, then after 1 s, 2 s, ...), not two for each of 64 lanes.
    assert.ok(hole.count() >= 1 && hole.count() <= 3, `the hole got ${hole.count()} batches`);
    assert.equal(stats.fleet_batches_resent, hole.count());
    assert.ok(recorder.of("task-done").every((e) => server.laneNames()[e.worker] === "worker 0"));
  },
});

Deno.test({
  name: "fleet: a reply after its batch's deadline is counted late and dropped",
  ignore,
  async fn() {
    await using broker = await brokerWithStranger();
    const { stranger, nc } = broker;
    await using server = startServer({
      ...FLEET_WORK,
      workers: 1,
      remoteWorkers: fleetWorkers(nc, { minDeadlineMs: 200 }),
    });
    const { recorder } = server;
    let held: Msg | undefined;
    const slow = listen(stranger, runSubject("slow", 0), (msg) => held ??= msg);
    await stranger.flush();
    await nc.flush();
    strangerHello(stranger, "slow", 1);
    await bounded(recorder.waitForType("node-joined"), "the slow node");
    await using client = await quickClient(server.addr);
    assert.deepEqual(await bounded(client.request("0 50"), "the answer"), {
      kind: "value",
      text: "50",
    });
    // The batch it held was given up (the local Worker ran it): now it answers, truly.
    await nc.flush();
    await stranger.flush(); // every batch sent to it has reached it
    assert.ok(held, "it got a batch");
    assert.equal(server.stats().fleet_batches_resent, slow.count());
    const now = performance.timeOrigin + performance.now();
    held.respond(reportFor(held, (i) => [now + i, now + i + 0.5]));
    await stranger.flush();
    await nc.flush();
    assert.equal(server.stats().fleet_late_replies, 1);
    slow.stop();
    assertEachOnce(recorder, 50);
  },
});

function assertEachOnce(
  recorder: { of(type: "task-done"): { task: string }[] },
  total: number,
): void {
  const tasks = recorder.of("task-done").map((e) => e.task);
  assert.equal(new Set(tasks).size, tasks.length, "no task applied twice");
  assert.equal(tasks.length, total);
}

Deno.test({
  name: "fleet: nodes that leave free their lanes for the next ones (no lane per name for ever)",
  ignore,
  async fn() {
    await using nats = await NatsServer.start();
    const nc = await natsConnection(nats.url);
    try {
      await using server = startServer({ ...FLEET_WORK, remoteWorkers: fleetWorkers(nc) });
      const { recorder } = server;
      for (let run = 1; run <= 3; run++) {
        // As HOSTNAME-PID names do: each run of the node has a new name.
        await using _node = await inProcessNode(nats.url, {
          name: `lab-${run}`,
          workers: 2,
          ...NODE,
        });
        await bounded(recorder.waitFor((e) => e.type === "node-joined", run), `run ${run}`);
        await using client = await quickClient(server.addr);
        assert.deepEqual(await bounded(client.request("1 30"), "the answer"), {
          kind: "value",
          text: "31",
        });
        assert.deepEqual([...server.laneNames()].sort(), [
          `lab-${run}/worker 0`,
          `lab-${run}/worker 1`,
        ]);
      }
      await bounded(recorder.waitForType("node-lost", 3), "three goodbyes");
      assert.deepEqual(
        recorder.of("node-lost").map((e) => e.reason),
        Array(3).fill("the node stopped"),
      );
      assert.deepEqual(server.laneNames(), ["remote (free)", "remote (free)"]);
      // The log's "fleet up" counts the Workers each node has, not the one lane it starts with.
      assert.deepEqual(recorder.of("fleet-regained").map((e) => e.workers), [2, 2, 2]);
      assert.equal(server.stats().nodes, 0);
    } finally {
      await nc.close();
    }
  },
});

Deno.test({
  name: "fleet: announcements alone take one lane each, at most MAX_UNPROVEN_NODES, and expire",
  ignore,
  async fn() {
    await using broker = await brokerWithStranger();
    const { nats, stranger, nc } = broker;
    await using server = startServer({
      ...FLEET_WORK,
      remoteWorkers: fleetWorkers(nc, { nodeLostMs: 400 }),
    });
    const { recorder } = server;
    await nc.flush();
    const fakes = MAX_UNPROVEN_NODES + 6;
    for (let i = 0; i < fakes; i++) strangerHello(stranger, `fake-${i}`, 1024);
    await stranger.flush();
    await bounded(recorder.waitForType("node-joined", MAX_UNPROVEN_NODES), "the fakes");
    await nc.flush(); // every hello has been heard
    assert.equal(server.laneNames().length, MAX_UNPROVEN_NODES, "one lane each");
    assert.equal(server.stats().fleet_malformed, 6, "the rest were dropped and counted");
    // The stranger leaves: its names fall silent, are taken for lost, and free their lanes.
    await bounded(recorder.waitForType("node-lost", MAX_UNPROVEN_NODES), "the fakes' end");
    await using _real = await inProcessNode(nats.url, { name: "real", workers: 2, ...NODE });
    await bounded(recorder.waitFor((e) => e.type === "node-joined" && e.node === "real"), "real");
    await using client = await quickClient(server.addr);
    assert.deepEqual(await bounded(client.request("2 30"), "the answer"), {
      kind: "value",
      text: "32",
    });
    assert.equal(server.laneNames().length, MAX_UNPROVEN_NODES, "its lanes were freed ones");
    assert.equal(server.stats().remote_workers, 2);
  },
});

Deno.test({
  name: "fleet: nodes that answered get their Workers' lanes, within maxLanes over all nodes",
  ignore,
  async fn() {
    await using nats = await NatsServer.start();
    const nc = await natsConnection(nats.url);
    try {
      await using server = startServer({
        ...FLEET_WORK,
        remoteWorkers: fleetWorkers(nc, { maxLanes: 3 }),
      });
      const { recorder } = server;
      await using _a = await inProcessNode(nats.url, { name: "a", workers: 2, ...NODE });
      await bounded(recorder.waitForType("node-joined"), "a");
      await using client = await quickClient(server.addr);
      assert.deepEqual(await bounded(client.request("0 30"), "a's answer"), {
        kind: "value",
        text: "30",
      });
      await using _b = await inProcessNode(nats.url, { name: "b", workers: 2, ...NODE });
      await bounded(recorder.waitForType("node-joined", 2), "b");
      assert.deepEqual(await bounded(client.request("0 60"), "the answer"), {
        kind: "value",
        text: "60",
      });
      assert.deepEqual([...server.laneNames()].sort(), ["a/worker 0", "a/worker 1", "b/worker 0"]);
      const report = recorder.of("fleet-malformed").find((e) => /bound of 3/.test(e.reason));
      assert.match(report?.reason ?? "", /b has 2 Workers; 1 fit under the bound of 3/);
    } finally {
      await nc.close();
    }
  },
});

Deno.test({
  name: "fleet: goodbyes and hellos that do not come from the node do not take it down",
  ignore,
  async fn() {
    await using broker = await brokerWithStranger();
    const { nats, stranger, nc } = broker;
    await using server = startServer({ ...FLEET_WORK, remoteWorkers: fleetWorkers(nc) });
    const { recorder } = server;
    // The stranger reads the node's hellos, as anyone on the broker can.
    const heard = Promise.withResolvers<ReturnType<typeof decodeHello>>();
    const ear = listen(
      stranger,
      helloSubject("real"),
      (msg) => heard.resolve(decodeHello(msg.data)),
    );
    await stranger.flush();
    await using real = await inProcessNode(nats.url, { name: "real", workers: 1, ...NODE });
    const hello = await bounded(heard.promise, "its hello");
    ear.stop();
    await bounded(recorder.waitForType("node-joined"), "the node");
    const forged = [
      encodeBye({ node: "real", session: hello.session, secret: randomToken() }),
      encodeBye({ node: "real", session: randomToken(), secret: randomToken() }),
    ];
    for (const bytes of forged) stranger.publish(byeSubject("real"), bytes);
    // Another run under its name, and its own run with another size.
    strangerHello(stranger, "real", 8);
    strangerHello(stranger, "real", 8, hello.session);
    // Its goodbye on another node's subject.
    stranger.publish(byeSubject("other"), forged[0]);
    await stranger.flush();
    await nc.flush();
    await using client = await quickClient(server.addr);
    assert.deepEqual(await bounded(client.request("3 60"), "the answer"), {
      kind: "value",
      text: "63",
    });
    const stats = server.stats();
    assert.equal(stats.fleet_malformed, 5);
    assert.equal(recorder.of("node-lost").length, 0);
    assert.equal(stats.fleet_batches_resent, 0);
    assert.deepEqual(server.laneNames(), ["real/worker 0"]);
    // Its own goodbye counts at once.
    await real.node.close();
    await bounded(recorder.waitForType("node-lost"), "its goodbye");
    assert.equal(recorder.of("node-lost")[0].reason, "the node stopped");
  },
});

Deno.test({
  name: 'fleet: a forged "no responders" costs a batch, not the node',
  ignore,
  async fn() {
    await using broker = await brokerWithStranger();
    const { nats, stranger, nc } = broker;
    await using _real = await inProcessNode(nats.url, { name: "real", workers: 1, ...NODE });
    await using server = startServer({ ...FLEET_WORK, remoteWorkers: fleetWorkers(nc) });
    const { recorder } = server;
    await bounded(recorder.waitForType("node-joined"), "the node");
    // What the broker says when nothing listens, said by a stranger who hears the batches.
    const forger = listen(stranger, runSubject("real", 0), (msg) => {
      if (forger.count() <= 2) msg.respond(Empty, { headers: headers(503, "No Responders") });
    });
    await stranger.flush();
    await using client = await quickClient(server.addr);
    assert.deepEqual(await bounded(client.request("5 40"), "the answer"), {
      kind: "value",
      text: "45",
    });
    forger.stop();
    assert.ok((server.stats().fleet_batches_resent ?? 0) >= 1, "the forged batch went again");
    assert.equal(recorder.of("node-lost").length, 0);
    assert.deepEqual(server.laneNames(), ["real/worker 0"]);
  },
});

Deno.test({
  name: "fleet: a node refuses batches past its work caps, and runs the rest",
  ignore,
  async fn() {
    await using nats = await NatsServer.start();
    await using capped = await inProcessNode(nats.url, {
      name: "capped",
      workers: 1,
      ...NODE,
      maxUnits: 10,
      maxIterationsPerUnit: 1_000_000,
    });
    const { node, log } = capped;
    const sender = await natsConnection(nats.url);
    try {
      await capped.conn.flush();
      const reply = Promise.withResolvers<void>();
      const inbox = sender.subscribe("test.replies", { callback: () => reply.resolve() });
      await sender.flush();
      const batches = [
        [2 ** 30, 1, 1e6], // 10^15 additions: the issue's pin
        [1_000_001, 2, 1], // more additions per unit than the node runs
        [1000, 3, 11], // more units than the node runs
        [1_000_000, ...Array.from({ length: 100 }, (_, i) => [4 + i, 10]).flat()], // 10^9 in all
        [1000, 200, 2],
      ];
      for (const numbers of batches) {
        sender.publish(runSubject("capped", 0), encodeBatch(new Float64Array(numbers)), {
          reply: "test.replies",
        });
      }
      await sender.flush();
      await bounded(reply.promise, "the reply to the last batch");
      inbox.unsubscribe();
      assert.equal(node.stats.batchesRefused, 4);
      assert.equal(node.stats.tasksRun, 1);
      assert.equal(log.length, 1, "one line for the burst");
      assert.match(
        log[0],
        /refused a batch .*raise this node's --max-units or --iterations-per-unit/,
      );
    } finally {
      await sender.close();
    }
  },
});

Deno.test({
  name:
    "fleet: a killed node's hello replayed by a stranger keeps it up only until its batches fail",
  ignore,
  async fn() {
    await using broker = await brokerWithStranger();
    const { nats, stranger, nc } = broker;
    let replay: ReturnType<typeof setInterval> | undefined;
    try {
      await using server = startServer({
        ...FLEET_WORK,
        workers: 1,
        remoteWorkers: fleetWorkers(nc, { nodeLostMs: 1000, minDeadlineMs: 200 }),
      });
      const { recorder } = server;
      // The stranger records the node's hello, as anyone on the broker can.
      const heard = Promise.withResolvers<Uint8Array>();
      const ear = listen(stranger, helloSubject("victim"), (msg) => heard.resolve(msg.data));
      await stranger.flush();
      const node = await startNode(nats.url, { name: "victim" });
      const hello = await bounded(heard.promise, "its hello");
      ear.stop();
      await bounded(recorder.waitForType("node-joined"), "the node");
      await node.kill(); // SIGKILL: no goodbye
      // Its hello again and again, far more often than the node-lost time: it never falls silent.
      replay = setInterval(() => stranger.publish(helloSubject("victim"), hello), 100);
      await using client = await quickClient(server.addr);
      assert.deepEqual(await bounded(client.request("0 50"), "the answer"), {
        kind: "value",
        text: "50",
      });
      await bounded(recorder.waitForType("node-lost"), "the node taken for gone");
      const [lost] = recorder.of("node-lost");
      assert.equal(lost.node, "victim");
      assert.match(lost.reason, /^every batch sent to it for \d+\.\d s failed$/);
      assert.ok((server.stats().fleet_batches_resent ?? 0) >= 1, "a batch went to it and failed");
    } finally {
      clearInterval(replay);
    }
  },
});
