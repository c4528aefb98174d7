import assert from "node:assert/strict";
import { msPerAddition, TASK_OVERHEAD_MS, workEstimator } from "../lib/server/work_estimate.ts";

Deno.test("workEstimator(): one timing of the busy loop for every unit size, so a small --iterations-per-unit is estimated at the same speed", () => {
  const speed = msPerAddition();
  for (const iterationsPerUnit of [1, 100, 1_000, 8_000_000]) {
    const estimate = workEstimator({ minUnits: 1, maxUnits: 3, iterationsPerUnit, workers: 2 });
    const perIncrement = 2 * iterationsPerUnit * speed + TASK_OVERHEAD_MS;
    assert.equal(estimate(1_000_000), (1_000_000 * perIncrement) / 2, `${iterationsPerUnit}`);
  }
});

Deno.test("workEstimator(): a Worker per increment adds its start-up, as measured at each estimate", () => {
  let startMs = 30;
  const estimate = workEstimator({
    minUnits: 0,
    maxUnits: 0,
    iterationsPerUnit: 0,
    workers: 2,
    taskStartMs: () => startMs,
  });
  assert.equal(estimate(1_000), (1_000 * (TASK_OVERHEAD_MS + 30)) / 2);
  startMs = 150; // a loaded machine's Workers start slower: later estimates say so
  assert.equal(estimate(1_000), (1_000 * (TASK_OVERHEAD_MS + 150)) / 2);
});
