import assert from "node:assert/strict";
import { RequestCounter } from "../lib/server/request_counter.ts";
import { CounterCell } from "../lib/counter/counter_cell.ts";
import { CounterTasks } from "../lib/counter/counter_tasks.ts";

/**
 * Runs the server's critical section from many concurrent callers, as Worker
 * reports arrive: each adds a batch of increments and reports each value
 * through an awaited write (here a resolved promise, which yields just as a
 * socket write does).
 */
async function hammer() {
  const counter = new RequestCounter(100n);
  const reported: bigint[] = [];
  const report = async (value: bigint) => {
    reported.push(value);
    await Promise.resolve();
  };
  const callers = 50;
  const perCall = 4;
  await Promise.all(
    Array.from({ length: callers }, () => counter.add(new Array(perCall).fill(0), report)),
  );
  return { counter, reported, expected: 100n + BigInt(callers * perCall) };
}

Deno.test("RequestCounter with its Mutex loses no update and reports values rising strictly", async () => {
  const { counter, reported, expected } = await hammer();
  assert.equal(counter.value, expected);
  assert.equal(reported.length, 200);
  for (let i = 1; i < reported.length; i++) assert.ok(reported[i] > reported[i - 1]);
  assert.equal(reported.at(-1), expected);
});

Deno.test("RequestCounter over a racy cell reports what each task wrote and counts the updates lost", async () => {
  // Three tasks, run by the Worker-side code on this thread: 1 and 2 overlap (both read 0),
  // then 3 reads what 2 wrote. The write of 2 erases the update of 1.
  const cell = CounterCell.create("racy", 3);
  const workers = new CounterTasks();
  for (const no of [1, 2, 3]) workers.carry(no, cell.payload(no));
  workers.before(1);
  workers.before(2);
  workers.after(1);
  workers.after(2);
  workers.before(3);
  workers.after(3);
  const counter = new RequestCounter<number>(10n, { cell, taskNo: (no) => no });
  const seen: bigint[] = [];
  assert.equal(await counter.add([1, 2, 3], (value) => void seen.push(value)), 12n);
  assert.deepEqual(seen, [11n, 11n, 12n]); // what each task wrote, not a count from here
  assert.equal(counter.value, 12n);
  assert.equal(counter.applied, 3);
  assert.equal(counter.updatesLost, 1);
  assert.deepEqual(counter.record(2), {
    read: 0,
    written: 1,
    before: 1,
    erased: 1,
    readTick: 2,
    writeTick: 4,
  });
  assert.throws(() => new RequestCounter(0n, { cell }), TypeError);
});

Deno.test("RequestCounter counts applied increments and handles a synchronous reporter", async () => {
  const counter = new RequestCounter(-3n);
  const values: bigint[] = [];
  assert.equal(await counter.add([1, 2, 3], (v) => void values.push(v)), 0n);
  assert.equal(counter.applied, 3);
  assert.deepEqual(values, [-2n, -1n, 0n]);
});

Deno.test("RequestCounter: a section that cannot await runs at once, or queues behind one that holds the Mutex", async () => {
  const counter = new RequestCounter(0n);
  const order: string[] = [];
  // At once: no promise when the Mutex is free.
  const immediate = counter.add([1], () => void order.push("sync 1"), { mayAwait: false });
  assert.equal(immediate, 1n);
  // An awaiting section takes the Mutex; a sync one arriving meanwhile waits its turn.
  const gate = Promise.withResolvers<void>();
  const slow = counter.add([1, 2], async (v) => {
    order.push(`slow ${v}`);
    await gate.promise;
  });
  const queued = counter.add([1], (v) => void order.push(`sync ${v}`), { mayAwait: false });
  assert.ok(queued instanceof Promise, "it must queue while the Mutex is held");
  gate.resolve();
  assert.equal(await slow, 3n);
  assert.equal(await queued, 4n);
  assert.deepEqual(order, ["sync 1", "slow 2", "slow 3", "sync 4"]);
  assert.throws(
    () => counter.add([1], () => Promise.resolve(), { mayAwait: false }),
    TypeError,
  );
});
