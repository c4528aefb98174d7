import assert from "node:assert/strict";
import { serveDashboard } from "../lib/observe/dashboard/dashboard_server.ts";
import { RawClient, startServer } from "./_helpers.ts";
import { chromiumFound, launchChromium } from "./_browser.ts";

/** Posts a control, and reads the answer's status and text. */
async function post(
  url: string,
  body: unknown,
  headers: Record<string, string>,
  path = "/control/clients",
): Promise<[number, string]> {
  const response = await fetch(new URL(path, url), {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return [response.status, await response.text()];
}

Deno.test("dashboard control: POST /control/clients opens real clients with the token and the page's Origin, 403 otherwise", async () => {
  await using server = startServer({ workers: 2, maxClients: 10 });
  await using dashboard = serveDashboard(server, { port: 0 });
  const origin = `http://127.0.0.1:${dashboard.addr.port}`;
  assert.equal(new URL(dashboard.url).searchParams.get("token"), dashboard.token);
  assert.match(dashboard.token, /^[0-9a-f]{32}$/);
  const ask = { count: 3, request: "0 200" };
  const token = { "x-threadcount-token": dashboard.token };
  // Refused: no token, a wrong one, another site's Origin, or no Origin at all.
  for (
    const headers of <Record<string, string>[]> [
      { origin },
      { origin, "x-threadcount-token": "0".repeat(32) },
      { ...token, origin: "http://evil.example" },
      token,
    ]
  ) {
    const [status, text] = await post(dashboard.url, ask, headers);
    assert.equal(status, 403, JSON.stringify(headers));
    assert.match(text, /^forbidden: controls need the dashboard's token and its own page/);
  }
  assert.equal(server.recorder.of("accepted").length, 0, "a refused control opens nothing");
  // Bad bodies: a clear 400.
  for (
    const body of [
      { count: 0, request: "0 1" },
      { count: 3, request: "STATS" },
      { count: 1, request: "0 1", counter: "sloppy" },
      { count: 1, request: "0 1", counter: "racy 0 1" },
      "not json",
    ]
  ) {
    const [status, text] = await post(dashboard.url, body, { ...token, origin });
    assert.equal(status, 400, JSON.stringify(body));
    assert.match(text, /^bad request: /);
  }
  const [status, text] = await post(dashboard.url, ask, { ...token, origin });
  assert.deepEqual([status, JSON.parse(text)], [202, { opened: 3 }]);
  // Three real TCP clients, each counted 0 + 200.
  await server.recorder.waitForType("result", 3);
  assert.deepEqual(server.recorder.of("result").map((r) => r.value), [200n, 200n, 200n]);
  const conns = new Set(server.recorder.of("counting").map((c) => c.conn));
  assert.equal(conns.size, 3);
  assert.deepEqual(server.recorder.of("counting").map((c) => c.counter), [
    undefined,
    undefined,
    undefined,
  ]);
});

Deno.test("dashboard control: a counter model chosen for the opened clients reaches the server", async () => {
  await using server = startServer({ workers: 2, maxClients: 10 });
  await using dashboard = serveDashboard(server, { port: 0 });
  const headers = {
    "x-threadcount-token": dashboard.token,
    origin: `http://127.0.0.1:${dashboard.addr.port}`,
  };
  const [status] = await post(
    dashboard.url,
    { count: 2, request: "0 40", counter: "racy" },
    headers,
  );
  assert.equal(status, 202);
  await server.recorder.waitForType("result", 2);
  assert.deepEqual(server.recorder.of("counting").map((c) => c.counter), ["racy", "racy"]);
});

Deno.test("dashboard control: POST /control/stop stops exactly the client named, served or in line; 403 without the token or from another Origin", async () => {
  await using server = startServer({ workers: 2, maxClients: 2 });
  await using dashboard = serveDashboard(server, { port: 0 });
  const origin = `http://127.0.0.1:${dashboard.addr.port}`;
  const token = { "x-threadcount-token": dashboard.token };
  const stop = (conn: string, headers: Record<string, string> = { ...token, origin }) =>
    post(dashboard.url, { conn }, headers, "/control/stop");
  await using alice = await RawClient.connect(server);
  await alice.write("NAME alice\n");
  assert.equal(await alice.readLine(), "OK name alice");
  await using bob = await RawClient.connect(server);
  await bob.write("0 3\n");
  assert.equal(await bob.readLine(), "3");
  await using carol = await RawClient.connect(server);
  await server.recorder.waitForType("waiting");
  const carolPeer = server.recorder.of("waiting")[0].conn;
  for (const headers of [{ origin }, { ...token, origin: "http://evil.example" }, token]) {
    const [status, text] = await stop("alice", headers);
    assert.equal(status, 403, JSON.stringify(headers));
    assert.match(text, /^forbidden: controls need the dashboard's token and its own page/);
  }
  assert.equal(server.recorder.of("closed").length, 0, "a refused stop stops no one");
  assert.equal((await stop("nobody"))[0], 404);
  assert.equal((await post(dashboard.url, "{}", { ...token, origin }, "/control/stop"))[0], 400);
  // Carol, in line, stopped by her address: turned away.
  assert.equal((await stop(carolPeer))[0], 200);
  assert.match(String(await carol.readLine()), /^ERR stopped-by-teacher /);
  assert.equal(await carol.readLine(), null);
  assert.deepEqual(server.recorder.of("turned-away").map((t) => [t.conn, t.code]), [
    [carolPeer, "stopped-by-teacher"],
  ]);
  // Alice, served, by her name: told, and closed; bob serves on.
  assert.deepEqual((await stop("alice"))[0], 200);
  assert.match(String(await alice.readLine()), /^ERR stopped-by-teacher the teacher stopped/);
  assert.equal(await alice.readLine(), null);
  await server.recorder.waitForType("closed", 2);
  const alicePeer = server.recorder.of("named")[0].conn;
  assert.deepEqual(server.recorder.of("closed").map((c) => [c.conn, c.reason]), [
    [carolPeer, "stopped by the teacher from the dashboard"],
    [alicePeer, "stopped by the teacher from the dashboard"],
  ]);
  await bob.write("10 5\n");
  assert.equal(await bob.readLine(), "15");
  assert.equal(server.recorder.of("closed").length, 2);
  assert.equal((await stop("alice"))[0], 404, "gone already");
});

Deno.test("dashboard control: GET /trace.json?token= answers a Chrome trace of the last minute, 403 without the token", async () => {
  await using server = startServer({ workers: 2 });
  await using dashboard = serveDashboard(server, { port: 0 });
  const refused = await fetch(new URL("/trace.json", dashboard.url));
  assert.equal(refused.status, 403);
  assert.match(await refused.text(), /needs the dashboard's token/);
  const wrong = await fetch(new URL(`/trace.json?token=${"0".repeat(32)}`, dashboard.url));
  assert.equal(wrong.status, 403);
  await wrong.body?.cancel();
  const origin = `http://127.0.0.1:${dashboard.addr.port}`;
  await post(dashboard.url, { count: 2, request: "5 30" }, {
    "x-threadcount-token": dashboard.token,
    origin,
  });
  await server.recorder.waitForType("result", 2);
  const response = await fetch(new URL(`/trace.json?token=${dashboard.token}`, dashboard.url));
  assert.equal(response.status, 200);
  const trace: { ph: string; name: string; tid: number; args?: { request?: string } }[] =
    await response.json();
  const increments = trace.filter((e) => e.ph === "X");
  assert.equal(increments.length, 60, "every increment of the minute");
  assert.deepEqual(
    new Set(increments.map((e) => e.args?.request)),
    new Set(server.recorder.of("result").map((r) => r.request)),
  );
  assert.ok(trace.some((e) => e.ph === "M" && e.name === "thread_name"));
});

/** Two animation frames of the page, run in it as source (Deno's types have no DOM). */
const TWO_FRAMES =
  "new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))";
/** The first strip's slide, in % of the window, run in the page. */
const SHIFT = `Number(/translateX\\((-?[\\d.e+-]+)%\\)/.exec(
  document.querySelector(".strip").style.transform)[1])`;

Deno.test({
  name:
    "dashboard in Chromium: the page opens clients on the counter chosen, stops one, pauses and scrubs back",
  ignore: !chromiumFound,
  fn: async () => {
    await using server = startServer({ workers: 2, maxClients: 10 });
    await using dashboard = serveDashboard(server, { port: 0, intervalMs: 50 });
    await using browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(30_000);
    await using alice = await RawClient.connect(server);
    await alice.write("NAME alice\n");
    assert.equal(await alice.readLine(), "OK name alice");
    const aliceStop = page.locator('button[data-stop="alice"]');
    // Without the token the page only watches: no open, no stop.
    await page.goto(new URL("/", dashboard.url).href);
    await page.locator("#status.live").waitFor();
    assert.equal(await page.locator("#control-open").isDisabled(), true);
    await page.locator('.slots .box[data-conn="alice"]').waitFor();
    assert.equal(await aliceStop.isVisible(), false);
    await page.goto(dashboard.url);
    await page.locator("#status.live").waitFor();
    await page.locator("#control-count").fill("3");
    await page.locator("#control-request").fill("0 50");
    await page.locator("#control-counter").selectOption("locked");
    await page.locator("#control-open").click();
    await page.locator("#control-note", {
      hasText: "opened 3 clients sending 0 50 on a locked counter",
    }).waitFor();
    await server.recorder.waitForType("result", 3);
    assert.deepEqual(server.recorder.of("result").map((r) => r.value), [50n, 50n, 50n]);
    assert.deepEqual(server.recorder.of("counting").map((c) => c.counter), [
      "locked",
      "locked",
      "locked",
    ]);
    // Alice's "stop": she is told, and closed; the page says so.
    await aliceStop.click();
    await page.locator("#control-note", { hasText: 'stopped "alice"' }).waitFor();
    assert.match(String(await alice.readLine()), /^ERR stopped-by-teacher /);
    assert.equal(await alice.readLine(), null);
    // Paused, the picture stands still; scrubbed 5 s back, the lanes slide right by 5 s (250 %
    // of the 2 s window): what ended 5 s ago stands at "now".
    await page.locator("#pause").click();
    const paused = await page.evaluate(SHIFT);
    await page.evaluate(TWO_FRAMES);
    assert.equal(await page.evaluate(SHIFT), paused);
    await page.locator("#scrub").fill("5");
    await page.evaluate(TWO_FRAMES);
    assert.equal(Math.round(Number(await page.evaluate(SHIFT)) - Number(paused)), 250);
    assert.equal(await page.locator("#scrub-text").textContent(), "−5 s");
  },
});
