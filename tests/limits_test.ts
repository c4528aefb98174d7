import assert from "node:assert/strict";
import { connect, RawClient, startServer } from "./_helpers.ts";

Deno.test("--max-waiting: one client more than may wait gets ERR busy and is closed at once", async () => {
  await using server = startServer({ maxClients: 1, maxWaiting: 2 });
  const { recorder } = server;
  await using served = await RawClient.connect(server);
  await recorder.waitForType("served");
  await using waiting1 = await RawClient.connect(server);
  await using waiting2 = await RawClient.connect(server);
  await recorder.waitForType("waiting", 2);
  await using turnedAway = await RawClient.connect(server);
  assert.match((await turnedAway.readLine())!, /^ERR busy the server is at capacity \(2 clients/);
  assert.equal(await turnedAway.readLine(), null);
  // The others are still in line and are served in turn.
  await served.write("STOP\n");
  assert.equal(await served.readLine(), "BYE");
  await waiting1.write("1 1\n");
  assert.equal(await waiting1.readLine(), "2");
  await waiting1.write("STOP\n");
  assert.equal(await waiting1.readLine(), "BYE");
  await waiting2.write("2 2\n");
  assert.equal(await waiting2.readLine(), "4");
});

Deno.test("--idle-timeout: a silent client holding a slot while others wait is closed", async (t) => {
  await t.step("a client that says nothing", async () => {
    await using server = startServer({ maxClients: 1, idleTimeoutMs: 50 });
    await using idle = await RawClient.connect(server);
    await server.recorder.waitForType("served");
    await using next = await connect(server);
    assert.match((await idle.readLine())!, /^ERR idle-timeout no complete request for 0.05 s/);
    assert.equal(await idle.readLine(), null);
    assert.deepEqual(await next.request("5 5"), { kind: "value", text: "10" });
  });
  await t.step("a half-sent line counts as idle", async () => {
    // Classic framing off, so the half line stays half.
    await using server = startServer({ maxClients: 1, idleTimeoutMs: 50, silenceMs: 0 });
    await using idle = await RawClient.connect(server);
    await idle.write("2 1");
    await server.recorder.waitForType("served");
    await using next = await connect(server);
    assert.match((await idle.readLine())!, /^ERR idle-timeout/);
    assert.deepEqual(await next.request("5 5"), { kind: "value", text: "10" });
  });
  await t.step("no one waiting: an idle client keeps its slot", async () => {
    // A 1 ms timeout fires many times while the other client works.
    await using server = startServer({ maxClients: 2, idleTimeoutMs: 1 });
    await using idle = await RawClient.connect(server);
    await server.recorder.waitForType("served");
    // Another client comes and goes (it never had to wait) while the first idles.
    for (let i = 0; i < 10; i++) {
      await using other = await connect(server);
      await other.request("0 30");
    }
    await idle.write("1 1\n");
    assert.equal(await idle.readLine(), "2");
    assert.equal(server.recorder.of("client-error").length, 0);
  });
});

Deno.test("a multi-megabyte line with no newline: ERR line-too-long, closed, and others still served", async () => {
  await using server = startServer();
  const raw = await RawClient.connect(server);
  const huge = new Uint8Array(4 * 1024 * 1024).fill(0x31);
  // The server stops reading and closes long before all of it is sent: the write may fail.
  const sending = raw.writeBytes(huge).catch(() => {});
  const reply = await raw.readLine().catch((e) => `read failed: ${e}`);
  assert.match(String(reply), /^ERR line-too-long a request line may be at most 4096 bytes/);
  await sending;
  await raw[Symbol.asyncDispose]();
  await server.recorder.waitFor((e) => e.type === "closed" && e.reason === "line too long");
  await using other = await connect(server);
  assert.deepEqual(await other.request("1 1"), { kind: "value", text: "2" });
});

Deno.test("hundreds of clients that send half a line and stall do not hold up another client", async () => {
  await using server = startServer({ maxClients: 400, silenceMs: 0 });
  const stalled = await Promise.all(Array.from({ length: 300 }, () => RawClient.connect(server)));
  try {
    await Promise.all(stalled.map((c, i) => c.write(`${i} 1`))); // no newline, never finished
    await server.recorder.waitForType("served", 300);
    await using client = await connect(server);
    for (let i = 0; i < 5; i++) {
      assert.deepEqual(await client.request(`${i} 20`), { kind: "value", text: String(i + 20) });
    }
    // None of the stalled clients was answered or dropped meanwhile.
    assert.equal(server.recorder.of("counting").length, 5);
    assert.equal(server.recorder.of("closed").length, 0);
  } finally {
    for (const c of stalled) await c[Symbol.asyncDispose]();
  }
});
