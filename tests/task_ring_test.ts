/** The task ring's two sides, and the one run loop and batch format it shares with batches. */
import assert from "node:assert/strict";
import { newTaskRing, openTaskRing, type TaskRingInit } from "../lib/pool/task_ring.ts";
import { TaskRingReader } from "../lib/pool/task_ring_reader.ts";
import { TaskRingWriter } from "../lib/pool/task_ring_writer.ts";
import { REPORT_STRIDE, runBatch, taskBatch } from "../lib/pool/worker_messages.ts";
import { decodeBatch, encodeBatch } from "../lib/fleet/fleet_wire.ts";

Deno.test("TaskRingWriter.readReports reads at most `max` rows, in order, across the ring's wrap", () => {
  const pool = new TaskRingWriter({ capacity: 4, iterationsPerUnit: 1 });
  const worker = new TaskRingReader(pool.init);
  const into = new Float64Array(4 * REPORT_STRIDE).fill(-1);
  const ids = (count: number) => Array.from({ length: count }, (_, i) => into[i * REPORT_STRIDE]);
  // Three rows, then five more: the ring of four rows wraps while some wait unread.
  for (const id of [1, 2, 3]) pool.push(id, 0);
  pool.publish();
  worker.run(worker.take());
  assert.equal(pool.readReports(into, 2), 2);
  assert.deepEqual(ids(2), [1, 2]);
  for (const id of [4, 5, 6]) pool.push(id, 0);
  pool.publish();
  worker.run(worker.take());
  assert.equal(pool.readReports(into), 4, "every row written, however many the Worker ran");
  assert.deepEqual(ids(4), [3, 4, 5, 6]);
  assert.equal(pool.readReports(into), 0);
  // An array shorter than what waits takes what fits; the rest come next time.
  for (const id of [7, 8, 9]) pool.push(id, 0);
  pool.publish();
  worker.run(worker.take());
  assert.equal(pool.readReports(into.subarray(0, 2 * REPORT_STRIDE)), 2);
  assert.deepEqual(ids(2), [7, 8]);
  assert.equal(pool.readReports(into), 1);
  assert.deepEqual(ids(1), [9]);
  pool.stop();
});

Deno.test("TaskRingReader reports each task as it ends: the pool reads a run's first reports while it goes on", () => {
  const pool = new TaskRingWriter({ capacity: 4, iterationsPerUnit: 1 });
  const into = new Float64Array(4 * REPORT_STRIDE);
  const seen: number[][] = [];
  const worker = new TaskRingReader(pool.init, {
    around: {
      before() {},
      after() {
        const count = pool.readReports(into);
        seen.push(Array.from({ length: count }, (_, i) => into[i * REPORT_STRIDE]));
      },
    },
  });
  for (const id of [1, 2, 3]) pool.push(id, 0);
  pool.publish();
  worker.run(worker.take());
  assert.deepEqual(seen, [[], [1], [2]]);
  assert.equal(pool.readReports(into), 1, "the last one, once the run ends");
  pool.stop();
});

Deno.test("a batch and a task ring run through one loop: the same hooks around each task, the same report rows", () => {
  const tasks = [{ id: 7, units: 2 }, { id: 8, units: 0 }, { id: 9, units: 1 }];
  const steps = (run: (around: { before(id: number): void; after(id: number): void }) => void) => {
    const heard: string[] = [];
    run({ before: (id) => heard.push(`before ${id}`), after: (id) => heard.push(`after ${id}`) });
    return heard;
  };
  const rows = (report: Float64Array) =>
    tasks.map((_, i) => [report[i * REPORT_STRIDE], report[i * REPORT_STRIDE + 1]]);
  let fromBatch = new Float64Array();
  const batchSteps = steps((around) => fromBatch = runBatch(taskBatch(tasks, 10), around));
  const pool = new TaskRingWriter({ capacity: 4, iterationsPerUnit: 10 });
  const ringSteps = steps((around) => {
    const worker = new TaskRingReader(pool.init, { around });
    for (const { id, units } of tasks) pool.push(id, units);
    pool.publish();
    worker.run(worker.take());
  });
  const fromRing = new Float64Array(4 * REPORT_STRIDE);
  assert.equal(pool.readReports(fromRing), 3);
  pool.stop();
  assert.deepEqual(batchSteps, [
    "before 7",
    "after 7",
    "before 8",
    "after 8",
    "before 9",
    "after 9",
  ]);
  assert.deepEqual(ringSteps, batchSteps);
  assert.deepEqual(rows(fromBatch), [[7, 2], [8, 0], [9, 1]]);
  assert.deepEqual(rows(fromRing), rows(fromBatch));
  // The fleet's wire carries the same batch, unchanged.
  assert.deepEqual(decodeBatch(encodeBatch(taskBatch(tasks, 10))), taskBatch(tasks, 10));
});

Deno.test("the task ring refuses what it cannot hold or open", async (t) => {
  for (const capacity of [0, -1, 1.5, NaN]) {
    await t.step(`capacity ${capacity}`, () => {
      assert.throws(() => new TaskRingWriter({ capacity, iterationsPerUnit: 1 }), RangeError);
    });
  }
  await t.step("a task past its capacity", () => {
    const pool = new TaskRingWriter({ capacity: 2, iterationsPerUnit: 1 });
    pool.push(1, 0);
    pool.push(2, 0);
    assert.throws(() => pool.push(3, 0), RangeError);
  });
  const good = newTaskRing({ capacity: 4, iterationsPerUnit: 1 });
  const bad: [string, unknown][] = [
    ["nothing", undefined],
    ["no shared memory", { ...good, buffer: new ArrayBuffer(good.buffer.byteLength) }],
    [
      "a capacity not a power of two",
      // Memory of the right size for three rows: 6 control words, then 3 × (2 + 4) numbers.
      { ...good, capacity: 3, buffer: new SharedArrayBuffer(6 * 4 + 3 * 6 * 8) },
    ],
    ["memory of another size", { ...good, buffer: new SharedArrayBuffer(64) }],
    ["no work model", { ...good, iterationsPerUnit: "10" }],
  ];
  for (const [name, init] of bad) {
    await t.step(name, () => {
      assert.throws(() => openTaskRing(init as TaskRingInit), TypeError);
      assert.throws(() => new TaskRingReader(init as TaskRingInit), TypeError);
    });
  }
});

Deno.test("TaskRingWriter.running samples the task the Worker runs now, from its start, and none between tasks", () => {
  const pool = new TaskRingWriter({ capacity: 4, iterationsPerUnit: 1 });
  const seen: string[] = [];
  const sample = (when: string) => {
    const now = pool.running();
    seen.push(
      `${when}: ${now ? `${now.id} since ${now.startedAt > 0 ? "its start" : "?"}` : "none"}`,
    );
  };
  const worker = new TaskRingReader(pool.init, {
    around: { before: (id) => sample(`before ${id}`), after: (id) => sample(`after ${id}`) },
  });
  // Task 0 first: a fresh ring's zero rows must not pass for it running.
  for (const id of [0, 5, 6]) pool.push(id, 0);
  sample("published");
  pool.publish();
  worker.run(worker.take());
  sample("ran");
  assert.deepEqual(seen, [
    "published: none",
    "before 0: none",
    "after 0: 0 since its start",
    "before 5: none",
    "after 5: 5 since its start",
    "before 6: none",
    "after 6: 6 since its start",
    "ran: none",
  ]);
  pool.stop();
});
