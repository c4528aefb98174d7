import assert from "node:assert/strict";
import { type ByteSource, LineReader } from "../lib/wire/line_reader.ts";
import { bounded } from "./_helpers.ts";

const encoder = new TextEncoder();

/**
 * An in-memory source that hands out the given chunks one per read, then
 * either ends or stalls (a read that resolves only when `release()` is called).
 */
function scriptedSource(chunks: (string | Uint8Array)[], then: "end" | "stall" = "end") {
  const queue = chunks.map((c) => typeof c === "string" ? encoder.encode(c) : c);
  const stalled = Promise.withResolvers<number | null>();
  let bytesRead = 0;
  const source: ByteSource & { release(): void; readonly bytesRead: number } = {
    read(p: Uint8Array) {
      const chunk = queue.shift();
      if (!chunk) return then === "end" ? Promise.resolve(null) : stalled.promise;
      const n = Math.min(chunk.length, p.length);
      p.set(chunk.subarray(0, n));
      if (n < chunk.length) queue.unshift(chunk.subarray(n));
      bytesRead += n;
      return Promise.resolve(n);
    },
    release: () => stalled.resolve(null),
    get bytesRead() {
      return bytesRead;
    },
  };
  return source;
}

async function readAll(reader: LineReader) {
  const events = [];
  while (true) {
    const event = await reader.next();
    events.push(event);
    if (event.kind === "end" || event.kind === "too-long") return events;
  }
}

Deno.test("LineReader splits lines, drops CR before LF, and joins lines split across reads", async () => {
  const source = scriptedSource(["2 1", "0\r\n", "STOP\n\n", "5 5\r", "\n"]);
  const events = await readAll(new LineReader(source, { maxLineBytes: 64 }));
  assert.deepEqual(events, [
    { kind: "line", text: "2 10" },
    { kind: "line", text: "STOP" },
    { kind: "line", text: "" },
    { kind: "line", text: "5 5" },
    { kind: "end" },
  ]);
});

Deno.test("LineReader hands over a last line with no newline at end of input", async () => {
  const events = await readAll(new LineReader(scriptedSource(["2 10"]), { maxLineBytes: 64 }));
  assert.deepEqual(events, [{ kind: "line", text: "2 10" }, { kind: "end" }]);
});

Deno.test("LineReader (classic framing) takes a partial line followed by silence as a line", async (t) => {
  await t.step("one piece", async () => {
    const source = scriptedSource(["2 10"], "stall");
    const reader = new LineReader(source, { maxLineBytes: 64, silenceMs: 30 });
    assert.deepEqual(await reader.next(), { kind: "line", text: "2 10" });
    source.release();
    assert.deepEqual(await reader.next(), { kind: "end" });
  });
  await t.step("two pieces arriving within the silence are one request", async () => {
    const source = scriptedSource(["2 ", "1", "0"], "stall");
    const reader = new LineReader(source, { maxLineBytes: 64, silenceMs: 30 });
    assert.deepEqual(await reader.next(), { kind: "line", text: "2 10" });
    source.release();
    assert.deepEqual(await reader.next(), { kind: "end" });
  });
  await t.step("without classic framing a partial line waits for more", async () => {
    // The rest of the line comes only after the reader has asked for it twice.
    const rest = Promise.withResolvers<void>();
    let reads = 0;
    const source: ByteSource = {
      async read(p) {
        reads++;
        if (reads === 1) return (p.set(encoder.encode("2 10")), 4);
        if (reads === 2) {
          await rest.promise;
          return (p.set(encoder.encode("0\n")), 2);
        }
        return null;
      },
    };
    const reader = new LineReader(source, { maxLineBytes: 64 });
    const next = reader.next();
    const asked = Promise.withResolvers<void>();
    const poll = () => reads >= 2 ? asked.resolve() : queueMicrotask(poll);
    poll();
    await asked.promise;
    rest.resolve();
    // Had the reader taken "2 10" as a line it would say so here; it waited for "2 100".
    assert.deepEqual(await next, { kind: "line", text: "2 100" });
  });
});

Deno.test("LineReader reports a line that is not UTF-8 and goes on", async () => {
  const source = scriptedSource([
    new Uint8Array([0xff, 0xfe, 0x0a]),
    "1 1\n",
    new Uint8Array([0xe2, 0x82, 0x0a]),
  ]);
  const events = await readAll(new LineReader(source, { maxLineBytes: 64 }));
  assert.deepEqual(events, [
    { kind: "bad-encoding", bytes: 2 },
    { kind: "line", text: "1 1" },
    { kind: "bad-encoding", bytes: 2 },
    { kind: "end" },
  ]);
});

Deno.test("LineReader stops at a line over the limit and reads a bounded amount of a huge one", async (t) => {
  await t.step("a long line with its newline", async () => {
    const source = scriptedSource([`${"1".repeat(65)}\n2 2\n`]);
    const events = await readAll(new LineReader(source, { maxLineBytes: 64 }));
    assert.deepEqual(events, [{ kind: "too-long", limit: 64 }]);
  });
  await t.step("exactly the limit is fine", async () => {
    const source = scriptedSource([`${"1".repeat(64)}\r\n`]);
    const events = await readAll(new LineReader(source, { maxLineBytes: 64 }));
    assert.deepEqual(events, [{ kind: "line", text: "1".repeat(64) }, { kind: "end" }]);
  });
  await t.step("8 MiB with no newline: too-long after reading little of it", async () => {
    const huge = new Uint8Array(8 * 1024 * 1024).fill(0x31);
    const source = scriptedSource([huge], "stall");
    const reader = new LineReader(source, { maxLineBytes: 4096, chunkBytes: 8192 });
    assert.deepEqual(await reader.next(), { kind: "too-long", limit: 4096 });
    assert.ok(source.bytesRead <= 4096 + 2 + 8192, `read ${source.bytesRead} bytes`);
    assert.deepEqual(await reader.next(), { kind: "end" });
    source.release();
  });
});

Deno.test("LineReader pushes back: it stops reading while unread lines fill its buffer", async () => {
  const many = "1 1\n".repeat(100_000); // 400 kB of pipelined requests
  const source = scriptedSource([many], "stall");
  const reader = new LineReader(source, { maxLineBytes: 64, chunkBytes: 256 });
  assert.deepEqual(await reader.next(), { kind: "line", text: "1 1" });
  // Nobody takes more lines. The source answers every read at once (a microtask), so once a
  // macrotask runs, every read the reader was going to make has been made.
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.ok(source.bytesRead <= 64 + 2 + 256, `read ${source.bytesRead} bytes`);
  let lines = 1;
  while ((await reader.next()).kind === "line" && ++lines < 100_000) { /* take them all */ }
  assert.equal(lines, 100_000);
  source.release();
  assert.deepEqual(await reader.next(), { kind: "end" });
});

Deno.test("LineReader's onEnd is called when the source ends, even while nobody reads", async () => {
  const source = scriptedSource(["2 10\n"]);
  const ended = Promise.withResolvers<void>();
  const reader = new LineReader(source, { maxLineBytes: 64, onEnd: ended.resolve });
  await bounded(ended.promise, "onEnd");
  assert.ok(reader.atEnd);
  assert.deepEqual(await reader.next(), { kind: "line", text: "2 10" });
});

Deno.test("LineReader rejects a non-positive line limit", () => {
  for (const bad of [0, -1, 1.5, NaN]) {
    assert.throws(() => new LineReader(scriptedSource([]), { maxLineBytes: bad }), RangeError);
  }
});

Deno.test("lineReady: true while a whole line is held, false for a partial one", async () => {
  const source = scriptedSource(["1 1\n2 2\n3"], "stall");
  const reader = new LineReader(source, { maxLineBytes: 64 });
  assert.equal(reader.lineReady, false, "nothing read yet");
  assert.deepEqual(await reader.next(), { kind: "line", text: "1 1" });
  assert.equal(reader.lineReady, true, "`2 2` is held");
  assert.deepEqual(await reader.next(), { kind: "line", text: "2 2" });
  assert.equal(reader.lineReady, false, "only `3`, without its newline, is held");
  source.release();
  assert.deepEqual(await reader.next(), { kind: "line", text: "3" });
  assert.equal(reader.lineReady, false);
  assert.deepEqual(await reader.next(), { kind: "end" });
});

Deno.test("LineReader.next(): a second call while one waits is refused; the first gets its line", async () => {
  const source = scriptedSource([], "stall");
  const reader = new LineReader(source, { maxLineBytes: 64 });
  const first = reader.next();
  await assert.rejects(reader.next(), /while another call waits/);
  source.release();
  assert.deepEqual(await first, { kind: "end" });
  assert.deepEqual(await reader.next(), { kind: "end" });
});

Deno.test("LineReader.interrupt() wakes the waiting call; a line already held comes first", async () => {
  const source = scriptedSource([], "stall");
  const reader = new LineReader(source, { maxLineBytes: 64 });
  const waiting = reader.next();
  reader.interrupt();
  assert.deepEqual(await waiting, { kind: "interrupted" });

  // Two lines in one read: once the first is taken, the second is held.
  const held = scriptedSource(["1 1\n2 2\n"], "stall");
  const busy = new LineReader(held, { maxLineBytes: 64 });
  assert.deepEqual(await busy.next(), { kind: "line", text: "1 1" });
  busy.interrupt();
  assert.deepEqual(await busy.next(), { kind: "line", text: "2 2" });
  assert.deepEqual(await busy.next(), { kind: "interrupted" });
  source.release();
  held.release();
  assert.deepEqual(await reader.next(), { kind: "end" });
  assert.deepEqual(await busy.next(), { kind: "end" });
});

Deno.test("LineReader grows its small first buffer for a long line that arrives in pieces", async () => {
  const line = "7".repeat(5000);
  const pieces = line.match(/.{1,100}/g)!.concat("\n", "1 1\n");
  const events = await readAll(new LineReader(scriptedSource(pieces), { maxLineBytes: 8192 }));
  assert.deepEqual(events, [
    { kind: "line", text: line },
    { kind: "line", text: "1 1" },
    { kind: "end" },
  ]);
});
