import assert from "node:assert/strict";
import { Session } from "../lib/server/session.ts";
import { LineReader, streamSource } from "../lib/wire/line_reader.ts";
import type { SessionLimits } from "../lib/server/session_context.ts";
import type { WorkerPool } from "../lib/pool/worker_pool.ts";
import { bounded, sessionContext } from "./_helpers.ts";

/**
 * A client on a fake connection: it sends lines when told and reads each reply; with
 * `holdWrites`, a reply's write waits until `readHeld()` (the client does not read).
 */
function fakeClient() {
  const input = new TransformStream<Uint8Array, Uint8Array>();
  const sending = input.writable.getWriter();
  const replies: string[] = [];
  let arrived = Promise.withResolvers<void>();
  let held: PromiseWithResolvers<void> | undefined;
  const writing = Promise.withResolvers<void>();
  return {
    /** Resolves when the first write has started. */
    writing: writing.promise,
    source: streamSource(input.readable),
    send: (line: string) => sending.write(new TextEncoder().encode(`${line}\n`)),
    close: () => sending.close(),
    holdWrites: () => void (held = Promise.withResolvers()),
    readHeld: () => held?.resolve(),
    /** The next reply line, once written. */
    async reply(): Promise<string> {
      while (replies.length === 0) await bounded(arrived.promise, "a reply");
      return replies.shift()!;
    },
    async write(p: Uint8Array): Promise<number> {
      writing.resolve();
      if (held) await held.promise;
      replies.push(...new TextDecoder().decode(p).split("\n").slice(0, -1));
      arrived.resolve();
      arrived = Promise.withResolvers();
      return p.length;
    },
  };
}

/** A pool whose jobs run until `finish()` (their counts apply no increment) or cancelled. */
function heldPool() {
  let started = Promise.withResolvers<void>();
  let finish = () => {};
  const pool = {
    start: () => {
      const done = Promise.withResolvers<void>();
      finish = done.resolve;
      started.resolve();
      started = Promise.withResolvers();
      return { done: done.promise, cancel: (reason?: unknown) => done.reject(reason) };
    },
  };
  return {
    pool: pool as unknown as WorkerPool,
    /** Resolves when the next job has started. */
    get started() {
      return started.promise;
    },
    finish: () => finish(),
  };
}

/** A session on a fake client, over a held pool. */
function serve(limits: Partial<SessionLimits> = {}) {
  const client = fakeClient();
  const jobs = heldPool();
  const stop = new AbortController();
  const context = sessionContext(jobs.pool, stop.signal, { limits });
  const reader = new LineReader(client.source, { maxLineBytes: 64 });
  const session = new Session({ sink: client, reader, peer: "test" }, context);
  return { client, jobs, stop, session, serving: session.serve() };
}

/** Waits until the clock has moved, so that two readings of it differ. */
function tick(): number {
  const before = performance.now();
  while (performance.now() === before) { /* a few µs at most */ }
  return performance.now();
}

// Every clock is read at one moment after everything here: the figures then compare exactly.
const LATER = performance.now() + 3_600_000;

Deno.test("Session.idleFor(): 0 while a count runs; a count with work restarts it, STATS and 0 0 do not", async () => {
  const { client, jobs, session, serving } = serve();
  const atStart = session.idleFor(LATER);
  assert.ok(atStart > 0);
  await client.send("5 1");
  await jobs.started;
  assert.equal(session.idleFor(LATER), 0, "counting");
  const finished = tick();
  jobs.finish();
  assert.equal(await client.reply(), "5");
  const afterCount = session.idleFor(LATER);
  assert.ok(LATER - afterCount >= finished, "idle since the count ended");
  await client.send("STATS");
  await client.reply();
  await client.send("0 0");
  assert.equal(await client.reply(), "0");
  assert.equal(session.idleFor(LATER), afterCount, "STATS and 0 0 leave the clock alone");
  await client.close();
  assert.equal(await serving, "end of input");
});

Deno.test("Session.unreadFor(): how long a reply has waited for the client to read", async () => {
  const { client, session, serving } = serve();
  assert.equal(session.unreadFor(LATER), 0);
  client.holdWrites();
  const sent = tick();
  await client.send("STATS");
  await bounded(client.writing, "the reply's write");
  assert.ok(session.unreadFor(LATER) > 0);
  assert.ok(LATER - session.unreadFor(LATER) >= sent, "waiting since the reply was written");
  client.readHeld();
  await client.reply();
  assert.equal(session.unreadFor(LATER), 0);
  await client.close();
  assert.equal(await serving, "end of input");
});

Deno.test("Session.interrupt(): idle ends it only after the timeout; draining ends it", async (t) => {
  await t.step("idle, within the timeout: it goes on", async () => {
    const { client, session, serving } = serve({ idleTimeoutMs: 3_600_000 });
    session.interrupt("idle");
    await client.send("0 0");
    assert.equal(await client.reply(), "0");
    await client.close();
    assert.equal(await serving, "end of input");
  });
  await t.step("idle, past the timeout: ERR idle-timeout", async () => {
    const { client, session, serving } = serve({ idleTimeoutMs: 0 });
    session.interrupt("idle");
    assert.match(await client.reply(), /^ERR idle-timeout /);
    assert.equal(await serving, "idle");
    await client.close();
  });
  await t.step("draining: ERR shutting-down", async () => {
    const { client, stop, session, serving } = serve();
    stop.abort();
    session.interrupt("draining");
    assert.match(await client.reply(), /^ERR shutting-down /);
    assert.equal(await serving, "server shutting down");
    await client.close();
  });
});

Deno.test("Session.cancel(): the count in hand is abandoned, and the client told why", async () => {
  const { client, jobs, stop, session, serving } = serve();
  await client.send("5 1");
  await jobs.started;
  stop.abort(new Error("the server stopped")); // the grace period is over
  session.cancel(stop.signal.reason);
  assert.match(await client.reply(), /^ERR shutting-down the server stopped before R1 finished/);
  assert.equal(await serving, "server shutting down");
  session.cancel(new Error("no count in hand: nothing happens"));
  await client.close();
});
