import assert from "node:assert/strict";
import { type TaskReport, WorkerFailedError, WorkerPool } from "../lib/pool/worker_pool.ts";

const crashingWorker = (task: number, generations = 1) =>
  new URL(`./fixtures/crashing_worker.ts?task=${task}&generations=${generations}`, import.meta.url);

Deno.test("WorkerPool runs every task once and reports it", async () => {
  using pool = new WorkerPool({ size: 2, iterationsPerUnit: 100 });
  const reports: TaskReport[] = [];
  await pool.run({ tasks: 500, drawUnits: () => 2, onDone: (r) => reports.push(...r) });
  assert.equal(reports.length, 500);
  assert.deepEqual(
    reports.map((r) => r.taskNo).sort((a, b) => a - b),
    Array.from({ length: 500 }, (_, i) => i + 1),
  );
  assert.ok(reports.every((r) => r.units === 2 && r.endedAt >= r.startedAt));
  assert.deepEqual(new Set(reports.map((r) => r.worker)), new Set([0, 1]));
  assert.equal(pool.stats.tasksDone, 500);
});

Deno.test("two Workers really run at once: spin intervals on different Workers overlap", async () => {
  // Each task spins about 10 ms here: long next to a message round trip.
  using pool = new WorkerPool({ size: 2, iterationsPerUnit: 10_000_000 });
  const reports: TaskReport[] = [];
  await pool.run({ tasks: 6, drawUnits: () => 1, onDone: (r) => reports.push(...r) });
  const overlapping = reports.some((a) =>
    reports.some((b) => a.worker !== b.worker && a.startedAt < b.endedAt && b.startedAt < a.endedAt)
  );
  assert.ok(overlapping, `no overlap in ${JSON.stringify(reports)}`);
});

Deno.test("WorkerPool takes tasks round-robin by job: a small job is not stuck behind a large one", async () => {
  // One Worker, one task at a time: the dispatch order is the run order.
  using pool = new WorkerPool({ size: 1, iterationsPerUnit: 1000, maxQueuedWork: 0 });
  const order: string[] = [];
  let smallSubmitted = -1;
  const big = pool.run({
    tasks: 2_000,
    drawUnits: () => 1,
    onDispatch: (no) => {
      order.push(`big#${no}`);
      if (no === 5) {
        smallSubmitted = order.length;
        small = pool.run({
          tasks: 3,
          drawUnits: () => 1,
          onDispatch: (n) => order.push(`small#${n}`),
          onDone: () => {},
        });
      }
    },
    onDone: () => {},
  });
  let small: Promise<void> | undefined;
  await big;
  await small;
  // From the next dispatch after the small job arrives, the two alternate.
  const after = order.slice(smallSubmitted, smallSubmitted + 6);
  assert.deepEqual(after, ["small#1", "big#6", "small#2", "big#7", "small#3", "big#8"]);
  assert.equal(order.length, 2_003);
});

Deno.test("WorkerPool replaces a Worker that dies and runs its task again", async () => {
  const incidents: string[] = [];
  using pool = new WorkerPool({
    size: 2,
    iterationsPerUnit: 100,
    moduleUrl: crashingWorker(7),
    onIncident: (i) => incidents.push(i.reason),
  });
  const done: number[] = [];
  await pool.run({
    tasks: 40,
    drawUnits: () => 1,
    onDone: (r) => done.push(...r.map((t) => t.taskNo)),
  });
  assert.equal(done.length, 40);
  assert.equal(new Set(done).size, 40, "every task reported exactly once");
  assert.equal(incidents.length, 1);
  assert.match(incidents[0], /crashing on task 7/);
  assert.equal(pool.stats.workerRestarts, 1);
  // The pool goes on serving after the replacement.
  let more = 0;
  await pool.run({ tasks: 10, drawUnits: () => 1, onDone: (r) => (more += r.length) });
  assert.equal(more, 10);
});

Deno.test("WorkerPool fails the job of a task that kills every Worker it meets", async () => {
  using pool = new WorkerPool({
    size: 1,
    iterationsPerUnit: 100,
    moduleUrl: crashingWorker(5, 99),
    maxAttempts: 3,
    maxBatch: 1,
    maxQueuedWork: 0,
  });
  await assert.rejects(
    pool.run({ tasks: 10, drawUnits: () => 1, onDone: () => {} }),
    (error) =>
      error instanceof WorkerFailedError &&
      /was running on 3 Workers that died/.test(error.message),
  );
});

Deno.test("WorkerPool stops retrying a Worker module that cannot load", async () => {
  using pool = new WorkerPool({
    size: 1,
    iterationsPerUnit: 100,
    moduleUrl: new URL("./fixtures/broken_worker.ts", import.meta.url),
  });
  await assert.rejects(
    pool.run({ tasks: 1, drawUnits: () => 1, onDone: () => {} }),
    /cannot run/,
  );
});

Deno.test("WorkerPool drops a cancelled job's queued tasks and discards its running ones", async () => {
  using pool = new WorkerPool({ size: 1, iterationsPerUnit: 1000, maxQueuedWork: 0 });
  const cancel = new AbortController();
  let reported = 0;
  const job = pool.run({
    tasks: 1000,
    drawUnits: () => 1,
    signal: cancel.signal,
    onDone: (r) => {
      reported += r.length;
      if (reported === 10) cancel.abort(new Error("client gone"));
    },
  });
  await assert.rejects(job, /client gone/);
  // Let the task in flight come back, then check nothing more ran.
  await pool.run({ tasks: 1, drawUnits: () => 0, onDone: () => {} });
  const { tasksDone, tasksDiscarded, tasksQueued } = pool.stats;
  assert.equal(reported, 10);
  assert.equal(tasksQueued, 0);
  // 10 reported, at most the one in flight at cancel time discarded, plus the follow-up task.
  assert.ok(tasksDone <= 12, `tasks run: ${tasksDone}`);
  assert.ok(tasksDiscarded <= 1);
});

Deno.test("WorkerPool rejects bad arguments and an already-aborted signal", async () => {
  for (const size of [0, -1, 1.5, NaN]) {
    assert.throws(() => new WorkerPool({ size, iterationsPerUnit: 1 }), RangeError);
  }
  using pool = new WorkerPool({ size: 1, iterationsPerUnit: 1 });
  await assert.rejects(pool.run({ tasks: -1, drawUnits: () => 1, onDone: () => {} }), RangeError);
  await assert.rejects(
    pool.run({ tasks: 1, drawUnits: () => 1, onDone: () => {}, signal: AbortSignal.abort("no") }),
    (reason) => reason === "no",
  );
});
