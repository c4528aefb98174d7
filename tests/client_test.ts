import assert from "node:assert/strict";
import { type ClientIo, EXIT, runClient } from "../lib/client/client_cli.ts";
import { type ByteSource, streamSource } from "../lib/wire/line_reader.ts";
import { closeQuietly, writeAll } from "../lib/wire/write_all.ts";
import { bounded, connect, startServer } from "./_helpers.ts";
import { programStderr, runChild } from "./_child.ts";

const PROMPT = "Please enter a number, space, then number of increments to be done by the server: ";

/** Runs the client in memory: `stdin` is the given text, output is collected. */
async function run(args: string[], stdin = "", stdinIsTerminal = false) {
  const bytes = new TextEncoder().encode(stdin);
  const source: ByteSource = streamSource(ReadableStream.from([bytes]));
  let out = "";
  let err = "";
  const io: ClientIo = {
    stdin: source,
    stdinIsTerminal,
    stdoutIsTerminal: false,
    out: (text) => void (out += text),
    err: (text) => void (err += text),
  };
  const code = await runClient(args, io);
  return { code, out, err };
}

/** A port nothing listens on. */
function closedPort(): string {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = String(listener.addr.port);
  listener.close();
  return port;
}

/**
 * A TCP service that is not threadcount: it answers each connection's first
 * line with `answer` (if any) and closes.
 */
function otherService(answer?: string) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const served = (async () => {
    for await (const conn of listener) {
      const buffer = new Uint8Array(1024);
      await conn.read(buffer).catch(() => null);
      if (answer !== undefined) await writeAll(conn, answer).catch(() => {});
      closeQuietly(conn);
    }
  })();
  return {
    port: String(listener.addr.port),
    async [Symbol.asyncDispose]() {
      listener.close();
      await served;
    },
  };
}

/**
 * Runs `deno task client` as a process, with the task's own permissions from
 * deno.json. With `terminal`, standard input and output are a pseudo-terminal
 * (util-linux `script`), as when a student types at the prompt.
 */
async function task(args: string[], options: { stdin?: string; terminal?: boolean } = {}) {
  const argv = [Deno.execPath(), "task", "-q", "client", ...args];
  const { code, stdout, stderr } = options.terminal
    ? await runChild("script", {
      // No echo: what is typed never interleaves with what the client prints.
      args: ["-qec", `stty -echo; ${argv.map((a) => `'${a}'`).join(" ")}`, "/dev/null"],
      name: `deno task client ${args.join(" ")} at a terminal`,
      input: options.stdin,
    })
    : await runChild(argv[0], {
      args: argv.slice(1),
      name: `deno task client ${args.join(" ")}`,
      input: options.stdin,
    });
  const text = (printed: string) => printed.replaceAll("\r\n", "\n");
  return { code, out: text(stdout), err: text(programStderr(stderr)) };
}

/** The one line a failure prints: no stack trace, no uncaught error. */
function assertOneLine(err: string, pattern: RegExp) {
  assert.doesNotMatch(err, /Uncaught|^\s+at /m, err);
  const lines = err.split("\n").filter((line) => line.startsWith("threadcount client:"));
  assert.equal(lines.length, 1, err);
  assert.match(lines[0], pattern);
}

Deno.test("client one-shot: `client 2 10` prints 12 and exits 0", async () => {
  await using server = startServer();
  const port = String(server.addr.port);
  assert.deepEqual(await run(["--port", port, "2", "10"]), { code: EXIT.ok, out: "12\n", err: "" });
  assert.deepEqual(await run(["--port", port, "-5", "3"]), { code: EXIT.ok, out: "-2\n", err: "" });
});

Deno.test("client one-shot STATS prints the server's load as JSON", async () => {
  await using server = startServer();
  const { code, out } = await run(["--port", String(server.addr.port), "stats"]);
  assert.equal(code, EXIT.ok);
  assert.equal(JSON.parse(out).workers, 2);
});

Deno.test("client piped: one request per line in, one result per line out", async () => {
  await using server = startServer();
  const result = await run(["--port", String(server.addr.port)], "2 10\n\n5 5\r\n-1 1\nstats\n");
  assert.equal(result.code, EXIT.ok);
  assert.equal(result.err, "");
  const lines = result.out.split("\n");
  assert.deepEqual(lines.slice(0, 3), ["12", "10", "0"]);
  assert.equal(JSON.parse(lines[3]).workers, 2, "piped STATS stays one line of JSON");
});

Deno.test("client: after COUNTER, answers that say how many updates were lost are answers", async () => {
  await using server = startServer({ workers: 1 });
  const piped = await run(["--port", String(server.addr.port)], "COUNTER racy\n0 3\n");
  assert.equal(piped.code, EXIT.ok, piped.err);
  assert.deepEqual(piped.out.split("\n").slice(0, 2), ["OK counter racy", "3 (0 updates lost)"]);
  const typed = await run(
    ["--port", String(server.addr.port)],
    "counter locked\n2 1\nSTOP\n",
    true,
  );
  assert.equal(typed.code, EXIT.ok, typed.err);
  const [, counter, answer] = typed.out.split(PROMPT);
  assert.equal(counter, "Counter locked: each answer now says how many updates were lost.\n");
  assert.equal(answer, "Result: 3 (0 updates lost)\n");
});

Deno.test("client: a negative answer is an answer, with or without the updates lost", async () => {
  await using server = startServer({ workers: 1 });
  const piped = await run(["--port", String(server.addr.port)], "-5 3\nCOUNTER locked\n-5 3\n");
  assert.equal(piped.code, EXIT.ok, piped.err);
  assert.deepEqual(piped.out.split("\n").slice(0, 3), [
    "-2",
    "OK counter locked",
    "-2 (0 updates lost)",
  ]);
});

Deno.test("client bad input: explained, exit 2, and the good lines still answered", async (t) => {
  await using server = startServer();
  const port = String(server.addr.port);
  await t.step("one-shot", async () => {
    const { code, out, err } = await run(["--port", port, "2", "x"]);
    assert.equal(code, EXIT.badInput);
    assert.equal(out, "");
    assert.match(err, /expected "<start> <increments>".*got "2 x"/);
  });
  await t.step("piped: the highest code of any line", async () => {
    const { code, out, err } = await run(["--port", port], "2 x\n1 1\nthree four\n");
    assert.equal(code, EXIT.badInput);
    assert.equal(out, "2\n");
    assert.equal(err.split("\n").filter(Boolean).length, 2);
  });
  await t.step("bad flags", async () => {
    for (
      const [args, pattern] of [
        [["--port", "nope"], /--port must be a whole number/],
        [["--host", ""], /--host needs a value/],
        [["1", "2", "3"], /expected START INCREMENTS/],
        [["--colour"], /^threadcount client: Unknown option '--colour'; see --help\n$/],
      ] as const
    ) {
      const { code, err } = await run([...args]);
      assert.equal(code, EXIT.badInput, args.join(" "));
      assert.match(err, pattern);
    }
  });
});

Deno.test("client at the prompt: a session that ends with STOP or Ctrl-D exits 0, whatever was typed on the way", async (t) => {
  await using server = startServer({ maxIncrements: 10 });
  const port = String(server.addr.port);
  await t.step("a typo, a good request, STOP", async () => {
    const { code, out, err } = await run(["--port", port], "2 x\n2 10\nSTOP\n", true);
    assert.equal(code, EXIT.ok);
    assert.equal(out, `${PROMPT}${PROMPT}Result: 12\n${PROMPT}`);
    assert.match(err, /^That is not a request: .*got "2 x"\. Type two whole numbers/);
  });
  await t.step("a request the server refuses, then Ctrl-D", async () => {
    const { code, out, err } = await run(["--port", port], "1 11\n", true);
    assert.equal(code, EXIT.ok);
    assert.equal(out, `${PROMPT}${PROMPT}\n`);
    assert.match(err, /^The server says: ERR too-many-increments/);
  });
  await t.step("piped, the same lines keep the highest code of any line", async () => {
    assert.equal((await run(["--port", port], "2 x\n2 10\nSTOP\n")).code, EXIT.badInput);
    assert.equal((await run(["--port", port], "1 11\n2 2\n")).code, EXIT.serverError);
  });
});

Deno.test("client at the prompt: STATS shows the load in words, PROGRESS is acknowledged", async () => {
  await using server = startServer();
  const { code, out, err } = await run(
    ["--port", String(server.addr.port)],
    "stats\nprogress on\nprogress off\nSTOP\n",
    true,
  );
  assert.equal(code, EXIT.ok);
  assert.equal(err, "");
  const [, stats, on, off] = out.split(PROMPT);
  assert.match(stats, /^Server load, up [\d.]+ s:\n/);
  assert.match(stats, /^ {2}clients {5}1 served, 0 waiting$/m);
  assert.match(stats, /^ {2}workers {5}2 in the pool, 0 busy$/m);
  assert.doesNotMatch(stats, /Result|\{/);
  // The output is not a terminal here, and the acknowledgement says what that means.
  assert.equal(on, "Progress on, but the output is not a terminal: no bar is drawn.\n");
  assert.equal(off, "Progress off: no progress bar.\n");
});

Deno.test("client: the server's error exits 1", async () => {
  await using server = startServer({ maxIncrements: 10 });
  const { code, out, err } = await run(["--port", String(server.addr.port), "1", "11"]);
  assert.equal(code, EXIT.serverError);
  assert.equal(out, "");
  assert.match(err, /ERR too-many-increments/);
});

Deno.test("client: a server that ends the session with an error ends it, exit 1", async () => {
  await using server = startServer({ maxClients: 1, maxWaiting: 0 });
  await using first = await connect(server);
  assert.deepEqual(await first.request("1 1"), { kind: "value", text: "2" }); // it has the slot
  const { code, err } = await run(["--port", String(server.addr.port)], "2 10\n3 3\n", true);
  assert.equal(code, EXIT.serverError);
  assert.match(err, /^The server says: ERR busy .*; it closed the connection\n$/);
  // On a terminal a long request first asks for progress lines: the refusal is still the answer.
  let refused = "";
  const terminal = await runClient(["--port", String(server.addr.port), "0", "300"], {
    stdin: { read: () => Promise.resolve(null) },
    stdinIsTerminal: false,
    stdoutIsTerminal: true,
    out: () => {},
    err: (text) => void (refused += text),
    progress: () => assert.fail("no bar for a refused request"),
  });
  assert.equal(terminal, EXIT.serverError);
  assert.match(refused, /^threadcount client: the server answered: ERR busy /);
});

Deno.test("client cannot connect: exit 3 and says how to start the server", async () => {
  const port = closedPort();
  const { code, err } = await run(["--port", port, "2", "10"]);
  assert.equal(code, EXIT.cannotConnect);
  assert.match(err, new RegExp(`cannot connect to 127.0.0.1:${port}: is the server running\\?`));
  assert.match(err, new RegExp(`deno task server --port ${port}`));
});

Deno.test("client: `--host localhost` reaches a server on 127.0.0.1", async () => {
  await using server = startServer();
  const result = await run(["--host", "localhost", "--port", String(server.addr.port), "2", "10"]);
  assert.deepEqual(result, { code: EXIT.ok, out: "12\n", err: "" });
});

Deno.test("client: a port that is not threadcount's ends in one line, exit 3", async (t) => {
  await t.step("it answers something else (an HTTP server)", async () => {
    await using other = otherService("HTTP/1.1 400 Bad Request\r\n\r\n");
    const { code, out, err } = await run(["--port", other.port, "2", "10"]);
    assert.equal(code, EXIT.cannotConnect);
    assert.equal(out, "", "nothing it said is shown as a result");
    assert.match(
      err,
      /^threadcount client: the server at 127\.0\.0\.1:\d+ answered "HTTP\/1\.1 400 Bad Request", which is not a threadcount reply: is .* a threadcount server/,
    );
  });
  await t.step("it answers an error that would act on the terminal", async () => {
    await using other = otherService("ERR busy \u001b[2J\u001b]0;title\u0007\n");
    const { code, out, err } = await run(["--port", other.port, "2", "10"]);
    assert.equal(code, EXIT.cannotConnect);
    assert.equal(out, "");
    assert.match(err, /answered "ERR busy \\u001b\[2J.*", which is not a threadcount reply/);
    assert.ok(!err.includes("\u001b"), "nothing it said reaches the terminal raw");
  });
  await t.step("it closes without a word", async () => {
    await using other = otherService();
    const { code, err } = await run(["--port", other.port], "2 10\n");
    assert.equal(code, EXIT.cannotConnect);
    assert.match(
      err,
      /^threadcount client: the server at .* closed the connection before it answered/,
    );
  });
});

Deno.test("client.ts as a process: prints the result and exits with the client's code", async () => {
  await using server = startServer();
  const port = String(server.addr.port);
  const oneShot = await task(["--port", port, "2", "10"]);
  assert.deepEqual(oneShot, { code: EXIT.ok, out: "12\n", err: "" });
  const piped = await task(["--port", port], { stdin: "1 1\n2 x\n" });
  assert.equal(piped.code, EXIT.badInput);
  assert.equal(piped.out, "2\n");
  assertOneLine(piped.err, /got "2 x"/);
});

Deno.test("`deno task client`: every failure is one line and the documented exit code", async (t) => {
  await using server = startServer();
  const port = String(server.addr.port);
  await t.step("--host localhost is this machine: answered", async () => {
    assert.deepEqual(await task(["--host", "localhost", "--port", port, "2", "10"]), {
      code: EXIT.ok,
      out: "12\n",
      err: "",
    });
  });
  await t.step("a host the task may not reach: exit 2, and the command that can", async () => {
    const { code, out, err } = await task(["--host", "nosuch.invalid", "--port", port, "2", "10"]);
    assert.equal(code, EXIT.badInput);
    assert.equal(out, "");
    assertOneLine(
      err,
      new RegExp(
        `only to this machine .* run: deno run --allow-net=nosuch\\.invalid:${port} client\\.ts`,
      ),
    );
  });
  await t.step("nothing listening: exit 3", async () => {
    const { code, err } = await task(["--port", closedPort(), "2", "10"]);
    assert.equal(code, EXIT.cannotConnect);
    assertOneLine(err, /cannot connect to .* is the server running\?/);
  });
  await t.step("bad usage: exit 2", async () => {
    const { code, err } = await task(["--port", "0", "2", "10"]);
    assert.equal(code, EXIT.badInput);
    assertOneLine(err, /--port must be a whole number from 1 to 65535/);
  });
});

Deno.test("`deno task client` at a terminal: `2 x`, `2 10`, `stats`, STOP exits 0", async () => {
  await using server = startServer();
  const { code, out } = await task(["--port", String(server.addr.port)], {
    terminal: true,
    stdin: "2 x\n2 10\nstats\nSTOP\n",
  });
  assert.equal(code, EXIT.ok, out);
  assert.match(out, /That is not a request: .*got "2 x"/);
  assert.match(out, /server: Result: 12$/m);
  assert.match(out, /^ {2}clients {5}1 served, 0 waiting$/m);
  assert.doesNotMatch(out, /Result: \{/);
});

Deno.test("`deno task client` at a terminal: a bar while progress lines come, none after PROGRESS OFF", async () => {
  await using server = startServer({ progressIntervalMs: 0 });
  const { code, out } = await task(["--port", String(server.addr.port)], {
    terminal: true,
    stdin: "0 200\nprogress off\n0 200\nSTOP\n",
  });
  assert.equal(code, EXIT.ok, out);
  const [, first, off, second] = out.split(PROMPT);
  assert.match(first, /counting \[.*\] \d+\/200 increments/);
  assert.match(first, /Result: 200\n$/);
  assert.equal(off, "Progress off: no progress bar.\n");
  assert.equal(second, "Result: 200\n", "no bar, frozen or not");
});

Deno.test("client at the prompt hears the server stop at once, and is told not to reconnect to a server that is gone", async () => {
  await using server = startServer();
  const port = String(server.addr.port);
  // A user at the prompt who types nothing: standard input stays open until the end.
  const typing = new TransformStream<Uint8Array, Uint8Array>();
  let out = "";
  let err = "";
  const io: ClientIo = {
    stdin: streamSource(typing.readable),
    stdinIsTerminal: true,
    stdoutIsTerminal: false,
    out: (text) => void (out += text),
    err: (text) => void (err += text),
  };
  const ran = runClient(["--port", port], io);
  await server.recorder.waitForType("served");
  await server.shutdown("test");
  const code = await bounded(ran, "the client to hear the server stop", 30_000).finally(() =>
    typing.writable.close()
  );
  assert.equal(code, EXIT.cannotConnect);
  assert.equal(out, `${PROMPT}\n`);
  assert.match(
    err,
    new RegExp(
      `^The server at 127\\.0\\.0\\.1:${port} has stopped \\(it said: ERR shutting-down [^)]*\\) ` +
        "and no longer answers: do not reconnect until it is started again \\(deno task server\\)",
    ),
  );
});

Deno.test("client --name: the server hears the name (OK name alice) before the request; a bad name is refused", async () => {
  await using server = startServer();
  const port = String(server.addr.port);
  const { code, out } = await run(["--port", port, "--name", "alice", "2", "10"]);
  assert.deepEqual([code, out], [EXIT.ok, "12\n"]);
  const named = server.recorder.of("named");
  assert.deepEqual(named.map((e) => e.name), ["alice"]);
  const counting = server.recorder.of("counting");
  assert.equal(counting[0].conn, named[0].conn);
  assert.ok(server.recorder.events.indexOf(named[0]) < server.recorder.events.indexOf(counting[0]));
  // The wire: NAME answered OK name alice; a name with a space is no name.
  await using raw = await connect(server);
  assert.equal((await raw.ask("NAME bob")).line, "OK name bob");
  assert.match((await raw.ask("NAME bob smith")).line, /^ERR bad-request a name is 1 to 32 /);
  const refused = await run(["--port", port, "--name", "no way", "2", "10"]);
  assert.equal(refused.code, EXIT.badInput);
  assert.match(refused.err, /--name no way: the server says ERR bad-request a name is/);
});
