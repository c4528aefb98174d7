/** The one Worker host: start, ready, messages, errors, replace, for every kind of Worker. */
import assert from "node:assert/strict";
import { WorkerHost } from "../lib/pool/worker_host.ts";
import { REPORT_STRIDE, taskBatch } from "../lib/pool/worker_messages.ts";
import { expectFaultCase } from "./fixtures/fault_case.ts";
import { bounded } from "./_helpers.ts";

Deno.test("WorkerHost starts a Worker, hears it ready, hands on its messages, and replaces it", async () => {
  let ready = Promise.withResolvers<void>();
  let message = Promise.withResolvers<unknown>();
  const names: string[] = [];
  const host = new WorkerHost({
    moduleUrl: new URL("../worker.ts", import.meta.url),
    name: (generation) => {
      names.push(`test-${generation}`);
      return names.at(-1)!;
    },
    listener: {
      onReady: () => ready.resolve(),
      onMessage: (data) => message.resolve(data),
      onError: (reason) => assert.fail(`the Worker died: ${reason}`),
    },
  });
  try {
    assert.equal(host.running, false);
    assert.equal(host.generation, -1);
    host.start();
    assert.throws(() => host.start(), /runs already/);
    assert.equal(host.ready, false, "not before it says so");
    await bounded(ready.promise, "the Worker's ready");
    assert.ok(host.ready);
    assert.ok(host.startMs! > 0, "its start-up is measured");
    host.postMessage(taskBatch([{ id: 7, units: 1 }], 10));
    const report = await bounded(message.promise, "the Worker's report");
    assert.ok(report instanceof Float64Array && report.length === REPORT_STRIDE);
    assert.equal(report[0], 7, "the Worker's report, not its ready");

    ready = Promise.withResolvers();
    message = Promise.withResolvers();
    host.replace();
    assert.equal(host.generation, 1);
    assert.equal(host.ready, false);
    assert.equal(host.startMs, undefined);
    await bounded(ready.promise, "the new Worker's ready");
    assert.deepEqual(names, ["test-0", "test-1"]);
  } finally {
    host.stop();
  }
  assert.equal(host.running, false);
  assert.throws(() => host.postMessage(0), /no Worker runs/);
});

// Cases that kill Workers run in a child process (see fixtures/fault_case.ts): Deno prints the
// trace of every Worker's uncaught error, handled or not, and a passing run prints no error text.
for (
  const [name, expected] of [
    [
      "WorkerHost hears a Worker's death, keeps the process alive, and replace() starts the next generation",
      /^error: Uncaught \(in worker "threadcount-host\.0"\) Error: crashing on task 1 as asked$/,
    ],
    [
      "WorkerHost hears a Worker that dies before it is ready, and says it was not",
      /^error: Uncaught \(in worker "threadcount-host\.0"\) \(in promise\) Error: this Worker module cannot start$/,
    ],
  ] as const
) {
  Deno.test(name, () => expectFaultCase(name, expected).then(() => {}));
}
