import assert from "node:assert/strict";
import { LineReader, streamSource } from "../lib/wire/line_reader.ts";
import { LineClient } from "../lib/client/line_client.ts";

/** `server.ts` as a child process, as `deno task server` runs it, with its log read line by line. */
class ServerProcess implements AsyncDisposable {
  readonly child: Deno.ChildProcess;
  readonly log: string[] = [];
  #lines: LineReader;
  port = 0;

  constructor(args: string[]) {
    this.child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-net=127.0.0.1",
        "--allow-read=worker.ts,lib/pool/worker_messages.ts",
        "--allow-write=traces",
        "server.ts",
        "--port",
        "0",
        "--workers",
        "2",
        "--min-units",
        "1",
        "--max-units",
        "1",
        "--iterations-per-unit",
        "20000000", // about 20 ms per increment
        ...args,
      ],
      cwd: new URL("..", import.meta.url),
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    this.#lines = new LineReader(streamSource(this.child.stdout), { maxLineBytes: 1 << 16 });
  }

  /** Returns the first log line that matches, reading on until one does. */
  async waitForLog(pattern: RegExp): Promise<string> {
    const seen = this.log.find((line) => pattern.test(line));
    if (seen) return seen;
    while (true) {
      const event = await this.#lines.next();
      if (event.kind !== "line") {
        throw new Error(`log ended before ${pattern}:\n${this.log.join("\n")}`);
      }
      this.log.push(event.text);
      if (pattern.test(event.text)) return event.text;
    }
  }

  async start(): Promise<this> {
    const line = await this.waitForLog(/listening on 127\.0\.0\.1:\d+/);
    this.port = Number(/:(\d+) with/.exec(line)![1]);
    return this;
  }

  connect(): Promise<LineClient> {
    return LineClient.connect({ hostname: "127.0.0.1", port: this.port });
  }

  /** Waits for the process to end, reading the rest of its log. */
  async exit(): Promise<number> {
    while (true) {
      const event = await this.#lines.next();
      if (event.kind !== "line") break;
      this.log.push(event.text);
    }
    return (await this.child.status).code;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.child.kill("SIGKILL");
    } catch { /* already gone */ }
    await this.exit();
  }
}

Deno.test("SIGTERM: waiting clients get ERR shutting-down, the request in flight finishes, exit 0", async () => {
  const trace = `traces/shutdown-test-${crypto.randomUUID()}.json`;
  await using server = await new ServerProcess([
    "--max-clients",
    "1",
    "--grace",
    "60",
    "--trace",
    trace,
  ]).start();
  const busy = await server.connect();
  const waiting = await server.connect();
  try {
    const answer = busy.request("0 40");
    await server.waitForLog(/R1#\d+ worker \d: task done/);
    await server.waitForLog(/waiting for a slot/);
    server.child.kill("SIGTERM");
    assert.match((await waiting.readLine())!, /^ERR shutting-down /);
    assert.equal(await waiting.readLine(), null);
    assert.deepEqual(await answer, { kind: "value", text: "40" });
    assert.match((await busy.readLine())!, /^ERR shutting-down /);
    assert.equal(await busy.readLine(), null);
    assert.equal(await server.exit(), 0);
    assert.ok(server.log.some((l) => /shutting down \(signal\): 1 request\(s\) in flight/.test(l)));
    assert.ok(server.log.some((l) => /stopped$/.test(l)));
    // The trace is complete: every increment served is in it.
    assert.equal(server.log.at(-1), `trace: 40 increments written to ${trace}`);
    const written = JSON.parse(await Deno.readTextFile(new URL(`../${trace}`, import.meta.url)));
    assert.equal(written.filter((e: { ph: string }) => e.ph === "X").length, 40);
  } finally {
    busy.close();
    waiting.close();
    await Deno.remove(new URL(`../${trace}`, import.meta.url)).catch(() => {});
  }
});

Deno.test("SIGINT: a request that outlasts --grace is answered ERR shutting-down, exit 0", async () => {
  await using server = await new ServerProcess(["--grace", "0.1"]).start();
  const client = await server.connect();
  try {
    const answer = client.request("0 100000"); // far longer than the grace period
    await server.waitForLog(/R1#\d+ worker \d: task done/);
    server.child.kill("SIGINT");
    const reply = await answer;
    assert.equal(reply.kind, "error");
    assert.match(
      reply.kind === "error" ? reply.line : "",
      /^ERR shutting-down the server stopped before R1 finished/,
    );
    assert.equal(await server.exit(), 0);
    assert.ok(
      server.log.some((l) => /R1: abandoned \(server shut down before it finished\)/.test(l)),
    );
  } finally {
    client.close();
  }
});

Deno.test("a second signal exits at once", async () => {
  await using server = await new ServerProcess(["--grace", "600"]).start();
  const client = await server.connect();
  try {
    const answer = client.request("0 100000").catch((error) => error);
    await server.waitForLog(/R1#\d+ worker \d: task done/);
    server.child.kill("SIGTERM");
    await server.waitForLog(/shutting down \(signal\)/);
    server.child.kill("SIGTERM");
    assert.equal(await server.exit(), 130);
    assert.match(String(await answer), /closed the connection before it answered/);
  } finally {
    client.close();
  }
});
