import assert from "node:assert/strict";
import { type ClientIo, runClient } from "../lib/client/client_cli.ts";
import { RawClient, startServer } from "./_helpers.ts";
import { streamSource } from "../lib/wire/line_reader.ts";
import { DEFAULT_SERVER_OPTIONS } from "../lib/defaults/defaults.ts";

Deno.test("PROGRESS ON: progress lines arrive in rising order before the result", async () => {
  await using server = startServer({ progressIntervalMs: 0 });
  await using raw = await RawClient.connect(server);
  await raw.write("PROGRESS ON\n");
  assert.equal(await raw.readLine(), "OK progress on");
  await raw.write("5 200\n");
  const done: number[] = [];
  let line;
  while ((line = await raw.readLine())?.startsWith("PROGRESS ")) {
    const [, d, total] = line.split(" ");
    assert.equal(total, "200");
    done.push(Number(d));
  }
  assert.equal(line, "205");
  assert.ok(done.length > 1);
  for (let i = 1; i < done.length; i++) assert.ok(done[i] > done[i - 1], `not rising: ${done}`);
  assert.equal(done.at(-1), 200);
});

Deno.test("progress lines are rate-limited and sent only to clients that ask", async (t) => {
  await t.step("without PROGRESS ON: none", async () => {
    await using server = startServer({ progressIntervalMs: 0 });
    await using raw = await RawClient.connect(server);
    await raw.write("5 200\n");
    assert.equal(await raw.readLine(), "205");
  });
  await t.step("PROGRESS OFF turns them off again", async () => {
    await using server = startServer({ progressIntervalMs: 0 });
    await using raw = await RawClient.connect(server);
    await raw.write("progress on\nprogress off\n7 50\n");
    assert.equal(await raw.readLine(), "OK progress on");
    assert.equal(await raw.readLine(), "OK progress off");
    assert.equal(await raw.readLine(), "57");
  });
  await t.step("with the default interval, few lines for a quick request", async () => {
    await using server = startServer();
    await using raw = await RawClient.connect(server);
    const sentAt = performance.now();
    await raw.write("PROGRESS ON\n0 500\n");
    assert.equal(await raw.readLine(), "OK progress on");
    const lines: string[] = [];
    let line;
    while ((line = await raw.readLine())?.startsWith("PROGRESS ")) lines.push(line);
    const tookMs = performance.now() - sentAt;
    assert.equal(line, "500");
    // At most one line per interval while the request ran, plus the final one: however long it
    // took, far fewer than one per increment.
    const { progressIntervalMs } = DEFAULT_SERVER_OPTIONS;
    assert.ok(
      lines.length <= Math.floor(tookMs / progressIntervalMs) + 2,
      `${lines.length} progress lines in ${tookMs.toFixed(1)} ms`,
    );
    assert.equal(lines.at(-1), "PROGRESS 500 500");
  });
});

Deno.test("the client shows a progress display on a terminal, and nothing extra otherwise", async () => {
  await using server = startServer({ progressIntervalMs: 0 });
  const runWith = async (stdoutIsTerminal: boolean) => {
    const updates: number[] = [];
    let displays = 0;
    let out = "";
    const io: ClientIo = {
      stdin: { read: () => Promise.resolve(null) },
      stdinIsTerminal: false,
      stdoutIsTerminal,
      out: (text) => void (out += text),
      err: () => {},
      progress: (total) => {
        displays++;
        assert.equal(total, 300);
        return { update: (done) => void updates.push(done), stop: () => {} };
      },
    };
    const code = await runClient(["--port", String(server.addr.port), "1", "300"], io);
    return { code, out, updates, displays };
  };
  const terminal = await runWith(true);
  assert.deepEqual([terminal.code, terminal.out, terminal.displays], [0, "301\n", 1]);
  assert.ok(terminal.updates.length > 1);
  assert.equal(terminal.updates.at(-1), 300);
  const piped = await runWith(false);
  assert.deepEqual([piped.code, piped.out, piped.displays, piped.updates], [0, "301\n", 0, []]);
});

Deno.test("at the prompt, PROGRESS OFF means no bar, PROGRESS ON brings it back, and a bar needs progress lines", async () => {
  await using server = startServer({ progressIntervalMs: 0 });
  const input = "0 300\nprogress off\n0 300\nprogress on\n0 300\n0 5\nSTOP\n";
  const bytes = new TextEncoder().encode(input);
  /** Per request, in order: the updates of each display it drew. */
  const perRequest: number[][][] = [[]];
  let out = "";
  const io: ClientIo = {
    stdin: streamSource(ReadableStream.from([bytes])),
    stdinIsTerminal: true,
    stdoutIsTerminal: true,
    out: (text) => {
      out += text;
      if (text.startsWith("Result: ")) perRequest.push([]);
    },
    err: () => {},
    progress: (total) => {
      assert.equal(total, 300);
      const updates: number[] = [];
      perRequest.at(-1)!.push(updates);
      return { update: (done) => void updates.push(done), stop: () => {} };
    },
  };
  const code = await runClient(["--port", String(server.addr.port)], io);
  assert.equal(code, 0);
  assert.match(out, /Progress off: no progress bar\.\n/);
  assert.match(out, /Progress on: a request of 20 increments or more shows a bar\.\n/);
  // 0 300 (a bar), 0 300 after OFF (none), 0 300 after ON (a bar), 0 5 (too short: none).
  assert.deepEqual(perRequest.map((displays) => displays.length), [1, 0, 1, 0, 0]);
  for (const updates of perRequest.flat()) {
    // Drawn from the first progress line on, never from nothing, and run to the end.
    assert.ok(updates[0] > 0, `${updates}`);
    assert.equal(updates.at(-1), 300);
  }
});
