import assert from "node:assert/strict";
import { serveDashboard } from "../lib/observe/dashboard/dashboard_server.ts";
import { type ServerEventListener, ServerEvents } from "../lib/server/server_events.ts";
import { closeQuietly, writeAll } from "../lib/wire/write_all.ts";
import { idleStats, startServer } from "./_helpers.ts";

/**
 * Sends one raw HTTP/1.1 request; returns the status and the head, and the body when the
 * answer is not a 200 (a 200 on /events is a stream that does not end).
 */
async function rawRequest(port: number, head: string): Promise<{ status: number; text: string }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const reader = conn.readable.pipeThrough(new TextDecoderStream()).getReader();
  try {
    await writeAll(conn, `${head}\r\nConnection: close\r\n\r\n`);
    let text = "";
    while (!text.includes("\r\n\r\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    const match = /^HTTP\/1\.[01] (\d{3})/.exec(text);
    assert.ok(match, `not an HTTP answer: ${JSON.stringify(text.slice(0, 80))}`);
    const status = Number(match[1]);
    if (status !== 200) {
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
        text += chunk.value;
      }
    }
    return { status, text };
  } finally {
    await reader.cancel().catch(() => {});
    closeQuietly(conn);
  }
}

Deno.test("dashboard answers only for its own Host, only GET and HEAD, and never a 500", async (t) => {
  await using server = startServer();
  await using dashboard = serveDashboard(server, { port: 0 });
  const { port } = dashboard.addr;
  const errors: unknown[][] = [];
  const consoleError = console.error;
  console.error = (...args: unknown[]) => void errors.push(args);
  try {
    await t.step("Host names", async () => {
      const cases: [string, number][] = [
        [`127.0.0.1:${port}`, 200],
        [`localhost:${port}`, 200],
        [`LocalHost:${port}`, 200],
        [`[::1]:${port}`, 200],
        [`evil.example:${port}`, 421], // DNS rebinding: another site's name for 127.0.0.1
        [`127.0.0.1.nip.io:${port}`, 421],
        [`127.0.0.1:${port + 1}`, 421],
        ["127.0.0.1", 421], // no port means port 80
        ["a b", 400],
        ["[::1", 400],
        [`127.0.0.1:${port}/x`, 400],
        ["", 400],
      ];
      for (const [host, status] of cases) {
        for (const path of ["/", "/events"]) {
          const answer = await rawRequest(port, `GET ${path} HTTP/1.1\r\nHost: ${host}`);
          assert.equal(answer.status, status, `Host ${JSON.stringify(host)} on ${path}`);
          if (status !== 200) assert.doesNotMatch(answer.text, /data:|<html/);
        }
      }
      const missing = await rawRequest(port, "GET / HTTP/1.1");
      assert.equal(missing.status, 400);
    });
    await t.step("methods", async () => {
      for (const method of ["POST", "PUT", "DELETE", "OPTIONS", "PATCH"]) {
        const answer = await rawRequest(
          port,
          `${method} / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Length: 0`,
        );
        assert.equal(answer.status, 405, method);
        assert.match(answer.text, /^allow: GET, HEAD\r$/im);
      }
      const head = await rawRequest(port, `HEAD /events HTTP/1.1\r\nHost: 127.0.0.1:${port}`);
      assert.equal(head.status, 200);
      assert.match(head.text, /^content-type: text\/event-stream\r$/im);
      assert.doesNotMatch(head.text, /event: snapshot/);
    });
  } finally {
    console.error = consoleError;
  }
  assert.deepEqual(errors, [], "the dashboard logged an error");
});

Deno.test("dashboard on a taken port throws AddrInUse and leaves no subscription or timer", async () => {
  using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let subscribed = 0;
  class CountedEvents extends ServerEvents {
    override subscribe(listener: ServerEventListener, options?: { tasks?: () => boolean }) {
      const subscription = super.subscribe(listener, options);
      subscribed++;
      return { [Symbol.dispose]: () => void (subscribed--, subscription[Symbol.dispose]()) };
    }
  }
  const never = Promise.withResolvers<void>();
  const source = {
    events: new CountedEvents(),
    options: { workers: 2, maxClients: 3 },
    address: "127.0.0.1:1",
    finished: never.promise,
    stats: idleStats,
  };
  assert.throws(
    () => serveDashboard(source, { port: (taken.addr as Deno.NetAddr).port }),
    Deno.errors.AddrInUse,
  );
  // A timer left running would fail this test through the op sanitizer.
  assert.equal(subscribed, 0);

  // And when it does start, closing it ends its subscription too.
  const dashboard = serveDashboard(source, { port: 0 });
  assert.equal(subscribed, 1);
  await dashboard.close();
  assert.equal(subscribed, 0);
});

Deno.test("serveDashboard() rejects an interval that is not a positive number", async () => {
  await using server = startServer();
  for (const intervalMs of [0, -1, NaN, Infinity]) {
    assert.throws(() => serveDashboard(server, { port: 0, intervalMs }), RangeError);
  }
});

Deno.test("dashboard serves its live stream only to its own origin, and tools that name none", async () => {
  await using server = startServer();
  await using dashboard = serveDashboard(server, { port: 0 });
  const { port } = dashboard.addr;
  const own = `http://127.0.0.1:${port}`;
  const cases: [string, number][] = [
    ["", 200], // curl and other tools: no Origin, no Sec-Fetch-Site
    [`Origin: ${own}`, 200],
    [`Origin: ${own}\r\nSec-Fetch-Site: same-origin`, 200],
    ["Sec-Fetch-Site: none", 200], // typed into the address bar
    ["Origin: http://evil.example", 403], // another site's EventSource or fetch
    [`Origin: http://localhost:${port}`, 403], // another origin, though the same machine
    ["Origin: null", 403], // a sandboxed frame or a file
    ["Sec-Fetch-Site: cross-site", 403], // a no-cors fetch from another site names no Origin
    ["Sec-Fetch-Site: same-site", 403],
  ];
  for (const [headers, status] of cases) {
    const extra = headers ? `\r\n${headers}` : "";
    const answer = await rawRequest(
      port,
      `GET /events HTTP/1.1\r\nHost: 127.0.0.1:${port}${extra}`,
    );
    assert.equal(answer.status, status, JSON.stringify(headers));
    if (status === 403) {
      assert.match(answer.text, /forbidden: the live stream is for the dashboard's own page/);
    }
  }
  // The page itself may be linked from anywhere: it shows nothing until its own script connects.
  const page = await rawRequest(
    port,
    `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nOrigin: http://evil.example\r\nSec-Fetch-Site: cross-site`,
  );
  assert.equal(page.status, 200);
  const icon = await rawRequest(port, `GET /favicon.ico HTTP/1.1\r\nHost: 127.0.0.1:${port}`);
  assert.equal(icon.status, 204);
});

Deno.test("dashboard answers 503 past maxPages open pages, and serves the others on", async () => {
  await using server = startServer();
  await using dashboard = serveDashboard(server, { port: 0, maxPages: 2 });
  const streams = [];
  try {
    for (let i = 0; i < 2; i++) {
      const response = await fetch(new URL("/events", dashboard.url));
      assert.equal(response.status, 200);
      streams.push(response.body!.pipeThrough(new TextDecoderStream()).getReader());
    }
    const refused = await fetch(new URL("/events", dashboard.url));
    assert.equal(refused.status, 503);
    assert.equal(
      await refused.text(),
      "too many dashboard pages open (2): close one, then reload this one\n",
    );
    for (const reader of streams) {
      let text = "";
      while (!text.includes("event: update")) text += (await reader.read()).value;
      assert.match(text, /^event: snapshot\ndata: /);
    }
  } finally {
    for (const reader of streams) await reader.cancel();
  }
});

Deno.test("dashboard builds one snapshot per update interval, however many pages open in it", async () => {
  let snapshots = 0;
  const never = Promise.withResolvers<void>();
  const source = {
    events: new ServerEvents(),
    options: { workers: 2, maxClients: 3 },
    address: "127.0.0.1:1",
    finished: never.promise,
    // Each snapshot reads the server's figures once; no update is due within the test.
    stats: () => (snapshots++, idleStats()),
  };
  await using dashboard = serveDashboard(source, { port: 0, intervalMs: 3_600_000 });
  const readers = [];
  try {
    for (let i = 0; i < 5; i++) {
      const response = await fetch(new URL("/events", dashboard.url));
      const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
      readers.push(reader);
      let text = "";
      while (!text.endsWith("\n\n")) text += (await reader.read()).value;
      assert.match(text, /^event: snapshot\ndata: \{"now":/);
    }
    assert.equal(snapshots, 1);
  } finally {
    for (const reader of readers) await reader.cancel();
  }
});
