import assert from "node:assert/strict";
import { RequestCounter } from "../lib/server/request_counter.ts";

/**
 * Runs the server's critical section from many concurrent callers, as Worker
 * reports arrive: each adds a batch of increments and reports each value
 * through an awaited write (here a resolved promise, which yields just as a
 * socket write does).
 */
async function hammer(guarded: boolean) {
  const counter = new RequestCounter(100n, { guarded });
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
  const { counter, reported, expected } = await hammer(true);
  assert.equal(counter.value, expected);
  assert.equal(reported.length, 200);
  for (let i = 1; i < reported.length; i++) assert.ok(reported[i] > reported[i - 1]);
  assert.equal(reported.at(-1), expected);
});

Deno.test("the same section without the Mutex loses updates (why the Mutex is there)", async () => {
  const { counter, reported, expected } = await hammer(false);
  assert.ok(counter.value < expected, `expected lost updates, got ${counter.value}`);
  // The sections interleaved: the same values were reported more than once.
  assert.ok(new Set(reported).size < reported.length);
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
