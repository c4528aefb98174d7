import assert from "node:assert/strict";
import { type TaskReport, WorkerPool } from "../lib/pool/worker_pool.ts";
import type { Task, TaskPayloads } from "../lib/pool/job_queue.ts";
import type { TimesPayload } from "./fixtures/payload_worker.ts";
import type { Lane } from "../lib/pool/lane.ts";
import { REPORT_STRIDE } from "../lib/pool/worker_messages.ts";
import { expectFaultCase } from "./fixtures/fault_case.ts";
import { programStderr, runDeno } from "./_child.ts";

Deno.test("WorkerPool runs every task once and reports it", async () => {
  using pool = new WorkerPool({ size: 2, iterationsPerUnit: 100 });
  assert.deepEqual(pool.laneNames(), ["worker 0", "worker 1"]);
  await pool.ready; // else the first Worker to load may run all 500 before the other loads
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
  // Each task spins about 1 ms here; each Worker has about 100 ms of them.
  using pool = new WorkerPool({ size: 2, iterationsPerUnit: 1_000_000 });
  await pool.ready; // else the first Worker to load may run every task before the other loads
  const dispatchedTo: number[] = [];
  let dispatchedBeforeAnyReport = -1;
  const reports: TaskReport[] = [];
  await pool.run({
    tasks: 200,
    drawUnits: () => 1,
    onDispatch: (_no, worker) => dispatchedTo.push(worker),
    onDone: (r) => {
      if (reports.length === 0) dispatchedBeforeAnyReport = dispatchedTo.length;
      reports.push(...r);
    },
  });
  assert.equal(reports.length, 200);
  // The pool gives both Workers tasks before either reports one: each has work at the same time.
  assert.deepEqual(new Set(dispatchedTo.slice(0, dispatchedBeforeAnyReport)), new Set([0, 1]));
  // And the Workers run them at once: a task on one starts before one on the other ends, and
  // ends after it starts. No task needs to be long for this: each Worker has tasks all through
  // the job, so it holds unless the two threads never run together in it (time-slicing on one
  // core overlaps too: a task stopped mid-spin spans the other's).
  const overlapping = reports.some((a) =>
    reports.some((b) => a.worker !== b.worker && a.startedAt < b.endedAt && b.startedAt < a.endedAt)
  );
  assert.ok(
    overlapping,
    `no overlap in 200 tasks; the first: ${JSON.stringify(reports.slice(0, 4))}`,
  );
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

// Cases that kill Workers run in a child process (see fixtures/fault_case.ts): Deno prints the
// trace of every Worker's uncaught error, handled or not, and a passing run prints no error text.
const crashOn = (task: number) =>
  new RegExp(
    `^error: Uncaught \\(in worker "threadcount-worker-\\d+\\.\\d+"\\) Error: crashing on task ${task} as asked$`,
  );

for (
  const [name, expected] of [
    ["WorkerPool replaces a Worker that dies and runs its task again", crashOn(7)],
    ["WorkerPool fails the job of a task that kills every Worker it meets", crashOn(5)],
    [
      "WorkerPool stops retrying a Worker module that cannot load",
      /^error: Uncaught \(in worker "threadcount-worker-0\.0"\) \(in promise\) Error: this Worker module cannot start$/,
    ],
    [
      "a poison task in a fresh pool's first batch fails its job only: later jobs succeed",
      crashOn(3),
    ],
    ["innocent tasks that shared a batch with a poison task are not charged", crashOn(4)],
    [
      "a dying Worker's runs are given up on, the last sent first, before they are sent again",
      crashOn(6),
    ],
    [
      "a task re-run after its Worker died is dispatched once and reported once, where it was queued",
      crashOn(7),
    ],
    [
      "a pool is broken only when a new Worker never becomes ready",
      /^error: Uncaught \(in worker "threadcount-worker-0\.[01]"\)( \(in promise\))? Error: (crashing on task 2 as asked|this Worker module cannot load \(generation 1\), as asked)$/,
    ],
  ] as const
) {
  Deno.test(name, () => expectFaultCase(name, expected).then(() => {}));
}

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
  for (const size of [-1, 1.5, NaN]) {
    assert.throws(() => new WorkerPool({ size, iterationsPerUnit: 1 }), RangeError);
  }
  using pool = new WorkerPool({ size: 1, iterationsPerUnit: 1 });
  await assert.rejects(pool.run({ tasks: -1, drawUnits: () => 1, onDone: () => {} }), RangeError);
  await assert.rejects(
    pool.run({ tasks: 1, drawUnits: () => 1, onDone: () => {}, signal: AbortSignal.abort("no") }),
    (reason) => reason === "no",
  );
});

Deno.test("a job's payloads reach the Worker module's hook, which runs just before and just after each task's spin", async () => {
  using pool = new WorkerPool({
    size: 2,
    iterationsPerUnit: 10_000,
    moduleUrl: new URL("./fixtures/payload_worker.ts", import.meta.url),
  });
  const tasks = 40;
  const times = new SharedArrayBuffer(2 * tasks * Float64Array.BYTES_PER_ELEMENT);
  const asked: number[] = [];
  const payloads: TaskPayloads = {
    payload: (no): TimesPayload => (asked.push(no), { times, no }),
    revoke: (no) => assert.fail(`task ${no} revoked: no Worker died`),
  };
  const reports: TaskReport[] = [];
  let plain = 0;
  await Promise.all([
    pool.run({ tasks, drawUnits: () => 1, payloads, onDone: (r) => reports.push(...r) }),
    // Tasks that carry nothing share the Workers and their batches.
    pool.run({ tasks, drawUnits: () => 1, onDone: (r) => (plain += r.length) }),
  ]);
  assert.equal(plain, tasks);
  assert.deepEqual(
    asked.toSorted((a, b) => a - b),
    reports.map((r) => r.taskNo).toSorted((a, b) => a - b),
  );
  assert.equal(asked.length, tasks, "each task's payload is asked once, as it is sent");
  const hooked = new Float64Array(times);
  for (const { taskNo, startedAt, endedAt } of reports) {
    const [before, after] = [hooked[2 * (taskNo - 1)], hooked[2 * (taskNo - 1) + 1]];
    assert.ok(
      before > 0 && before <= startedAt,
      `task ${taskNo}: before ${before}, spin ${startedAt}`,
    );
    assert.ok(after >= endedAt, `task ${taskNo}: spin ended ${endedAt}, after ${after}`);
  }
});

Deno.test("worker.ts also runs a batch sent as a message (as a worker node sends them)", async () => {
  const worker = new Worker(new URL("../worker.ts", import.meta.url), { type: "module" });
  try {
    const replies: unknown[] = [];
    const { promise, resolve } = Promise.withResolvers<void>();
    worker.onmessage = (event) => {
      replies.push(event.data);
      if (replies.length === 2) resolve();
    };
    worker.postMessage(new Float64Array([100, 7, 2, 8, 1]));
    await promise;
    assert.equal(replies[0], "ready");
    const report = replies[1] as Float64Array;
    assert.ok(report instanceof Float64Array);
    assert.deepEqual([report[0], report[1], report[4], report[5]], [7, 2, 8, 1]);
  } finally {
    worker.terminate();
  }
});

Deno.test("the Worker's read permission set (deno.json) is exactly the modules worker.ts loads", async () => {
  const output = await runDeno(["info", "--json", "worker.ts"]);
  assert.equal(output.code, 0, output.stderr);
  const root = new URL("..", import.meta.url).href;
  const loaded = (JSON.parse(output.stdout).modules as { specifier: string }[])
    .map((module) => module.specifier)
    .filter((specifier) => specifier.startsWith(root))
    .map((specifier) => specifier.slice(root.length));
  const config = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
  assert.deepEqual(config.permissions.worker.read.toSorted(), loaded.toSorted());
});

Deno.test("a closed pool lets its process exit: its Workers leave their task rings", async () => {
  const output = await runDeno(["run", "--allow-read=.", "tests/fixtures/pool_then_exit.ts"]);
  assert.equal(programStderr(output.stderr), "");
  assert.equal(output.stdout, "100 done, pool closed\n");
  assert.equal(output.code, 0);
});

Deno.test("WorkerPool: jobs that share a batch each hear their reports once, in one call, whatever else the lane's array holds", async () => {
  // A lane of our own, which runs nothing: it answers each batch with rows in one reused,
  // oversized array (as a local Worker's slot does), interleaving the jobs' tasks.
  using pool = new WorkerPool({ size: 0, iterationsPerUnit: 1 });
  const times = new Float64Array(64 * REPORT_STRIDE);
  let batches = 0;
  let answer = () => {};
  const sent = Promise.withResolvers<void>();
  pool.addLane((listener) => {
    const lane: Lane<Task> = {
      name: "test lane",
      load: 0,
      inFlight: 0,
      hasRoom: () => batches === 0,
      send(tasks) {
        batches++;
        answer = () => {
          times.fill(NaN); // rows past the batch's are not the tasks'
          tasks.forEach((task, i) => times.set([task.id, task.units, 10 * i, 10 * i + 5], i * 4));
          listener.onReport(lane, tasks, times);
        };
        sent.resolve();
      },
      close() {},
    };
    queueMicrotask(() => listener.onReady(lane));
    return lane;
  });
  const heard: Record<string, TaskReport[][]> = { a: [], b: [], c: [] };
  const jobs = ["a", "b", "c"].map((name, index) =>
    pool.run({ tasks: index + 1, drawUnits: () => index, onDone: (r) => heard[name].push(r) })
  );
  await sent.promise;
  answer();
  await Promise.all(jobs);
  assert.equal(batches, 1, "all six tasks went in one batch");
  // Round-robin by job: a#1 b#1 c#1 b#2 c#2 c#3, rows 0 to 5.
  assert.deepEqual(heard.a, [[{ taskNo: 1, worker: 0, units: 0, startedAt: 0, endedAt: 5 }]]);
  assert.deepEqual(heard.b, [[
    { taskNo: 1, worker: 0, units: 1, startedAt: 10, endedAt: 15 },
    { taskNo: 2, worker: 0, units: 1, startedAt: 30, endedAt: 35 },
  ]]);
  assert.deepEqual(heard.c.map((call) => call.map((r) => [r.taskNo, r.startedAt])), [
    [[1, 20], [2, 40], [3, 50]],
  ]);
  assert.equal(pool.stats.tasksDone, 6);
});

Deno.test("WorkerPool replaces a Worker that reports a task it was not sent next, and fails that task's job after maxAttempts", async () => {
  const reasons: string[] = [];
  using pool = new WorkerPool({
    size: 1,
    iterationsPerUnit: 1,
    maxAttempts: 2,
    moduleUrl: new URL("./fixtures/misreporting_worker.ts", import.meta.url),
    onIncident: (incident) => reasons.push(incident.reason),
  });
  const done: TaskReport[] = [];
  await assert.rejects(
    pool.run({ tasks: 1, drawUnits: () => 0, onDone: (r) => done.push(...r) }),
    (error: Error) =>
      error.name === "WorkerFailedError" &&
      /task 1 was running on 2 Workers that died; last: the Worker reported task 1000001, not the next one sent/
        .test(error.message),
  );
  assert.deepEqual(done, [], "a report of a task not sent is never taken for the task's");
  assert.deepEqual(
    reasons,
    Array(2).fill("the Worker reported task 1000001, not the next one sent"),
  );
  assert.equal(pool.stats.workerRestarts, 2);
});
