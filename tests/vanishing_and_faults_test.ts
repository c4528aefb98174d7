import assert from "node:assert/strict";
import { Session } from "../lib/server/session.ts";
import { LineReader } from "../lib/wire/line_reader.ts";
import { WorkerPool } from "../lib/pool/worker_pool.ts";
import { connect, RawClient, sessionContext, startServer } from "./_helpers.ts";
import type { ServerEvent } from "../lib/server/server_events.ts";
import { expectFaultCase } from "./fixtures/fault_case.ts";
import { DEFAULT_MAX_QUEUED_WORK, REPLY_HOLD_BYTES } from "../lib/defaults/defaults.ts";

Deno.test("a client that vanishes: its queued tasks never run, its slot frees at once", async () => {
  // One Worker and real work per task, so most of the 2 000 tasks are still queued.
  const work = { workers: 1, minUnits: 1, maxUnits: 1, iterationsPerUnit: 200_000 };
  await using server = startServer({ ...work, maxClients: 1 });
  const { recorder } = server;
  const vanishing = await RawClient.connect(server);
  await vanishing.write("0 2000\n");
  await recorder.waitForType("task-done", 3);
  await using next = await connect(server); // waits for the slot
  await recorder.waitForType("waiting");
  await vanishing[Symbol.asyncDispose](); // gone mid-request
  assert.deepEqual(await next.request("7 3"), { kind: "value", text: "10" });

  const [failed] = recorder.of("request-failed");
  assert.equal(failed.reason, "client disconnected");
  const closedAt = recorder.events.findIndex((e) => e.type === "closed");
  const servedNext = recorder.events.findIndex((e, i) => e.type === "served" && i > closedAt);
  assert.ok(servedNext > closedAt, "the waiting client got the freed slot");

  // When the server saw it go (R1 failed then), the pool had sent the tasks R1 heard of, and
  // at most what a Worker holds beside them: a batch of tasks taken while its work is under
  // maxQueuedWork, and one task behind it (worker_pool.ts, worker_slot.ts). Nothing after.
  const ofR1 = (e: ServerEvent) =>
    (e.type === "task-queued" && e.task.startsWith("R1#")) ||
    (e.type === "task-done" && e.request === "R1");
  const untilSeen = recorder.events.slice(0, recorder.events.indexOf(failed));
  const doneWhenSeen = untilSeen.filter((e) => ofR1(e) && e.type === "task-done").length;
  const sentWhenSeen = untilSeen.filter((e) => ofR1(e) && e.type === "task-queued").length;
  const taskWork = work.maxUnits * work.iterationsPerUnit; // less than a task costs
  const mostHeld = work.workers * (Math.ceil(DEFAULT_MAX_QUEUED_WORK / taskWork) + 1);
  const dispatched = recorder.of("task-queued").filter((e) => e.task.startsWith("R1#")).length;
  assert.equal(dispatched, sentWhenSeen, "R1 tasks were dispatched after it failed");
  assert.ok(
    dispatched <= doneWhenSeen + mostHeld,
    `dispatched ${dispatched} of 2000; ${doneWhenSeen} done when the server saw the client go`,
  );
  // Every task that ran was dispatched before the client left; none of the rest ran.
  const stats = server.stats();
  assert.equal(stats.tasks_done, dispatched + 3);
  assert.equal(stats.tasks_queued, 0);
  // Results that came back after it left were discarded, not counted or reported.
  const reportedForR1 = recorder.of("task-done").filter((e) => e.request === "R1").length;
  assert.equal(reportedForR1, doneWhenSeen);
  assert.equal(reportedForR1 + stats.tasks_discarded, dispatched);
});

Deno.test("fair sharing: a 1-increment request is dispatched within one round of a 10 000-increment one", async () => {
  await using server = startServer({ workers: 2 });
  const { recorder } = server;
  await using big = await connect(server);
  await using small = await connect(server);
  const bigAnswer = big.request("0 10000");
  await recorder.waitForType("task-done", 50);
  assert.deepEqual(await small.request("5 1"), { kind: "value", text: "6" });
  assert.deepEqual(await bigAnswer, { kind: "value", text: "10000" });
  const smallCounting = recorder.events.findIndex((e) =>
    e.type === "counting" && e.request === "R2"
  );
  const nextStarts = recorder.events.slice(smallCounting).filter((e) => e.type === "task-queued");
  const position = nextStarts.findIndex((e) => e.task === "R2#1");
  assert.ok(position <= 1, `the small task was dispatched ${position + 1}th`);
  // It went ahead of the rest of the big one (some 9 000 tasks, a dozen rounds at least, while
  // the small one took a round trip). Where they share a Worker, which runs its tasks in the
  // order sent, the big one's tasks sent after it ran after it.
  const smallQueued = nextStarts[position] as ServerEvent & { type: "task-queued" };
  const bigAfter = nextStarts.slice(position + 1).filter((e) => e.task.startsWith("R1#"));
  assert.ok(bigAfter.length > 0, "the big one was all dispatched before the small one came");
  const smallDone = recorder.of("task-done").find((e) => e.request === "R2")!;
  const bigDone = new Map(recorder.of("task-done").map((e) => [e.task, e]));
  for (const { task, worker } of bigAfter) {
    if (worker !== smallQueued.worker) continue;
    assert.ok(bigDone.get(task)!.startedAt >= smallDone.endedAt, `${task} ran before R2#1`);
  }
});

// Cases that kill Workers run in a child process (see fixtures/fault_case.ts): Deno prints the
// trace of every Worker's uncaught error, handled or not, and a passing run prints no error text.
Deno.test("a Worker that dies mid-request is replaced and the answer is still exact", async () => {
  const name = "a Worker that dies mid-request is replaced and the answer is still exact";
  await expectFaultCase(
    name,
    /^error: Uncaught \(in worker "threadcount-worker-\d\.0"\) Error: crashing on task 5 as asked$/,
  );
});

Deno.test("a task that kills every Worker fails its request with ERR worker-failed; the server goes on", async () => {
  const name =
    "a task that kills every Worker fails its request with ERR worker-failed; the server goes on";
  await expectFaultCase(
    name,
    /^error: Uncaught \(in worker "threadcount-worker-\d\.\d"\) Error: crashing on task 30 as asked$/,
  );
});

Deno.test("backpressure: a client that pipelines and reads nothing makes the session stop reading", async () => {
  using pool = new WorkerPool({ size: 1, iterationsPerUnit: 0 });
  const line = new TextEncoder().encode("1 0\n");
  let bytesRead = 0;
  let writes = 0;
  const unblock = Promise.withResolvers<number>();
  // The client sends requests without end; its socket buffer is full after the first reply.
  const conn = {
    read(p: Uint8Array) {
      const n = Math.floor(p.length / line.length) * line.length;
      for (let at = 0; at < n; at += line.length) p.set(line, at);
      bytesRead += n;
      return Promise.resolve(n);
    },
    write(p: Uint8Array) {
      writes++;
      return writes === 1 ? Promise.resolve(p.length) : unblock.promise;
    },
  };
  const stop = new AbortController();
  const context = sessionContext(pool, stop.signal);
  // The client never hangs up: the session ends because the server stops.
  const reader = new LineReader(conn, { maxLineBytes: 64 });
  const session = new Session({ sink: conn, reader, peer: "test" }, context).serve();
  // The fake connection answers at once: a macrotask runs only after every read and write
  // that can happen (each a microtask) has happened.
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(writes, 2, "answered one, blocked on the second");
  // Read: the requests of the two writes' replies (each reply, `1\n`, answers a 4-byte line;
  // a write carries at most REPLY_HOLD_BYTES of replies), then at most one line and one read ahead.
  const answered = 2 * (REPLY_HOLD_BYTES / 2) * line.length;
  assert.ok(bytesRead <= answered + 64 + 2 + 8192, `read ${bytesRead} bytes while blocked`);
  const readWhileBlocked = bytesRead;
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(bytesRead, readWhileBlocked, "no reading while the reply is unsent");
  stop.abort();
  unblock.resolve(4);
  assert.equal(await session, "server shutting down");
});
