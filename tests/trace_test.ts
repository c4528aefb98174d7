import assert from "node:assert/strict";
import { TraceWriter } from "../lib/observe/trace/trace_writer.ts";
import type { ServerEvent } from "../lib/server/server_events.ts";
import { LineClient } from "../lib/client/line_client.ts";
import { LineReader, streamSource } from "../lib/wire/line_reader.ts";
import { bounded, connect, startServer } from "./_helpers.ts";
import { Child, runChild } from "./_child.ts";
import { TRACE_MIN_BYTES } from "../lib/defaults/defaults.ts";

interface TraceEvent {
  name: string;
  cat?: string;
  ph: string;
  s?: string;
  ts?: number;
  dur?: number;
  pid: number;
  tid: number;
  args?: Record<string, unknown>;
}

type TaskDone = Extract<ServerEvent, { type: "task-done" }>;

/** A `task-done` event as the server emits it. */
function taskDone(n: number, fields: Partial<TaskDone> = {}): TaskDone {
  return {
    type: "task-done",
    at: 1_000 + n,
    conn: "127.0.0.1:5000",
    request: "R1",
    task: `R1#${n}`,
    worker: n % 2,
    units: 3,
    startedAt: 1_000 + n,
    endedAt: 1_000.5 + n,
    value: BigInt(n),
    done: n,
    total: 1_000_000,
    ...fields,
  };
}

/**
 * What Perfetto makes of a file cut off anywhere: the complete lines, and `]`.
 * Also checks the layout that makes this work: `[`, then one event a line.
 */
function repair(text: string): TraceEvent[] {
  const whole = text.slice(0, text.lastIndexOf("\n") + 1);
  const lines = whole.split("\n").slice(0, -1);
  assert.equal(lines[0], "[");
  lines.slice(1).forEach((line, i) => {
    if (line === "]") return;
    const event = JSON.parse(i === 0 ? line : line.replace(/^,/, "")) as TraceEvent;
    assert.equal(typeof event.ph, "string", `line ${i + 2} is one event`);
  });
  const events = JSON.parse(whole.endsWith("]\n") ? whole : `${whole}]`) as TraceEvent[];
  assert.ok(Array.isArray(events));
  return events;
}

/** Resolves once the file at `path` holds `count` increments, as a watcher sees it change. */
async function holdsIncrements(watcher: Deno.FsWatcher, path: string, count: number) {
  for await (const _change of watcher) {
    const text = await Deno.readTextFile(path);
    if (text.split(`"ph":"X"`).length - 1 === count) return;
  }
  throw new Error(`the watcher ended before ${path} held ${count} increments`);
}

Deno.test("--trace writes a Chrome trace: one complete event per increment, on its Worker's thread", async () => {
  const path = await Deno.makeTempFile({ suffix: ".json" });
  try {
    let trace: TraceWriter;
    let done: TaskDone[];
    {
      await using server = startServer({ workers: 2 });
      trace = await TraceWriter.open(path, { workers: 2 });
      server.events.subscribe((event) => trace.hear(event));
      await using a = await connect(server);
      await using b = await connect(server);
      await Promise.all([a.request("0 120"), b.request("-5 80")]);
      done = server.recorder.of("task-done");
    } // the server shuts down here
    assert.equal(await trace.close(), 200);

    const text = await Deno.readTextFile(path);
    assert.ok(text.startsWith("[\n") && text.endsWith("\n]\n"));
    const traceEvents = JSON.parse(text) as TraceEvent[];
    const threads = traceEvents.filter((e) => e.ph === "M" && e.name === "thread_name");
    assert.deepEqual(threads.map((e) => [e.tid, e.args?.name]), [[1, "worker 0"], [2, "worker 1"]]);
    const starts = traceEvents.filter((e) => e.ph === "i" && e.cat === "request");
    assert.deepEqual(starts.map((e) => e.args?.start).sort(), ["-5", "0"]);

    const increments = traceEvents.filter((e) => e.ph === "X");
    assert.equal(increments.length, 200);
    const byName = new Map(done.map((e) => [e.task, e]));
    const origin = done[0].startedAt * 1000 - increments.find((e) => e.name === done[0].task)!.ts!;
    for (const e of increments) {
      const task = byName.get(e.name)!;
      assert.ok(task, `${e.name} is an increment that ran`);
      assert.equal(e.tid, task.worker + 1);
      // Times are the Worker's, in µs from the file's origin; a duration under 1 µs shows as 1.
      assert.ok(Math.abs(e.ts! - (task.startedAt * 1000 - origin)) <= 1);
      assert.equal(e.dur, Math.max(1, Math.round((task.endedAt - task.startedAt) * 1000)));
      assert.deepEqual(e.args, {
        conn: task.conn,
        request: task.request,
        units: task.units,
        done: task.done,
        total: task.total,
        value: Number(task.value),
      });
    }
    // A Worker runs one increment at a time: on each thread, intervals never overlap.
    for (const tid of [1, 2]) {
      const spans = increments.filter((e) => e.tid === tid).sort((x, y) => x.ts! - y.ts!);
      for (let i = 1; i < spans.length; i++) {
        assert.ok(
          spans[i].ts! >= spans[i - 1].ts! + spans[i - 1].dur! - 1,
          "overlap on one thread",
        );
      }
    }
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("TraceWriter names each lane the first time it appears, with laneName", async () => {
  const path = await Deno.makeTempFile({ suffix: ".json" });
  try {
    const asked: number[] = [];
    const trace = await TraceWriter.open(path, {
      laneName: (index) => (asked.push(index), `node-a/worker ${index + 1}`),
    });
    for (const worker of [0, 5, 0, 5, 5, 1]) trace.hear(taskDone(asked.length, { worker }));
    await trace.close();
    assert.deepEqual(asked, [0, 5, 1]);
    const events = JSON.parse(await Deno.readTextFile(path)) as TraceEvent[];
    const seen = events.filter((e) => e.ph === "X" || e.name === "thread_name")
      .map((e) => e.ph === "X" ? `X ${e.tid}` : `${e.tid} ${e.args?.name}`);
    assert.deepEqual(seen, [
      "1 node-a/worker 1",
      "X 1",
      "6 node-a/worker 6",
      "X 6",
      "X 1",
      "X 6",
      "X 6",
      "2 node-a/worker 2",
      "X 2",
    ]);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("TraceWriter writes on its own timer, without close()", async () => {
  const path = await Deno.makeTempFile({ suffix: ".json" });
  const watcher = Deno.watchFs(path);
  const trace = await TraceWriter.open(path);
  try {
    for (let n = 1; n <= 3; n++) trace.hear(taskDone(n));
    // Far less than a write's worth of text, and no close(): only the timer writes it. (The
    // writer's timer is unref'd, as a server's must be; bounded()'s keeps the test alive, and
    // fails it rather than let it hang if no write ever comes.)
    await bounded(holdsIncrements(watcher, path, 3), "a write by the timer");
    const text = await Deno.readTextFile(path);
    assert.ok(!text.endsWith("]\n"), "not closed yet");
    assert.equal(repair(text).filter((e) => e.ph === "X").length, 3);
  } finally {
    watcher.close();
    await trace.close();
    await Deno.remove(path);
  }
});

Deno.test("a trace cut off at any byte opens as Perfetto reads it: complete lines, then ]", async () => {
  const path = await Deno.makeTempFile({ suffix: ".json" });
  try {
    const trace = await TraceWriter.open(path, { workers: 1 });
    trace.hear({
      type: "counting",
      at: 999,
      conn: "127.0.0.1:5000",
      request: "R1",
      start: 0n,
      increments: 30,
    });
    for (let n = 1; n <= 30; n++) trace.hear(taskDone(n, { worker: n % 3 }));
    await trace.close();
    const bytes = await Deno.readFile(path);
    const text = new TextDecoder().decode(bytes);
    const lines = text.split("\n");
    assert.equal(repair(text).length, lines.length - 3); // less "[", "]" and the last ""
    const header = lines[0].length + 1 + lines[1].length + 1;
    let previous = 0;
    for (let cut = header; cut <= bytes.length; cut++) {
      const events = repair(new TextDecoder().decode(bytes.subarray(0, cut)));
      assert.ok(events.length >= previous, "a longer prefix never holds fewer events");
      previous = events.length;
    }
    assert.equal(previous, lines.length - 3);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("TraceWriter: memory stays bounded while writes stall; drops are counted and recorded", async () => {
  // A FIFO nobody reads yet: the first write blocks, as on a disk that cannot keep up.
  const dir = await Deno.makeTempDir();
  const fifo = `${dir}/trace.json`;
  const made = await runChild("mkfifo", { args: [fifo] });
  assert.equal(made.code, 0, made.stderr);
  const reading = Deno.open(fifo, { read: true });
  const drops: number[] = [];
  const maxMemoryBytes = 32 * 1024;
  const trace = await TraceWriter.open(fifo, {
    maxMemoryBytes,
    onDropped: (count) => drops.push(count),
  });
  const reader = await reading;
  let text: Promise<string> | undefined;
  const drain = () => text ??= new Response(reader.readable).text();
  try {
    let most = 0;
    const heard = 5_000; // about 900 KB of events: far more than the FIFO and the cap hold
    for (let n = 1; n <= heard; n++) {
      trace.hear(taskDone(n));
      most = Math.max(most, trace.heldBytes);
    }
    assert.ok(most <= maxMemoryBytes, `held ${most} bytes`);
    assert.ok(trace.dropped > 0);
    assert.equal(trace.events + trace.dropped, heard);
    assert.deepEqual(drops, [], "a run of drops is reported when it ends");

    // The reader catches up; the run of drops ends and is recorded, then the file closes.
    drain();
    const events = await trace.close();
    const written = JSON.parse(await drain()) as TraceEvent[];
    assert.equal(written.filter((e) => e.ph === "X").length, events);
    const notices = written.filter((e) => e.cat === "trace" && e.name.includes("dropped"));
    assert.equal(notices.reduce((sum, e) => sum + (e.args?.dropped as number), 0), trace.dropped);
    assert.deepEqual(drops, [trace.dropped]);
  } finally {
    drain(); // a failed test must not leave the writer blocked
    await trace.close();
    await drain();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("TraceWriter stops at maxBytes with one notice, and the file stays complete", async () => {
  const path = await Deno.makeTempFile({ suffix: ".json" });
  try {
    const reasons: string[] = [];
    const maxBytes = TRACE_MIN_BYTES * 2;
    const trace = await TraceWriter.open(path, {
      maxBytes,
      onStopped: (reason) => reasons.push(reason),
    });
    assert.ok(trace.active);
    for (let n = 1; n <= 500; n++) trace.hear(taskDone(n));
    assert.equal(reasons.length, 1);
    assert.ok(!trace.active, "the server can stop building task events for it");
    assert.match(reasons[0], /size cap of .* MiB \(--trace-max-mb\) with \d+ increments/);
    const kept = trace.events;
    assert.ok(kept > 0 && kept < 500);
    trace.hear(taskDone(501));
    assert.equal(trace.events, kept, "nothing more is taken");

    assert.equal(await trace.close(), kept);
    const { size } = await Deno.stat(path);
    assert.ok(size <= maxBytes, `${size} bytes`);
    const written = JSON.parse(await Deno.readTextFile(path)) as TraceEvent[];
    assert.equal(written.filter((e) => e.ph === "X").length, kept);
    assert.equal(written.filter((e) => e.name === "trace stopped").length, 1);
    assert.equal(reasons.length, 1);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("TraceWriter: an increment's line does not grow with the request's start", async () => {
  const path = await Deno.makeTempFile({ suffix: ".json" });
  try {
    const start = 7n * 10n ** 4000n + 12n; // 4 001 digits
    const trace = await TraceWriter.open(path, {});
    trace.hear({ type: "counting", at: 1_000, conn: "c", request: "R1", start, increments: 50 });
    for (let n = 1; n <= 50; n++) trace.hear(taskDone(n, { value: start + BigInt(n), total: 50 }));
    trace.hear({
      type: "counting",
      at: 1_100,
      conn: "c",
      request: "R2",
      start: -5n,
      increments: 5,
    });
    for (let n = 1; n <= 5; n++) {
      trace.hear(taskDone(n, { request: "R2", task: `R2#${n}`, value: BigInt(n - 5), total: 5 }));
    }
    await trace.close();
    const text = await Deno.readTextFile(path);
    const lines = text.split("\n").filter((l) => l.includes(`"ph":"X"`));
    assert.equal(lines.length, 55);
    assert.ok(lines.every((l) => l.length < 250), "every increment's line is short");
    const events = JSON.parse(text) as TraceEvent[];
    // The start is written once, exactly, when counting begins; the name shows it shortened.
    const [big, small] = events.filter((e) => e.cat === "request");
    assert.equal(big.args?.start, String(start));
    assert.equal(big.name, "R1: 50 increments from 700000000000…00000012 (4001 digits)");
    assert.equal(small.name, "R2: 5 increments from -5");
    // Values are written while exact as numbers; beyond that, start + done gives them.
    const increments = events.filter((e) => e.ph === "X");
    assert.ok(increments.slice(0, 50).every((e) => !("value" in e.args!)));
    assert.deepEqual(increments.slice(50).map((e) => e.args?.value), [-4, -3, -2, -1, 0]);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("TraceWriter.closeNow() completes the file synchronously, even with a write under way", async (t) => {
  for (const heard of [10, 2_000]) { // 2 000 increments start a write before closeNow()
    await t.step(`${heard} increments`, async () => {
      const path = await Deno.makeTempFile({ suffix: ".json" });
      try {
        const trace = await TraceWriter.open(path, {});
        for (let n = 1; n <= heard; n++) trace.hear(taskDone(n));
        assert.equal(trace.closeNow(), heard);
        // Before any await: the file is already whole.
        const events = JSON.parse(Deno.readTextFileSync(path)) as TraceEvent[];
        assert.equal(events.filter((e) => e.ph === "X").length, heard);
        assert.equal(await trace.close(), heard); // lets a write under way land, closes the file
        assert.equal(JSON.parse(await Deno.readTextFile(path)).length, events.length);
      } finally {
        await Deno.remove(path);
      }
    });
  }
});

Deno.test("TraceWriter.open() refuses caps out of range", async () => {
  const path = await Deno.makeTempFile({ suffix: ".json" });
  try {
    for (const maxBytes of [0, -1, TRACE_MIN_BYTES - 1, NaN]) {
      await assert.rejects(TraceWriter.open(path, { maxBytes }), RangeError);
    }
    for (const maxMemoryBytes of [0, -1, NaN]) {
      await assert.rejects(TraceWriter.open(path, { maxMemoryBytes }), RangeError);
    }
    for (const flushMs of [0, 1001, NaN]) {
      await assert.rejects(TraceWriter.open(path, { flushMs }), /'flushMs' must be in \(0, 1000\]/);
    }
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("server.ts --trace: after SIGKILL the file opens (add ]) with the increments written", async () => {
  const trace = `traces/sigkill-test-${crypto.randomUUID()}.json`;
  const file = new URL(`../${trace}`, import.meta.url);
  await using server = new Child(Deno.execPath(), {
    name: "server.ts --trace",
    args: [
      "run",
      "--allow-net=127.0.0.1",
      "-q",
      "-P=worker",
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
      "--trace",
      trace,
    ],
    stderr: "null",
  });
  const log = new LineReader(streamSource(server.process.stdout), { maxLineBytes: 1 << 16 });
  let client: LineClient | undefined;
  let watcher: Deno.FsWatcher | undefined;
  try {
    let port = 0;
    while (port === 0) {
      const event = await log.next();
      assert.equal(event.kind, "line", "the server started");
      const match = event.kind === "line" && /listening on 127\.0\.0\.1:(\d+)/.exec(event.text);
      if (match) port = Number(match[1]);
    }
    watcher = Deno.watchFs(file.pathname);
    client = await LineClient.connect({ hostname: "127.0.0.1", port });
    // Far more work than the first timer write takes to come (it is never answered: the server
    // is killed), and its first increments are far less text than starts a write early
    // (64 KiB): only the writer's own timer writes them.
    const answer = client.request("0 3000").catch((error) => error);
    let written = false;
    const watching = (async () => {
      for await (const _change of watcher!) {
        if ((await Deno.readTextFile(file)).includes(`"ph":"X"`)) return written = true;
      }
    })();
    await bounded(watching, "a write by the timer while the request runs");
    assert.ok(written, "increments were written while the request ran");
    server.kill("SIGKILL");
    assert.equal((await server.status).signal, "SIGKILL");
    assert.match(String(await answer), /closed the connection before it answered/);
    const events = repair(await Deno.readTextFile(file));
    assert.ok(events.filter((e) => e.ph === "X").length >= 1);
    assert.ok(events.some((e) => e.name === "thread_name"));
  } finally {
    watcher?.close();
    client?.close();
    server.kill("SIGKILL");
    await server.status.catch(() => {});
    while ((await log.next()).kind === "line") { /* read the rest of the log */ }
    await Deno.remove(file).catch(() => {});
  }
});
