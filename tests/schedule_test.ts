/**
 * Stepped counts on real Workers (`SCHEDULE`, `STEP`): the schedule, not timing, decides
 * every read and write, so each answer is exact on every run.
 */
import assert from "node:assert/strict";
import { bounded, RawClient, startServer } from "./_helpers.ts";

/** Sends lines, one at a time, and returns every reply line up to `replies` of them. */
async function talk(client: RawClient, lines: string[], replies = lines.length): Promise<string[]> {
  await client.write(lines.map((line) => `${line}\n`).join(""));
  const got: string[] = [];
  while (got.length < replies) got.push((await bounded(client.readLine(), "a reply"))!);
  return got;
}

for (
  const [counter, schedule, answer] of [
    ["racy", "0 1 0 1", "1 (1 update lost)"],
    ["racy", "0 0 1 1", "2 (0 updates lost)"],
    ["racy", "1 0 0 1", "1 (1 update lost)"],
    ["locked", "0 1 0 1", "2 (0 updates lost)"],
  ]
) {
  Deno.test(`COUNTER ${counter}, SCHEDULE ${schedule}, 0 2 on 2 Workers: ${answer}, every run`, async () => {
    await using server = startServer({ workers: 2 });
    await using client = await RawClient.connect(server);
    for (let run = 0; run < 5; run++) {
      const replies = await talk(client, [`COUNTER ${counter}`, `SCHEDULE ${schedule}`, "0 2"]);
      assert.deepEqual(replies, [`OK counter ${counter}`, `OK schedule ${schedule}`, answer]);
    }
    // Each task ran on the Worker its number names, as the schedule said.
    const queued = server.recorder.of("task-queued").map((e) => [e.task.split("#")[1], e.worker]);
    for (const [task, worker] of queued) assert.equal(worker, (Number(task) - 1) % 2);
  });
}

Deno.test("SCHEDULE with the lock: worker 1's read waits, and the server says so", async () => {
  await using server = startServer({ workers: 2 });
  await using client = await RawClient.connect(server);
  await talk(client, ["COUNTER locked", "SCHEDULE 0 1 0 1", "0 2"]);
  const steps = server.recorder.of("step").map((e) => e.text);
  assert.deepEqual(steps, [
    "worker 0 read 0",
    "worker 1 waits for the lock (worker 0 holds it)",
    "worker 0 wrote 1",
    "worker 1 read 1",
  ]);
});

Deno.test("STEP ON: each STEP answered with what that Worker did, then the result", async () => {
  await using server = startServer({ workers: 2 });
  await using client = await RawClient.connect(server);
  assert.deepEqual(await talk(client, ["COUNTER racy", "STEP ON"]), [
    "OK counter racy",
    "OK step on",
  ]);
  await client.write("0 2\n");
  assert.deepEqual(await talk(client, ["STEP 0"]), ["worker 0 read 0"]);
  assert.deepEqual(await talk(client, ["STEP 1"]), ["worker 1 read 0"]);
  assert.deepEqual(await talk(client, ["STEP 0"]), ["worker 0 wrote 1"]);
  assert.deepEqual(await talk(client, ["STEP 0"]), [
    "ERR bad-request worker 0 has no step left: step one of 1",
  ]);
  assert.deepEqual(await talk(client, ["STEP 1"], 2), [
    "worker 1 wrote 1, erasing 1 update",
    "1 (1 update lost)",
  ]);
});

Deno.test("STEP ON with the lock, and STEP RUN lets the rest run freely", async () => {
  await using server = startServer({ workers: 2 });
  await using client = await RawClient.connect(server);
  await talk(client, ["COUNTER locked", "STEP ON"]);
  await client.write("10 4\n");
  assert.deepEqual(await talk(client, ["STEP 1", "STEP 0", "STEP 1"]), [
    "worker 1 read 10",
    "worker 0 waits for the lock (worker 1 holds it)",
    "worker 1 wrote 11",
  ]);
  assert.deepEqual(await talk(client, ["STEP RUN"]), ["14 (0 updates lost)"]);
});

Deno.test("schedules that cannot run are refused before any Worker waits", async () => {
  await using server = startServer({ workers: 2 });
  await using client = await RawClient.connect(server);
  const replies = await talk(client, [
    "SCHEDULE 0 1",
    "COUNTER racy",
    "SCHEDULE 0 2",
    "SCHEDULE 1 1 1",
    "0 2",
    "SCHEDULE 0",
    "0 17",
    "STEP 0",
    "0 2",
  ]);
  assert.match(replies[0], /^ERR bad-request SCHEDULE steps the Workers .*COUNTER racy/);
  assert.match(replies[2], /^ERR bad-request this server has 2 Workers, numbered 0 to 1/);
  assert.equal(replies[3], "OK schedule 1 1 1");
  assert.match(replies[4], /^ERR bad-request step 3 of the schedule names worker 1, which has no/);
  assert.match(replies[6], /^ERR too-many-increments a stepped count may have at most 16/);
  assert.match(replies[7], /^ERR bad-request no stepped count is running/);
  assert.match(replies[8], /^2 \(\d updates? lost\)$|^1 \(1 update lost\)$/); // free again
});

Deno.test("a client that leaves mid-step frees the Workers: another client's count runs", async () => {
  await using server = startServer({ workers: 2 });
  const stepper = await RawClient.connect(server);
  await talk(stepper, ["COUNTER racy", "STEP ON"]);
  await stepper.write("0 2\n");
  assert.deepEqual(await talk(stepper, ["STEP 0"]), ["worker 0 read 0"]);
  // Worker 0 now waits, between its read and its write, for a step that will never come.
  await stepper[Symbol.asyncDispose]();
  await using other = await RawClient.connect(server);
  assert.deepEqual(await talk(other, ["0 10"]), ["10"]);
  await bounded(server.recorder.waitForType("request-failed"), "the stepped count's end");
});

Deno.test("a client that stops stepping: after the step idle time the rest runs freely", async () => {
  await using server = startServer({ workers: 2, stepIdleMs: 50 } as never);
  await using client = await RawClient.connect(server);
  await talk(client, ["COUNTER racy", "STEP ON"]);
  await client.write("0 2\n");
  assert.deepEqual(await talk(client, ["STEP 0"]), ["worker 0 read 0"]);
  // No more STEP: the server lets the Workers go and answers.
  assert.match((await bounded(client.readLine(), "the answer"))!, /^2 \(0 updates lost\)$|^1 /);
  const notices = server.recorder.of("notice").map((e) => e.message);
  assert.ok(notices.some((m) => /no STEP for 0.05 s; its other steps run freely/.test(m)));
});

Deno.test("a server shuts down while a Worker waits for a step", async () => {
  const server = startServer({ workers: 2, graceMs: 0 });
  await using client = await RawClient.connect(server);
  await talk(client, ["COUNTER racy", "STEP ON"]);
  await client.write("0 2\n");
  assert.deepEqual(await talk(client, ["STEP 0"]), ["worker 0 read 0"]);
  await bounded(server.shutdown("test"), "shutdown with a Worker waiting for a step");
});
