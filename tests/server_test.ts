import assert from "node:assert/strict";
import { uniformInt } from "pure-rand/distribution/uniformInt";
import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus";
import { connect, RawClient, startServer, TINY_WORK } from "./_helpers.ts";
import { ThreadcountServer } from "../lib/server/threadcount_server.ts";

Deno.test("server answers 20 concurrent clients, several requests each, every answer exact", async () => {
  await using server = startServer({ maxClients: 20 });
  const rng = xoroshiro128plus(42);
  const plans = Array.from({ length: 20 }, () =>
    Array.from({ length: 4 }, () => ({
      start: BigInt(uniformInt(rng, -1_000_000, 1_000_000)),
      increments: uniformInt(rng, 0, 40),
    })));
  const answers = await Promise.all(plans.map(async (plan) => {
    await using client = await connect(server);
    const got: string[] = [];
    for (const { start, increments } of plan) {
      const reply = await client.request(`${start} ${increments}`);
      got.push(reply.kind === "value" ? reply.text : reply.line);
    }
    return got;
  }));
  assert.deepEqual(
    answers,
    plans.map((plan) => plan.map(({ start, increments }) => String(start + BigInt(increments)))),
  );
  const counted = server.recorder.of("task-done").length;
  const expected = plans.flat().reduce((sum, p) => sum + p.increments, 0);
  assert.equal(counted, expected, "one task per increment");
});

Deno.test("with --max-clients 3, 8 clients: never more than 3 served at once, all 8 answered", async () => {
  await using server = startServer({ maxClients: 3 });
  const { recorder } = server;
  // Connect all 8 first: 3 get slots, 5 wait in line, unread.
  const clients = await Promise.all(Array.from({ length: 8 }, () => connect(server)));
  await recorder.waitForType("waiting", 5);
  const answers = await Promise.all(clients.map(async (client, i) => {
    try {
      const reply = await client.request(`${i * 100} 25`);
      return reply.kind === "value" ? reply.text : reply.line;
    } finally {
      await client[Symbol.asyncDispose]();
    }
  }));
  assert.deepEqual(answers, clients.map((_, i) => String(i * 100 + 25)));
  // Replay the served/closed events: the number of clients holding a slot never passes 3.
  const served = new Set<string>();
  let most = 0;
  for (const event of recorder.events) {
    if (event.type === "served") served.add(event.conn);
    if (event.type === "closed") served.delete(event.conn);
    most = Math.max(most, served.size);
  }
  assert.equal(most, 3);
  assert.equal(recorder.of("served").length, 8);
  assert.equal(recorder.of("waiting").length, 5);
  // First in, first out: clients got their slots in the order they started waiting.
  const waitOrder = recorder.of("waiting").map((e) => e.conn);
  const servedOrder = recorder.of("served").map((e) => e.conn).filter((c) => waitOrder.includes(c));
  assert.deepEqual(servedOrder, waitOrder);
});

Deno.test("classic framing: a request with no newline is answered, and two quick pieces are one request", async (t) => {
  // A longer silence than the default 40 ms, so a loaded machine cannot split the two pieces.
  await using server = startServer({ silenceMs: 300 });
  await using raw = await RawClient.connect(server);
  await t.step("no newline, as the original client sends it", async () => {
    await raw.write("2 10");
    assert.equal(await raw.readLine(), "12");
  });
  await t.step("two pieces in quick succession", async () => {
    await raw.write("2 1");
    await raw.write("0");
    assert.equal(await raw.readLine(), "12");
    await raw.write("STOP");
    assert.equal(await raw.readLine(), "BYE"); // nothing came between: it was one request
  });
});

Deno.test("bad input is answered with ERR and the connection keeps serving", async (t) => {
  await using server = startServer({ maxIncrements: 1000 });
  await using raw = await RawClient.connect(server);
  const table: [string, RegExp][] = [
    ["hello\n", /^ERR bad-request expected "<start> <increments>".*got "hello"$/],
    ["2\n", /^ERR bad-request .*got "2"$/],
    ["1 2 3\n", /^ERR bad-request .*got "1 2 3"$/],
    ["2 -5\n", /^ERR bad-request <increments> must be 0 or more/],
    ["2 1001\n", /^ERR too-many-increments <increments> may be at most 1000/],
    ["2 x\n", /^ERR bad-request .*got "2 x"$/],
  ];
  for (const [line, expected] of table) {
    await t.step(JSON.stringify(line), async () => {
      await raw.write(line);
      assert.match((await raw.readLine())!, expected);
      await raw.write("1 1\n");
      assert.equal(await raw.readLine(), "2");
    });
  }
  await t.step("bytes that are not UTF-8", async () => {
    await raw.writeBytes(new Uint8Array([0x32, 0x20, 0xff, 0xfe, 0x0a]));
    assert.match((await raw.readLine())!, /^ERR bad-encoding /);
    await raw.write("1 1\n");
    assert.equal(await raw.readLine(), "2");
  });
  await t.step("empty lines get no reply", async () => {
    await raw.write("\n\r\n  \n5 5\n");
    assert.equal(await raw.readLine(), "10");
  });
});

Deno.test("a line over the limit is answered ERR line-too-long and the connection closed", async () => {
  await using server = startServer({ maxLineBytes: 64 });
  await using raw = await RawClient.connect(server);
  await raw.write(`${"1".repeat(100)} 1\n`);
  assert.match((await raw.readLine())!, /^ERR line-too-long .*at most 64 bytes/);
  assert.equal(await raw.readLine(), null);
  // The server still serves others.
  await using other = await connect(server);
  assert.deepEqual(await other.request("1 1"), { kind: "value", text: "2" });
});

Deno.test("STOP (any case) is answered BYE and closed; end of input closes too", async (t) => {
  await using server = startServer();
  for (const stop of ["STOP", "stop", "Stop"]) {
    await t.step(stop, async () => {
      await using raw = await RawClient.connect(server);
      await raw.write(`${stop}\n`);
      assert.equal(await raw.readLine(), "BYE");
      assert.equal(await raw.readLine(), null);
    });
  }
  await t.step("end of input", async () => {
    await using raw = await RawClient.connect(server);
    await raw.write("3 3\n");
    assert.equal(await raw.readLine(), "6");
    await raw.conn.closeWrite();
    assert.equal(await raw.readLine(), null);
    await server.recorder.waitFor((e) => e.type === "closed" && e.reason === "end of input");
  });
});

Deno.test("requests on one connection are answered in order: 50 pipelined in one write", async () => {
  await using server = startServer();
  await using raw = await RawClient.connect(server);
  const requests = Array.from({ length: 50 }, (_, i) => `${i * 1000} ${i % 7}`);
  await raw.write(requests.map((r) => `${r}\r\n`).join(""));
  for (let i = 0; i < 50; i++) assert.equal(await raw.readLine(), String(i * 1000 + (i % 7)));
});

Deno.test("exact at the edges: 200-digit and negative starts, 0 increments", async () => {
  await using server = startServer();
  await using client = await connect(server);
  const big = "9".repeat(200);
  const cases: [string, string][] = [
    [`${big} 5`, (BigInt(big) + 5n).toString()],
    [`-${big} 3`, (-BigInt(big) + 3n).toString()],
    ["-5 3", "-2"],
    ["-1 1", "0"],
    ["42 0", "42"],
  ];
  for (const [request, expected] of cases) {
    assert.deepEqual(await client.request(request), { kind: "value", text: expected });
  }
});

Deno.test("the log's events name the connection, the task and the worker, in causal order", async () => {
  await using server = startServer();
  await using client = await connect(server);
  await client.request("2 10");
  const types = server.recorder.events.map((e) => e.type);
  for (const type of ["accepted", "served", "counting", "task-queued", "task-done", "result"]) {
    assert.ok(types.includes(type as never), `no ${type} event`);
  }
  assert.ok(types.indexOf("counting") < types.indexOf("task-queued"));
  assert.ok(types.lastIndexOf("task-done") < types.indexOf("result"));
  const done = server.recorder.of("task-done");
  assert.equal(done.length, 10);
  assert.deepEqual(done.map((e) => e.value), Array.from({ length: 10 }, (_, i) => BigInt(i + 3)));
  assert.ok(done.every((e) => /^R\d+#\d+$/.test(e.task) && e.worker >= 0 && e.worker < 2));
});

Deno.test("STATS answers one line of JSON with the server's load", async () => {
  await using server = startServer();
  await using client = await connect(server);
  await client.request("1 5");
  const reply = await client.request("STATS");
  assert.equal(reply.kind, "value");
  const stats = JSON.parse(reply.kind === "value" ? reply.text : "");
  assert.equal(stats.clients_active, 1);
  assert.equal(stats.clients_waiting, 0);
  assert.equal(stats.workers, 2);
  assert.equal(stats.tasks_done, 5);
  assert.equal(stats.tasks_queued, 0);
  assert.equal(typeof stats.uptime_s, "number");
});

Deno.test("the same seed draws the same work units, run after run", async () => {
  const unitsOf = async () => {
    await using server = startServer({ seed: 99, workers: 1 });
    await using client = await connect(server);
    await client.request("0 20");
    return server.recorder.of("task-queued").map((e) => e.units);
  };
  const first = await unitsOf();
  assert.deepEqual(await unitsOf(), first);
  assert.ok(new Set(first).size > 1, "units vary");
});

Deno.test("the server itself asks for no task events: with only listeners that decline them, none are built", async () => {
  await using server = new ThreadcountServer({ ...TINY_WORK });
  assert.equal(server.events.wantsTaskEvents(), false);
  const seen: string[] = [];
  using _sub = server.events.subscribe((e) => seen.push(e.type), { tasks: () => false });
  await using client = await connect(server);
  assert.deepEqual(await client.request("0 50"), { kind: "value", text: "50" });
  assert.ok(seen.includes("result"));
  assert.ok(!seen.includes("task-queued") && !seen.includes("task-done"), seen.join());
  assert.equal(server.stats().tasks_done, 50);
});

Deno.test("a client the teacher stops mid-count: told ERR stopped-by-teacher, its count logged as stopped, not a hang-up", async () => {
  // Increments of about a second: the count is still running when the stop comes.
  await using server = startServer({
    workers: 1,
    minUnits: 10,
    maxUnits: 10,
    iterationsPerUnit: 100_000_000,
  });
  await using client = await RawClient.connect(server);
  await client.write("0 3\n");
  await server.recorder.waitForType("counting");
  assert.equal(server.stopClient(server.recorder.of("counting")[0].conn), true);
  assert.match(String(await client.readLine()), /^ERR stopped-by-teacher /);
  assert.equal(await client.readLine(), null);
  await server.recorder.waitForType("request-failed");
  await server.recorder.waitForType("closed");
  const reason = "stopped by the teacher from the dashboard";
  assert.deepEqual(server.recorder.of("request-failed").map((f) => f.reason), [reason]);
  assert.deepEqual(server.recorder.of("closed").map((c) => c.reason), [reason]);
});
