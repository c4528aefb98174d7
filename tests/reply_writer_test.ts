import assert from "node:assert/strict";
import { ReplyWriter } from "../lib/wire/reply_writer.ts";
import { LineReader } from "../lib/wire/line_reader.ts";
import { Session } from "../lib/server/session.ts";
import type { SessionContext, SessionLimits } from "../lib/server/session_context.ts";
import { ServerEvents } from "../lib/server/server_events.ts";
import { WorkerPool } from "../lib/pool/worker_pool.ts";
import { bounded, idleStats, sessionContext } from "./_helpers.ts";

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
  assert.equal(replies.holding, false);
});

Deno.test("a held reply is written when its time is up, whatever comes next", async () => {
  const written = Promise.withResolvers<void>();
  const sink = {
    write(p: Uint8Array) {
      written.resolve();
      return Promise.resolve(p.length);
    },
  };
  const replies = new ReplyWriter(sink, { maxHoldMs: 1 });
  const heard: unknown[] = [];
  await replies.hold("1\n", (error) => heard.push(error ?? "written"));
  assert.deepEqual(heard, [], "held");
  await bounded(written.promise, "the timer's write");
  await replies.flush(); // the timer's write, if still in flight
  assert.deepEqual(heard, ["written"]);
});

Deno.test("one write at a time: a flush during a write waits for it; a failed write's replies hear why", async () => {
  const writes: string[] = [];
  const first = Promise.withResolvers<number>();
  const sink = {
    write(p: Uint8Array) {
      writes.push(new TextDecoder().decode(p));
      if (writes.length === 1) return first.promise;
      return Promise.reject(new Deno.errors.ConnectionReset("reset"));
    },
  };
  const replies = new ReplyWriter(sink, { maxHoldMs: 60_000 });
  const heard: string[] = [];
  const hear = (name: string) => (error?: unknown) =>
    heard.push(`${name} ${error === undefined ? "written" : (error as Error).name}`);
  await replies.hold("1\n", hear("R1"));
  const firstFlush = replies.flush();
  await replies.hold("2\n", hear("R2"));
  const secondFlush = replies.flush();
  assert.deepEqual(writes, ["1\n"], "the second write waits for the first");
  first.resolve(2);
  await firstFlush;
  await assert.rejects(secondFlush, Deno.errors.ConnectionReset);
  assert.deepEqual(writes, ["1\n", "2\n"]);
  await replies.hold("3\n", hear("R3"));
  replies.abandon(new Error("gone"));
  assert.equal(replies.holding, false);
  assert.deepEqual(heard, ["R1 written", "R2 ConnectionReset", "R3 Error"]);
});

Deno.test("the write clock runs while a write waits for the client, a queued one timed from its own start", async () => {
  const pending: { release: () => void }[] = [];
  const started = [Promise.withResolvers<void>(), Promise.withResolvers<void>()];
  const sink = {
    write(p: Uint8Array) {
      const { promise, resolve } = Promise.withResolvers<number>();
      started[pending.length]?.resolve();
      pending.push({ release: () => resolve(p.length) });
      return promise;
    },
  };
  const replies = new ReplyWriter(sink, { maxHoldMs: 60_000 });
  assert.equal(replies.writingSince, undefined);
  await replies.hold("1\n");
  const first = replies.flush();
  await started[0].promise;
  const firstSince = replies.writingSince;
  assert.notEqual(firstSince, undefined, "the first write waits");
  await replies.hold("2\n");
  const second = replies.flush(); // queued behind the first
  pending[0].release();
  await first;
  await started[1].promise;
  assert.notEqual(replies.writingSince, undefined, "the queued write waits, and is timed");
  assert.ok(replies.writingSince! >= firstSince!);
  pending[1].release();
  await second;
  assert.equal(replies.writingSince, undefined);
});

/**
 * A client on a fake connection: it sends `requests` in one burst, then closes its side
 * once it has read `closeAfterReplies` reply lines, or when `close()` is called; what the
 * session writes is recorded.
 */
function burstClient(
  requests: string[],
  options: { happenings?: string[]; closeAfterReplies?: number },
) {
  const sink = recordingSink(options.happenings);
  const burst = new TextEncoder().encode(requests.map((r) => `${r}\n`).join(""));
  const closed = Promise.withResolvers<null>();
  let sent = false;
  let replies = 0;
  return {
    writes: sink.writes,
    burstBytes: burst.length,
    close: () => closed.resolve(null),
    read(p: Uint8Array): Promise<number | null> {
      if (sent) return closed.promise;
      sent = true;
      p.set(burst);
      return Promise.resolve(burst.length);
    },
    write(p: Uint8Array) {
      const written = sink.write(p);
      replies += sink.writes.at(-1)!.split("\n").length - 1;
      if (replies >= (options.closeAfterReplies ?? Infinity)) closed.resolve(null);
      return written;
    },
  };
}

/**
 * A session on a client's fake connection. The end of the client's input is its leave, as
 * the server sees it: its count is cancelled.
 */
function session(client: ReturnType<typeof burstClient>, context: SessionContext) {
  const reader = new LineReader(client, {
    maxLineBytes: 64,
    chunkBytes: client.burstBytes,
    onEnd: () => session.cancel(new Error("client disconnected")),
  });
  const session = new Session({ sink: client, reader, peer: "test" }, context);
  return session.serve();
}

/**
 * Serves one fake connection whose client sends `requests` in one burst, reads a reply to
 * each, then closes; returns what the session wrote, write by write.
 */
async function serveBurst(
  requests: string[],
  options: {
    limits?: Partial<SessionLimits>;
    events?: ServerEvents;
    happenings?: string[];
  } = {},
) {
  using pool = new WorkerPool({ size: 2, iterationsPerUnit: 0 });
  const client = burstClient(requests, {
    happenings: options.happenings,
    closeAfterReplies: requests.length,
  });
  const stop = new AbortController();
  const context = sessionContext(pool, stop.signal, options);
  assert.equal(await session(client, context), "end of input");
  return client.writes;
}

Deno.test("pipelined requests: the replies to a burst go out in one write, in order", async () => {
  // Counts that run on the Workers, counts of nothing, and STATS, all in one burst.
  const requests = Array.from({ length: 40 }, (_, i) => i % 4 === 3 ? "STATS" : `${i} ${i % 3}`);
  const writes = await serveBurst(requests, { limits: { replyHoldMs: 60_000 } });
  const stats = `${JSON.stringify(idleStats())}\n`;
  const expected = requests.map((r, i) => r === "STATS" ? stats : `${i + (i % 3)}\n`).join("");
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

/** Events of a session, in order with its writes. */
function happeningsOf(events: ServerEvents, happenings: string[]) {
  events.subscribe((event) => {
    if (event.type === "counting") happenings.push(`counting ${event.request}`);
    if (event.type === "result") happenings.push(`result ${event.request}`);
    if (event.type === "request-failed") {
      happenings.push(`failed ${event.request}: ${event.reason}`);
    }
  });
}

Deno.test("pipelined requests: a held reply goes out within the hold time while the next count runs", async () => {
  const happenings: string[] = [];
  const events = new ServerEvents();
  happeningsOf(events, happenings);
  const written = Promise.withResolvers<void>();
  const client = burstClient(["0 0", "1 1"], { happenings });
  const write = client.write;
  client.write = (p) => (written.resolve(), write(p));
  // A pool whose job runs until it is cancelled, as a job waiting behind others' work would.
  const pool = {
    start: () => {
      const done = Promise.withResolvers<void>();
      return { done: done.promise, cancel: (reason?: unknown) => done.reject(reason) };
    },
  };
  const stop = new AbortController();
  const context = sessionContext(pool as never, stop.signal, {
    events,
    limits: { replyHoldMs: 1 },
  });
  const serving = session(client, context);
  await bounded(written.promise, "the held reply's write", 10_000);
  client.close(); // R2 is abandoned: its client is gone
  assert.equal(await serving, "client disconnected");
  assert.deepEqual(happenings, [
    "counting R1",
    "counting R2",
    'write "0\\n"',
    "result R1",
    "failed R2: client disconnected",
  ]);
});

Deno.test("pipelined requests: a client that half-closes after a burst still gets the replies held for it", async () => {
  const happenings: string[] = [];
  const events = new ServerEvents();
  happeningsOf(events, happenings);
  using pool = new WorkerPool({ size: 2, iterationsPerUnit: 0 });
  const client = burstClient(["STATS", "0 0", "1 1000000"], { happenings });
  const stop = new AbortController();
  const context = sessionContext(pool, stop.signal, {
    events,
    limits: { replyHoldMs: 60_000, maxIncrements: 1_000_000 },
  });
  // The client's input ends once the long count has started, with the first two replies held.
  events.subscribe((event) => {
    if (event.type === "counting" && event.request === "R2") client.close();
  });
  assert.equal(await session(client, context), "client disconnected");
  assert.deepEqual(happenings, [
    "counting R1",
    "counting R2",
    "failed R2: client disconnected",
    `write ${JSON.stringify(`${JSON.stringify(idleStats())}\n0\n`)}`,
    "result R1",
  ]);
});
