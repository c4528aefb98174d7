/**
 * Hostile clients, as a server is attacked in the wild: resets before the
 * accept, slots held with cheap lines, replies never read, hang-ups in the
 * waiting line, pipelines that end while reading is paused, and a process
 * that runs out of file descriptors.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { bounded, connect, RawClient, startServer } from "./_helpers.ts";
import { Child } from "./_child.ts";
import { LineReader, streamSource } from "../lib/wire/line_reader.ts";

/** Connects and resets at once (SO_LINGER 0), so the server may meet the reset in accept. */
function connectAndReset(port: number, payload?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => {
      if (payload) socket.write(payload);
      socket.resetAndDestroy();
    });
    socket.on("error", reject);
    socket.on("close", () => resolve());
  });
}

Deno.test("200 connections reset before the accept cost the next client nothing", async () => {
  await using server = startServer();
  const { port } = server.addr;
  await Promise.all(Array.from({ length: 200 }, () => connectAndReset(port)));
  // Each reset is met either in accept (retried at once) or by the session (closed).
  await using client = await connect(server);
  assert.deepEqual(await bounded(client.request("2 10"), "the next client"), {
    kind: "value",
    text: "12",
  });
  const accepted = server.recorder.of("accepted").length;
  assert.equal(server.stats().accept_errors + accepted, 201);
});

Deno.test("--idle-timeout counts only requests with work: empty lines, STATS and `0 0` do not keep a slot", async () => {
  await using server = startServer({ maxClients: 1, idleTimeoutMs: 50, silenceMs: 0 });
  await using holder = await RawClient.connect(server);
  await server.recorder.waitForType("served");
  await using next = await connect(server);
  await server.recorder.waitForType("waiting");
  // The holder keeps talking, cheaply, until it is told to go.
  let reply: string | null = "";
  let rounds = 0;
  while (rounds < 100_000) {
    rounds++;
    await holder.write("\nSTATS\n  \n0 0\n");
    reply = await holder.readLine();
    if (!reply?.startsWith("{")) break;
    reply = await holder.readLine();
    if (reply !== "0") break;
  }
  assert.match(reply ?? "", /^ERR idle-timeout no complete request for 0.05 s/);
  assert.deepEqual(await next.request("5 5"), { kind: "value", text: "10" });
});

Deno.test("a client that pipelines STATS and never reads loses its slot to a waiting client (write timeout)", async () => {
  await using server = startServer({ maxClients: 1, idleTimeoutMs: 100 });
  const hog = await RawClient.connect(server);
  await server.recorder.waitForType("served");
  // Far more replies than the socket buffers hold; the hog reads none of them.
  const flood = hog.write("STATS\n".repeat(400_000)).catch(() => {});
  await using next = await connect(server);
  assert.deepEqual(await bounded(next.request("1 1"), "the waiting client"), {
    kind: "value",
    text: "2",
  });
  const timeouts = server.recorder.of("client-error").filter((e) => e.code === "write-timeout");
  assert.equal(timeouts.length, 1);
  await hog[Symbol.asyncDispose]();
  await flood;
});

Deno.test("waiting clients that hang up leave the line at once", async () => {
  await using server = startServer({ maxClients: 1, maxWaiting: 5 });
  const { recorder } = server;
  await using served = await RawClient.connect(server);
  await recorder.waitForType("served");
  const leavers = await Promise.all(Array.from({ length: 5 }, () => RawClient.connect(server)));
  await recorder.waitForType("waiting", 5);
  // Some send a burst first (more than a line and a read, less than --read-ahead-bytes).
  for (const leaver of leavers.slice(0, 3)) await leaver.write("1 1\n".repeat(5000));
  for (const leaver of leavers) await leaver[Symbol.asyncDispose]();
  await bounded(
    recorder.waitFor((e) => e.type === "closed" && e.reason === "hung up while waiting", 5),
    "five hang-ups noticed",
  );
  assert.equal(server.stats().clients_waiting, 0);
  // The line has room again: a new client waits rather than being turned away.
  await using late = await RawClient.connect(server);
  await recorder.waitForType("waiting", 6);
  assert.equal(recorder.of("turned-away").length, 0);
  await served.write("STOP\n");
  await late.write("3 3\n");
  assert.equal(await late.readLine(), "6");
});

Deno.test("admission is decided at once: a refused client is never logged as waiting", async () => {
  await using server = startServer({ maxClients: 1, maxWaiting: 0 });
  const { recorder } = server;
  await using served = await RawClient.connect(server);
  const [a, b] = await Promise.all([RawClient.connect(server), RawClient.connect(server)]);
  assert.match((await a.readLine())!, /^ERR busy /);
  assert.match((await b.readLine())!, /^ERR busy /);
  await a[Symbol.asyncDispose]();
  await b[Symbol.asyncDispose]();
  assert.equal(recorder.of("waiting").length, 0);
  assert.equal(recorder.of("turned-away").length, 2);
  await served.write("1 1\n");
  assert.equal(await served.readLine(), "2");
});

Deno.test("every request ends exactly once, even when the client resets before its answer", async () => {
  await using server = startServer();
  const { recorder } = server;
  const { port } = server.addr;
  await Promise.all(Array.from({ length: 20 }, () => connectAndReset(port, "5 0\n")));
  await Promise.all(Array.from({ length: 20 }, () => connectAndReset(port, "5 50\n")));
  await recorder.waitForType("closed", recorder.of("accepted").length);
  // Wait for every session to close: 40 connections, some met in accept.
  const accepted = recorder.of("accepted").length;
  await recorder.waitForType("closed", accepted);
  const counting = recorder.of("counting").map((e) => e.request);
  const ended = [...recorder.of("result"), ...recorder.of("request-failed")].map((e) => e.request);
  assert.deepEqual(ended.toSorted(), counting.toSorted());
  assert.equal(new Set(ended).size, ended.length, "no request ends twice");
  assert.equal(server.stats().requests_in_flight, 0);
  assert.deepEqual(server.requestsInFlight(), []);
});

Deno.test("a client that pipelines a burst and closes is seen to go while its first request runs", async () => {
  await using server = startServer({ workers: 1, minUnits: 1, maxUnits: 1 });
  const { recorder } = server;
  const raw = await RawClient.connect(server);
  // 45 kB of requests: far more than a line and a read, less than --read-ahead-bytes.
  await raw.write("0 100000\n".repeat(5000));
  await recorder.waitForType("task-done");
  await raw[Symbol.asyncDispose]();
  await bounded(recorder.waitForType("closed"), "the hang-up noticed");
  const [failed] = recorder.of("request-failed");
  assert.equal(failed?.request, "R1");
  assert.equal(failed.reason, "client disconnected");
  assert.equal(recorder.of("result").length, 0);
  assert.equal(recorder.of("counting").length, 1, "no request after the first was started");
  assert.ok(server.stats().tasks_done < 100_000);
});

Deno.test("STATS reports the requests in flight, kept by the requests themselves", async () => {
  await using server = startServer({ workers: 1, minUnits: 1, maxUnits: 1 });
  await using busy = await connect(server);
  await using asker = await connect(server);
  const answer = busy.request("0 5000");
  await server.recorder.waitForType("task-done");
  const during = await asker.request("STATS");
  assert.equal(JSON.parse(during.kind === "value" ? during.text : "").requests_in_flight, 1);
  const [progress] = server.requestsInFlight();
  assert.equal(progress.request, "R1");
  assert.equal(progress.start, 0n);
  assert.equal(progress.increments, 5000);
  assert.ok(progress.done >= 1 && progress.value === BigInt(progress.done));
  assert.deepEqual(await answer, { kind: "value", text: "5000" });
  const after = await asker.request("STATS");
  assert.equal(JSON.parse(after.kind === "value" ? after.text : "").requests_in_flight, 0);
});

Deno.test("--max-request-seconds: work of hours is refused at once with the estimate; the server goes on", async () => {
  await using server = startServer({
    minUnits: 1,
    maxUnits: 10,
    iterationsPerUnit: 8_000_000,
    maxRequestMs: 600_000,
  });
  await using client = await connect(server);
  const reply = await client.request("0 1000000");
  assert.equal(reply.kind, "error");
  assert.match(
    reply.kind === "error" ? reply.line : "",
    /^ERR too-much-work 1000000 increments would keep every Worker busy for about [\d.]+ h; the limit is 10\.0 min a request \(--max-request-seconds\)/,
  );
  assert.equal(server.recorder.of("counting").length, 0);
  assert.deepEqual(await client.request("2 2"), { kind: "value", text: "4" });
});

Deno.test("--model per-increment: the estimate counts each increment's Worker start-up, so `0 1000000` is refused at once", async () => {
  // No work in the units at all: what is left is the Workers' start-up.
  await using server = startServer({ workerModel: "per-increment", iterationsPerUnit: 0 });
  await using client = await connect(server);
  const reply = await bounded(client.request("0 1000000"), "the answer to 0 1000000");
  assert.match(
    reply.kind === "error" ? reply.line : reply.kind,
    /^ERR too-much-work 1000000 increments would keep every Worker busy for about [\d.]+ h/,
  );
  assert.equal(server.recorder.of("counting").length, 0);
  assert.deepEqual(await client.request("2 2"), { kind: "value", text: "4" });
});

Deno.test("control characters from a client reach the log escaped", async () => {
  const { formatEvent } = await import("../lib/observe/event_log.ts");
  await using server = startServer();
  await using raw = await RawClient.connect(server);
  await raw.write("2 \u009b2J\u202eevil\u2028x\x1b[31m\n");
  assert.match((await raw.readLine())!, /^ERR bad-request /);
  const [error] = server.recorder.of("client-error");
  const line = formatEvent(error);
  assert.doesNotMatch(line, /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u);
  assert.match(line, /\\u009b2J\\u202eevil\\u2028x\\u001b\[31m/);
});

Deno.test("out of file descriptors: clients past the limit get ERR busy, none is left hanging", async () => {
  // A server process with a low descriptor limit, as `ulimit -n 200` leaves it.
  await using child = new Child("bash", {
    name: "server.ts under ulimit -n 200",
    args: [
      "-c",
      `ulimit -n 200 && exec "${Deno.execPath()}" run --allow-net=127.0.0.1 ` +
      "-q -P=worker server.ts " +
      '--open-file-limit "$(ulimit -n)" --port 0 --workers 1 --max-clients 400 ' +
      "--iterations-per-unit 0 --quiet",
    ],
  });
  const log = new LineReader(streamSource(child.process.stdout), { maxLineBytes: 1 << 16 });
  const stderr = new Response(child.process.stderr).text();
  const lines: string[] = [];
  const sockets: Deno.TcpConn[] = [];
  try {
    let port = 0;
    while (!port) {
      const event = await log.next();
      if (event.kind !== "line") throw new Error(`no listening line: ${lines.join("\n")}`);
      lines.push(event.text);
      port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(event.text)?.[1] ?? 0);
    }
    const notice = await log.next(); // said right after the listening line
    assert.match(
      notice.kind === "line" ? notice.text : notice.kind,
      /limit on open files is 200, below the about \d+ that --max-clients 400/,
    );
    // 300 clients at once: about 180 descriptors are left for them.
    // Connecting itself would hang if the server stopped draining its accept queue.
    await bounded(
      (async () => {
        for (let i = 0; i < 300; i++) {
          sockets.push(await Deno.connect({ hostname: "127.0.0.1", port }));
        }
      })(),
      "300 connections",
    );
    const replies = await bounded(
      Promise.all(sockets.map(async (socket) => {
        const reader = new LineReader(socket, { maxLineBytes: 1024 });
        await socket.write(new TextEncoder().encode("1 1\n")).catch(() => 0);
        const event = await reader.next();
        return event.kind === "line" ? event.text : event.kind;
      })),
      "a reply for every client",
    );
    const served = replies.filter((r) => r === "2").length;
    const busy = replies.filter((r) => /^ERR busy .*out of file descriptors/.test(r)).length;
    assert.ok(served > 0 && busy > 0, `served ${served}, busy ${busy}`);
    assert.equal(
      served + busy,
      300,
      replies.filter((r) => r !== "2" && !r.startsWith("ERR busy")).join(),
    );
  } finally {
    for (const socket of sockets) {
      try {
        socket.close();
      } catch { /* closed */ }
    }
    child.kill("SIGKILL");
    await child.status.catch(() => {});
    while ((await log.next()).kind === "line") { /* drain */ }
    await stderr;
  }
});

Deno.test("when the grace period ends, every session's count in hand is cancelled and answered", async () => {
  // Work that outlasts the grace period by far: a million increments a client.
  await using server = startServer({ graceMs: 50, maxRequestMs: 100_000_000 });
  const { recorder } = server;
  const clients = await Promise.all([connect(server), connect(server), connect(server)]);
  try {
    const answers = clients.map((client) => client.request("0 1000000"));
    await recorder.waitForType("counting", clients.length);
    const stopped = server.shutdown("test");
    for (const reply of await bounded(Promise.all(answers), "every client answered")) {
      assert.equal(reply.kind, "error");
      assert.equal(reply.kind === "error" && reply.code, "shutting-down");
    }
    await stopped;
    const failed = recorder.of("request-failed");
    assert.equal(failed.length, clients.length);
    for (const { reason } of failed) assert.equal(reason, "server shut down before it finished");
    assert.equal(recorder.of("result").length, 0);
  } finally {
    for (const client of clients) client.close();
  }
});
