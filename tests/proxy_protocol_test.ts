/**
 * The PROXY protocol at the server (--proxy-protocol-from), and deploy/haproxy.cfg run with the
 * real HAProxy in front of two servers (skipped where HAProxy is not installed).
 */
import assert from "node:assert/strict";
import { bounded, RawClient, startServer } from "./_helpers.ts";
import { HAPROXY, HaproxyProcess } from "./_nats.ts";
import { V2_SIGNATURE } from "../lib/wire/proxy_header.ts";

Deno.test("--proxy-protocol-from: the client's address comes from a trusted balancer's header", async () => {
  await using server = startServer({ proxyProtocolFrom: ["127.0.0.1"] });
  const { recorder } = server;
  await using client = await RawClient.connect(server);
  await client.write("PROXY TCP4 192.0.2.7 192.0.2.1 40000 50073\r\n2 10\n");
  assert.equal(await client.readLine(), "12");
  const [accepted] = recorder.of("accepted");
  assert.equal(accepted.conn, "192.0.2.7:40000");
  assert.ok(recorder.of("counting").every((e) => e.conn === "192.0.2.7:40000"));
});

Deno.test("--proxy-protocol-from: a malformed header gets ERR bad-proxy-header and is closed; the server goes on", async () => {
  await using server = startServer({ proxyProtocolFrom: ["127.0.0.1"] });
  for (
    const hostile of [
      "2 10\n",
      "PROXY TCP4 evil.example 192.0.2.1 1 2\r\n",
      "PROXY " + "9".repeat(200),
    ]
  ) {
    await using client = await RawClient.connect(server);
    await client.write(hostile);
    assert.match((await client.readLine())!, /^ERR bad-proxy-header .*--proxy-protocol-from/);
    assert.equal(await client.readLine(), null);
  }
  assert.equal(server.recorder.of("accepted").length, 0, "none was admitted");
  assert.equal(server.recorder.of("turned-away").length, 3);
  // A balancer's health check: connects and closes, having sent nothing. Nothing to tell.
  const check = await RawClient.connect(server);
  await check[Symbol.asyncDispose]();
  await using client = await RawClient.connect(server);
  await client.write("PROXY TCP4 192.0.2.7 192.0.2.1 40000 50073\r\n1 1\n");
  assert.equal(await client.readLine(), "2");
  assert.equal(server.recorder.of("turned-away").length, 3, "the health check was not refused");
});

Deno.test("--proxy-protocol-from: a balancer's health check (a v2 LOCAL header) is closed at once, unlogged", async () => {
  await using server = startServer({ proxyProtocolFrom: ["127.0.0.1"] });
  await using check = await RawClient.connect(server);
  // Version 2, LOCAL; no address family; no address bytes.
  const local = [...V2_SIGNATURE, 0x20, 0, 0, 0];
  await check.writeBytes(new Uint8Array(local));
  assert.equal(await bounded(check.readLine(), "the close"), null);
  assert.deepEqual(server.recorder.events, [], "no event at all");
});

Deno.test("--proxy-protocol-from: a header from an address not named there is not believed", async () => {
  await using server = startServer({ proxyProtocolFrom: ["::1"] });
  await using client = await RawClient.connect(server);
  await client.write("PROXY TCP4 192.0.2.7 192.0.2.1 40000 50073\r\n");
  assert.match((await client.readLine())!, /^ERR bad-request /);
  const [accepted] = server.recorder.of("accepted");
  assert.match(accepted.conn, /^127\.0\.0\.1:\d+$/);
});

Deno.test("--max-clients-per-address counts the address a trusted balancer names", async () => {
  await using server = startServer({ proxyProtocolFrom: ["127.0.0.1"], maxClientsPerAddress: 1 });
  const header = (host: string, port: number) => `PROXY TCP4 ${host} 192.0.2.1 ${port} 50073\r\n`;
  await using first = await RawClient.connect(server);
  await first.write(`${header("192.0.2.7", 40000)}1 1\n`);
  assert.equal(await first.readLine(), "2");
  await using second = await RawClient.connect(server);
  await second.write(header("192.0.2.7", 40001));
  assert.match(
    (await bounded(second.readLine(), "the second's reply"))!,
    /^ERR busy 1 connections from 192\.0\.2\.7/,
  );
  await using other = await RawClient.connect(server);
  await other.write(`${header("192.0.2.8", 40000)}2 2\n`);
  assert.equal(await bounded(other.readLine(), "the other's reply"), "4");
});

Deno.test({
  name:
    "deploy/haproxy.cfg with the real HAProxy: servers see the client's address, and a dead server's clients go to the other",
  ignore: !HAPROXY, // said once by ./_nats.ts where haproxy is not installed
  async fn() {
    await using a = startServer({ proxyProtocolFrom: ["127.0.0.1"] });
    await using b = startServer({ proxyProtocolFrom: ["127.0.0.1"] });
    await using proxy = await HaproxyProcess.start([a.address, b.address]);
    const ask = async (request: string) => {
      using conn = await Deno.connect({ hostname: "127.0.0.1", port: proxy.port });
      const client = (conn.localAddr as Deno.NetAddr).port;
      await conn.write(new TextEncoder().encode(`${request}\n`));
      const reply = new Uint8Array(64);
      const length = await bounded(conn.read(reply), "an answer through HAProxy");
      const text = length === null ? "closed" : new TextDecoder().decode(reply.subarray(0, length));
      return { client, text };
    };
    const first = await ask("2 10");
    assert.equal(first.text, "12\n");
    // One server dies; every later client is answered by the other, at once.
    await a.shutdown("test");
    const clients = [first.client];
    for (let i = 0; i < 4; i++) {
      const later = await ask("1 1");
      assert.equal(later.text, "2\n");
      clients.push(later.client);
    }
    // The servers saw the clients' own addresses (and perhaps HaproxyProcess's probe of its
    // port, a client too), not HAProxy's: its health checks, every 500 ms, are no clients.
    const seen = [...a.recorder.of("accepted"), ...b.recorder.of("accepted")].map((e) => e.conn);
    for (const port of clients) assert.ok(seen.includes(`127.0.0.1:${port}`), `${seen}`);
    assert.ok(seen.length <= clients.length + 1, `${seen}`);
  },
});
