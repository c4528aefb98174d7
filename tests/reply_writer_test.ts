import assert from "node:assert/strict";
import { ReplyWriter } from "../lib/wire/reply_writer.ts";
import { LineReader } from "../lib/wire/line_reader.ts";
import { serveSession, type SessionLimits } from "../lib/server/session.ts";
import { ServerEvents } from "../lib/server/server_events.ts";
import { WorkerPool } from "../lib/pool/worker_pool.ts";
import { sessionContext } from "./_helpers.ts";

/** A sink that records each write as text, and the order of writes among other happenings. */
function recordingSink(happenings: string[] = []) {
  const writes: string[] = [];
  return {
    writes,
    write(p: Uint8Array) {
      const text = new TextDecoder().decode(p);
      writes.push(text);
      happenings.push(`write ${JSON.stringify(text)}`);
      return Promise.resolve(p.length);
    },
  };
}

Deno.test("replies held are written together, in order, by flush or send", async () => {
  const sink = recordingSink();
  const replies = new ReplyWriter(sink, { maxHoldMs: 60_000 });
  await replies.hold("1\n");
  await replies.hold("2\n");
  assert.equal(replies.holding, true);
  assert.deepEqual(sink.writes, []);
  await replies.flush();
  await replies.flush(); // nothing held: no empty write
  await replies.hold("3\n");
  await replies.send("BYE\n");
  assert.deepEqual(sink.writes, ["1\n2\n", "3\nBYE\n"]);
  assert.equal(replies.holding, false);
});

Deno.test("replies are held up to the byte bound, then written", async () => {
  const sink = recordingSink();
  const replies = new ReplyWriter(sink, { maxHeldBytes: 10, maxHoldMs: 60_000 });
  for (let i = 0; i < 20; i++) await replies.hold(`${i}\n`);
  await replies.flush();
  assert.equal(sink.writes.join(""), Array.from({ length: 20 }, (_, i) => `${i}\n`).join(""));
  for (const write of sink.writes.slice(0, -1)) {
    assert.ok(write.length >= 10 && write.length < 13, `a write of ${write.length} bytes`);
  }
});

Deno.test("a reply is not held past the time bound: with 0 ms each is written at once", async () => {
  const sink = recordingSink();
  const replies = new ReplyWriter(sink, { maxHoldMs: 0 });
  await replies.hold("1\n");
  await replies.hold("2\n");
  assert.deepEqual(sink.writes, ["1\n", "2\n"]);
  assert.equal(replies.overdue(), false, "nothing held, nothing overdue");
});

/**
 * Serves one fake connection whose client sends `requests` in one burst, then closes its
 * side; returns what the session wrote, write by write.
 */
async function serveBurst(
  requests: string[],
  options: {
    limits?: Partial<SessionLimits>;
    events?: ServerEvents;
    happenings?: string[];
    estimateSeconds?: (increments: number) => number;
  } = {},
) {
  using pool = new WorkerPool({ size: 2, iterationsPerUnit: 0 });
  const sink = recordingSink(options.happenings);
  const burst = new TextEncoder().encode(requests.map((r) => `${r}\n`).join(""));
  let sent = false;
  const conn = {
    read(p: Uint8Array) {
      if (sent) return Promise.resolve(null);
      sent = true;
      p.set(burst);
      return Promise.resolve(burst.length);
    },
    write: (p: Uint8Array) => sink.write(p),
  };
  const stop = new AbortController();
  const context = sessionContext(pool, stop.signal, options);
  if (options.estimateSeconds) context.estimateSeconds = options.estimateSeconds;
  const reader = new LineReader(conn, { maxLineBytes: 64, chunkBytes: burst.length });
  const outcome = await serveSession(conn, "test", context, { reader, gone: stop.signal });
  assert.equal(outcome, "end of input");
  return sink.writes;
}

Deno.test("pipelined requests: the replies to a burst go out in one write, in order", async () => {
  // Counts that run on the Workers, counts of nothing, and STATS, all in one burst.
  const requests = Array.from({ length: 40 }, (_, i) => i % 4 === 3 ? "STATS" : `${i} ${i % 3}`);
  const writes = await serveBurst(requests, { limits: { replyHoldMs: 60_000 } });
  const expected = requests.map((r, i) => r === "STATS" ? "{}\n" : `${i + (i % 3)}\n`).join("");
  assert.deepEqual(writes, [expected]);
});

Deno.test("pipelined requests: the byte and time bounds split the writes", async () => {
  const requests = Array.from({ length: 30 }, (_, i) => `${i} 1`);
  const expected = requests.map((_, i) => `${i + 1}\n`);
  const byBytes = await serveBurst(requests, {
    limits: { replyHoldBytes: 8, replyHoldMs: 60_000 },
  });
  assert.equal(byBytes.join(""), expected.join(""));
  assert.ok(byBytes.length >= 30 * 2 / 11 && byBytes.length <= 30 * 3 / 8 + 1, `${byBytes.length}`);
  const byTime = await serveBurst(requests, { limits: { replyHoldMs: 0 } });
  assert.deepEqual(byTime, expected, "held for no time: a write per reply");
});

Deno.test("pipelined requests: a reply is written before a request whose work would hold it too long starts", async () => {
  const happenings: string[] = [];
  const events = new ServerEvents();
  events.subscribe((event) => {
    if (event.type === "counting") happenings.push(`counting ${event.start} ${event.increments}`);
  });
  await serveBurst(["1 0", "2 1", "3 1"], {
    events,
    happenings,
    limits: { replyHoldMs: 60_000 },
    // Each increment is estimated at longer than a reply may be held.
    estimateSeconds: (increments) => increments * 120,
  });
  assert.deepEqual(happenings, [
    "counting 1 0",
    'write "1\\n"',
    "counting 2 1",
    'write "3\\n"',
    "counting 3 1",
    'write "4\\n"',
  ]);
});
