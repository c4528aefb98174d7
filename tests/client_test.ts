import assert from "node:assert/strict";
import { type ClientIo, EXIT, runClient } from "../lib/client/client_cli.ts";
import type { ByteSource } from "../lib/wire/line_reader.ts";
import { startServer } from "./_helpers.ts";

/** Runs the client in memory: `stdin` is the given text, output is collected. */
async function run(args: string[], stdin = "", stdinIsTerminal = false) {
  const bytes = new TextEncoder().encode(stdin);
  let offset = 0;
  const source: ByteSource = {
    read(p) {
      if (offset >= bytes.length) return Promise.resolve(null);
      const n = Math.min(p.length, bytes.length - offset);
      p.set(bytes.subarray(offset, offset + n));
      offset += n;
      return Promise.resolve(n);
    },
  };
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
  const result = await run(["--port", String(server.addr.port)], "2 10\n\n5 5\r\n-1 1\n");
  assert.deepEqual(result, { code: EXIT.ok, out: "12\n10\n0\n", err: "" });
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
  await t.step("piped", async () => {
    const { code, out, err } = await run(["--port", port], "2 x\n1 1\nthree four\n");
    assert.equal(code, EXIT.badInput);
    assert.equal(out, "2\n");
    assert.equal(err.split("\n").filter(Boolean).length, 2);
  });
  await t.step("bad flags", async () => {
    const { code, err } = await run(["--port", "nope"]);
    assert.equal(code, EXIT.badInput);
    assert.match(err, /--port must be a whole number/);
  });
});

Deno.test("client interactive: the original's prompt, bad input explained, STOP ends", async () => {
  await using server = startServer();
  const { code, out, err } = await run(
    ["--port", String(server.addr.port)],
    "2 10\nhello\n4 4\nSTOP\n",
    true,
  );
  assert.equal(code, EXIT.badInput);
  const prompt =
    "Please enter a number, space, then number of increments to be done by the server: ";
  assert.equal(out, `${prompt}Result: 12\n${prompt}${prompt}Result: 8\n${prompt}`);
  assert.match(err, /That is not a request: .*got "hello"/);
});

Deno.test("client: the server's error exits 1", async () => {
  await using server = startServer({ maxIncrements: 10 });
  const { code, out, err } = await run(["--port", String(server.addr.port), "1", "11"]);
  assert.equal(code, EXIT.serverError);
  assert.equal(out, "");
  assert.match(err, /ERR too-many-increments/);
});

Deno.test("client cannot connect: exit 3 and says how to start the server", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = String(listener.addr.port);
  listener.close(); // nothing listens there now
  const { code, err } = await run(["--port", port, "2", "10"]);
  assert.equal(code, EXIT.cannotConnect);
  assert.match(err, new RegExp(`cannot connect to 127.0.0.1:${port}: is the server running\\?`));
  assert.match(err, /deno task server/);
});

Deno.test("client.ts as a process: prints the result and exits with the client's code", async () => {
  await using server = startServer();
  const command = (args: string[], stdin: "piped" | "null" = "null") =>
    new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-net=127.0.0.1",
        "client.ts",
        "--port",
        String(server.addr.port),
        ...args,
      ],
      cwd: new URL("..", import.meta.url),
      stdin,
      stdout: "piped",
      stderr: "piped",
    });
  const oneShot = await command(["2", "10"]).output();
  assert.equal(oneShot.code, 0);
  assert.equal(new TextDecoder().decode(oneShot.stdout), "12\n");

  const child = command([], "piped").spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode("1 1\n2 x\n"));
  await writer.close();
  const piped = await child.output();
  assert.equal(piped.code, 2);
  assert.equal(new TextDecoder().decode(piped.stdout), "2\n");
  assert.match(new TextDecoder().decode(piped.stderr), /got "2 x"/);
});
