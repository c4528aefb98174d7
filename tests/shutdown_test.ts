import assert from "node:assert/strict";
import { LineReader, streamSource } from "../lib/wire/line_reader.ts";
import { LineClient } from "../lib/client/line_client.ts";
import { bounded } from "./_helpers.ts";
import { Child } from "./_child.ts";
import { SIGNAL_COPY_WINDOW_MS } from "../lib/defaults/defaults.ts";

const root = new URL("..", import.meta.url);

/**
 * `deno task server` as a terminal runs it: its own process group (setsid), so that a signal
 * to the group reaches `deno task` and the server both, and `deno task` forwards its own copy,
 * exactly as one Ctrl-C in a terminal does.
 */
class ServerGroup implements AsyncDisposable {
  readonly child: Child;
  readonly log: string[] = [];
  #lines: LineReader;
  #stderr: Promise<string>;
  port = 0;

  constructor(args: string[]) {
    this.child = new Child(Deno.execPath(), {
      args: [
        "task",
        "--quiet",
        "server",
        "--port",
        "0",
        "--workers",
        "2",
        "--min-units",
        "1",
        "--max-units",
        "1",
        "--iterations-per-unit",
        "5000000", // a few ms per increment
        "--verbose",
        ...args,
      ],
      name: `deno task server ${args.join(" ")}`,
      group: true,
    });
    this.#lines = new LineReader(streamSource(this.child.process.stdout), {
      maxLineBytes: 1 << 16,
    });
    this.#stderr = new Response(this.child.process.stderr).text();
  }

  /**
   * Returns the first log line that matches, reading on until one does; fails, rather than
   * hangs, when none comes for 30 s (a bound on a hang, not a timing assertion).
   */
  async waitForLog(pattern: RegExp, after = 0): Promise<string> {
    const seen = this.log.slice(after).find((line) => pattern.test(line));
    if (seen) return seen;
    while (true) {
      const event = await bounded(this.#lines.next(), `the log line ${pattern}`, 30_000);
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

  /** Signals every process of the group, as a terminal or `kill -- -PGID` does. */
  signalGroup(signal: Deno.Signal): void {
    this.child.kill(signal);
  }

  /** Waits for the group leader (`deno task`) to end; its exit code, and what it wrote to stderr. */
  async exit(): Promise<{ code: number; stderr: string }> {
    while (true) {
      const event = await this.#lines.next();
      if (event.kind !== "line") break;
      this.log.push(event.text);
    }
    const { code } = await this.child.status;
    return { code, stderr: await this.#stderr };
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.child.kill("SIGKILL");
    await this.exit().catch(() => {});
    await this.child[Symbol.asyncDispose]();
  }
}

/** The milliseconds of a log line's time of day (`HH:MM:SS.mmm`, UTC). */
function logTime(line: string): number {
  const [h, m, s] = line.slice(0, 12).split(":").map(Number);
  return ((h * 60 + m) * 60 + s) * 1000;
}

async function readTrace(path: string): Promise<{ ph: string }[]> {
  const text = await Deno.readTextFile(new URL(path, root));
  // Chrome's JSON Array Format: the closing bracket may be missing after a crash.
  let parsed;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = JSON.parse(`${text.trimEnd().replace(/,$/, "")}]`);
  }
  return Array.isArray(parsed) ? parsed : parsed.traceEvents;
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.test(`one ${signal} to the process group of deno task server (two or three copies): drains, answers, exit 0`, async () => {
    const trace = `traces/shutdown-test-${crypto.randomUUID()}.json`;
    await using server = await new ServerGroup(["--grace", "60", "--trace", trace]).start();
    const client = await server.connect();
    try {
      const answer = client.request("0 60");
      await server.waitForLog(/R1#\d+ ran on worker \d/);
      // What a terminal's Ctrl-C does under deno task: every process of the group gets the
      // signal and deno task forwards one more; a supervisor may send it twice on top.
      server.signalGroup(signal);
      server.signalGroup(signal);
      assert.deepEqual(await answer, { kind: "value", text: "60" });
      assert.match((await client.readLine())!, /^ERR shutting-down /);
      const { code, stderr } = await server.exit();
      assert.equal(code, 0);
      assert.equal(server.log.filter((l) => /shutting down \(/.test(l)).length, 1);
      assert.ok(server.log.some((l) => new RegExp(`shutting down \\(${signal}\\)`).test(l)));
      assert.ok(!server.log.some((l) => /exiting at once/.test(l)));
      assert.equal(stderr.match(/shutting down \(press Ctrl-C again/g)?.length, 1, stderr);
      assert.ok(!/second SIG|exiting at once|error/i.test(stderr), stderr);
      const events = await readTrace(trace);
      assert.equal(events.filter((e) => e.ph === "X").length, 60);
    } finally {
      client.close();
      await Deno.remove(new URL(trace, root)).catch(() => {});
    }
  });
}

for (const [signal, exitCode] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
  Deno.test(`a second ${signal} past the copy window exits at once with ${exitCode}; the log and the trace are complete`, async () => {
    const trace = `traces/shutdown-test-${crypto.randomUUID()}.json`;
    await using server = await new ServerGroup([
      "--grace",
      "600",
      "--max-request-seconds",
      "100000",
      "--trace",
      trace,
    ]).start();
    const client = await server.connect();
    try {
      const answer = client.request("0 100000").catch((error) => error);
      await server.waitForLog(/R1#\d+ ran on worker \d/);
      server.signalGroup(signal);
      const shuttingDown = await server.waitForLog(/shutting down \(/);
      // Wait, by the server's own log, until the copy window has passed: a later line.
      const windowEnds = logTime(shuttingDown) + SIGNAL_COPY_WINDOW_MS + 50;
      const at = server.log.length;
      while (logTime(await server.waitForLog(/ ran on worker /, server.log.length)) < windowEnds) {
        /* the request goes on */
      }
      assert.ok(server.log.length > at);
      server.signalGroup(signal);
      const { code, stderr } = await server.exit();
      assert.equal(code, exitCode);
      assert.ok(
        server.log.some((l) =>
          new RegExp(`exiting at once \\(second ${signal}\\): 1 request in flight`).test(l)
        ),
        server.log.slice(-5).join("\n"),
      );
      assert.match(String(await answer), /closed the connection before it answered/);
      assert.ok(!/error/i.test(stderr), stderr);
      // The trace holds every increment the log reported done, and parses.
      const done = server.log.filter((l) => / ran on worker /.test(l)).length;
      const events = await readTrace(trace);
      assert.equal(events.filter((e) => e.ph === "X").length, done);
    } finally {
      client.close();
      await Deno.remove(new URL(trace, root)).catch(() => {});
    }
  });
}

Deno.test("SIGINT: a request that outlasts --grace is answered ERR shutting-down, exit 0", async () => {
  await using server = await new ServerGroup([
    "--grace",
    "0.1",
    "--max-request-seconds",
    "100000",
  ]).start();
  const client = await server.connect();
  try {
    const answer = client.request("0 20000"); // far longer than the grace period
    await server.waitForLog(/R1#\d+ ran on worker \d/);
    server.signalGroup("SIGINT");
    const reply = await answer;
    assert.equal(reply.kind, "error");
    assert.match(
      reply.kind === "error" ? reply.line : "",
      /^ERR shutting-down the server stopped before R1 finished/,
    );
    assert.equal((await server.exit()).code, 0);
    assert.ok(
      server.log.some((l) => /R1: abandoned \(server shut down before it finished\)/.test(l)),
    );
  } finally {
    client.close();
  }
});

Deno.test("SIGTERM: a waiting client gets ERR shutting-down at once", async () => {
  await using server = await new ServerGroup(["--max-clients", "1", "--grace", "60"]).start();
  const busy = await server.connect();
  const waiting = await server.connect();
  try {
    const answer = busy.request("0 40");
    await server.waitForLog(/R1#\d+ ran on worker \d/);
    await server.waitForLog(/waiting for a slot/);
    server.signalGroup("SIGTERM");
    assert.match((await waiting.readLine())!, /^ERR shutting-down /);
    assert.equal(await waiting.readLine(), null);
    assert.deepEqual(await answer, { kind: "value", text: "40" });
    assert.equal((await server.exit()).code, 0);
  } finally {
    busy.close();
    waiting.close();
  }
});
