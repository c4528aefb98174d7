/**
 * Stepped counts on real Workers (`SCHEDULE`, `STEP`): the schedule, not timing, decides
 * every read and write, so each answer is exact on every run.
 */
import assert from "node:assert/strict";
import { bounded, RawClient, startServer } from "./_helpers.ts";
import {
  formatOk,
  formatStep,
  parseCommand,
  parseReply,
  ProtocolError,
  type Setting,
  type StepReply,
} from "../lib/wire/protocol.ts";
import { WorkerPool } from "../lib/pool/worker_pool.ts";
import { ScheduleModel } from "../lib/counter/schedule_model.ts";
import { StepGate, turnOf } from "../lib/counter/step_gate.ts";

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

Deno.test("SCHEDULE with STEP ON: the schedule's steps first, then the client's, from where it left", async () => {
  await using server = startServer({ workers: 2 });
  await using client = await RawClient.connect(server);
  await talk(client, ["COUNTER racy", "STEP ON", "SCHEDULE 0 1"]);
  await client.write("0 2\n");
  // Both Workers read 0 on the schedule: worker 0's next step is its write, its last.
  assert.deepEqual(await talk(client, ["STEP 0"]), ["worker 0 wrote 1"]);
  assert.deepEqual(await talk(client, ["STEP 0"]), [
    "ERR bad-request worker 0 has no step left: step one of 1",
  ]);
  assert.deepEqual(await talk(client, ["STEP 1"], 2), [
    "worker 1 wrote 1, erasing 1 update",
    "1 (1 update lost)",
  ]);
  assert.deepEqual(server.recorder.of("step").map((e) => e.text), [
    "worker 0 read 0",
    "worker 1 read 0",
    "worker 0 wrote 1",
    "worker 1 wrote 1, erasing 1 update",
  ]);
});

Deno.test("mid-step, a Worker the server lacks and a line that is not UTF-8 are answered", async () => {
  await using server = startServer({ workers: 2 });
  await using client = await RawClient.connect(server);
  await talk(client, ["COUNTER racy", "STEP ON"]);
  await client.write("0 2\n");
  assert.deepEqual(await talk(client, ["STEP 2"]), [
    "ERR bad-request this server has 2 Workers, numbered 0 to 1: no worker 2",
  ]);
  await client.writeBytes(new Uint8Array([0xff, 0x0a]));
  assert.deepEqual(await talk(client, ["STEP 0"], 2), [
    "ERR bad-encoding the line (1 bytes) is not valid UTF-8",
    "worker 0 read 0",
  ]);
  assert.deepEqual(await talk(client, ["STEP 1", "STEP 0", "STEP 1"], 4), [
    "worker 1 read 0",
    "worker 0 wrote 1",
    "worker 1 wrote 1, erasing 1 update",
    "1 (1 update lost)",
  ]);
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
  await using server = startServer({ workers: 2, stepIdleMs: 50 });
  await using client = await RawClient.connect(server);
  await talk(client, ["COUNTER racy", "STEP ON"]);
  await client.write("0 2\n");
  assert.deepEqual(await talk(client, ["STEP 0"]), ["worker 0 read 0"]);
  // No more STEP: the server lets the Workers go and answers.
  assert.match((await bounded(client.readLine(), "the answer"))!, /^2 \(0 updates lost\)$|^1 /);
  const notices = server.recorder.of("notice").map((e) => e.message);
  assert.ok(notices.some((m) => /no STEP for 0.05 s; its other steps run freely/.test(m)));
});

Deno.test("a client that steps slowly: after the step hold the rest runs freely, however long the idle time", async () => {
  await using server = startServer({ workers: 2, stepIdleMs: 600_000, stepHoldMs: 100 });
  await using client = await RawClient.connect(server);
  await talk(client, ["COUNTER racy", "STEP ON"]);
  // No STEP within the hold (the idle time is ten minutes): the Workers go, and it is answered.
  await client.write("0 2\n");
  assert.match((await bounded(client.readLine(), "the answer"))!, /^[12] \(\d updates? lost\)$/);
  const notices = server.recorder.of("notice").map((e) => e.message);
  assert.ok(
    notices.some((m) => /R1: it held the Workers for 0.1 s; its other steps run freely$/.test(m)),
    notices.join("\n"),
  );
});

Deno.test("a line over the limit mid-step: ERR line-too-long, the rest runs freely and is answered, then the connection closes", async () => {
  await using server = startServer({ workers: 2, maxLineBytes: 64 });
  await using client = await RawClient.connect(server);
  await talk(client, ["COUNTER racy", "STEP ON"]);
  await client.write("0 2\n");
  assert.deepEqual(await talk(client, ["STEP 0"]), ["worker 0 read 0"]);
  await client.write("x".repeat(200) + "\n");
  assert.match(
    (await bounded(client.readLine(), "the refusal"))!,
    /^ERR line-too-long a request line may be at most 64 bytes: the rest of R1 runs freely/,
  );
  assert.match((await bounded(client.readLine(), "the answer"))!, /^[12] \(\d updates? lost\)$/);
  assert.equal(await bounded(client.readLine(), "the close"), null);
  assert.deepEqual(server.recorder.of("request-failed"), []);
});

Deno.test("a stepped count that waits for another's: the log says why its client hears nothing", async () => {
  await using server = startServer({ workers: 2 });
  await using first = await RawClient.connect(server);
  await talk(first, ["COUNTER racy", "STEP ON"]);
  await first.write("0 2\n");
  assert.deepEqual(await talk(first, ["STEP 0"]), ["worker 0 read 0"]);
  await using second = await RawClient.connect(server);
  await talk(second, ["COUNTER racy", "SCHEDULE 0 0 1 1"]);
  await second.write("0 2\n");
  await bounded(server.recorder.waitForType("notice"), "the notice");
  assert.match(
    server.recorder.of("notice")[0].message,
    /R2: waits for another client's stepped count to let the Workers go/,
  );
  // The first lets its Workers go: both are answered.
  await first.write("STEP RUN\n");
  assert.match((await bounded(first.readLine(), "the first answer"))!, /^[12] \(/);
  assert.equal(await bounded(second.readLine(), "the second answer"), "2 (0 updates lost)");
});

Deno.test("locked, 3 Workers: a lock just handed on is named in the next waits, before its new holder reads", async () => {
  await using server = startServer({ workers: 3 });
  await using client = await RawClient.connect(server);
  await talk(client, ["COUNTER locked", "STEP ON"]);
  await client.write("0 3\n");
  assert.deepEqual(await talk(client, ["STEP 0", "STEP 1", "STEP 2", "STEP 0"]), [
    "worker 0 read 0",
    "worker 1 waits for the lock (worker 0 holds it)",
    "worker 2 waits for the lock (worker 0 holds it)",
    "worker 0 wrote 1",
  ]);
  // Worker 1's ticket is next: the lock is its own from worker 0's write on, though its read
  // waits for a STEP 1.
  assert.deepEqual(await talk(client, ["STEP 2"]), [
    "worker 2 waits for the lock (worker 1 holds it)",
  ]);
  await client.write("STEP RUN\n");
  assert.equal(await bounded(client.readLine(), "the answer"), "3 (0 updates lost)");
});

Deno.test("a client that hangs up while its stepped count waits for another's frees its slot at once", async () => {
  await using server = startServer({ workers: 2, maxClients: 2 });
  await using first = await RawClient.connect(server);
  await talk(first, ["COUNTER racy", "STEP ON"]);
  await first.write("0 2\n");
  assert.deepEqual(await talk(first, ["STEP 0"]), ["worker 0 read 0"]);
  const second = await RawClient.connect(server);
  await talk(second, ["COUNTER racy", "STEP ON"]);
  await second.write("0 2\n");
  await bounded(server.recorder.waitForType("notice"), "the notice that it waits");
  await second[Symbol.asyncDispose]();
  // Its count ends now, not when the first lets the Workers go: its slot is free for a third.
  await bounded(server.recorder.waitForType("request-failed"), "the waiting count's end", 30_000);
  assert.deepEqual(server.recorder.of("request-failed").map((f) => [f.request, f.reason]), [
    ["R2", "client disconnected"],
  ]);
  await using third = await RawClient.connect(server);
  assert.deepEqual(await talk(third, ["NAME carol"]), ["OK name carol"]);
  assert.equal(server.recorder.of("step").filter((s) => s.request === "R1").length, 1);
  await first.write("STEP RUN\n");
  assert.match((await bounded(first.readLine(), "the first answer"))!, /^[12] \(/);
});

Deno.test("a server shuts down while a Worker waits for a step", async () => {
  const server = startServer({ workers: 2, graceMs: 0 });
  await using client = await RawClient.connect(server);
  await talk(client, ["COUNTER racy", "STEP ON"]);
  await client.write("0 2\n");
  assert.deepEqual(await talk(client, ["STEP 0"]), ["worker 0 read 0"]);
  await bounded(server.shutdown("test"), "shutdown with a Worker waiting for a step");
});

Deno.test("the wire: SCHEDULE and STEP parse, their replies round-trip, bad ones are refused", () => {
  const options = { maxIncrements: 100, maxScheduleSteps: 4 };
  assert.deepEqual(parseCommand("schedule 0 1 0 1", options), {
    kind: "stepping",
    command: { kind: "schedule", steps: [0, 1, 0, 1] },
  });
  assert.deepEqual(parseCommand("SCHEDULE OFF", options).kind, "stepping");
  assert.deepEqual(parseCommand("STEP on", options), {
    kind: "stepping",
    command: { kind: "step", on: true },
  });
  assert.deepEqual(parseCommand("STEP 1", options), {
    kind: "stepping",
    command: { kind: "step-take", worker: 1 },
  });
  assert.deepEqual(parseCommand("step run", options), {
    kind: "stepping",
    command: { kind: "step-take", worker: "run" },
  });
  assert.throws(() => parseCommand("SCHEDULE 0 1 0 1 0", options), /at most 4 steps, got 5/);
  assert.throws(() => parseCommand("SCHEDULE 0 x", options), /Worker numbers/);
  assert.throws(() => parseCommand("STEP -1", options), ProtocolError);
  const settings: Setting[] = [{ kind: "schedule", steps: [0, 1] }, { kind: "step", on: false }];
  for (const setting of settings) {
    assert.deepEqual(parseReply(formatOk(setting).trimEnd()), { kind: "ok", setting });
  }
  const steps: StepReply[] = [
    { worker: 0, action: "read", value: -3n },
    { worker: 1, action: "wrote", value: 1n, erased: 1 },
    { worker: 1, action: "wrote", value: 6n, erased: -2 },
    { worker: 0, action: "wrote", value: 2n, erased: 0 },
    { worker: 1, action: "waits", holder: 0 },
  ];
  const lines = steps.map((step) => formatStep(step).trimEnd());
  assert.deepEqual(lines, [
    "worker 0 read -3",
    "worker 1 wrote 1, erasing 1 update",
    "worker 1 wrote 6, restoring 2 updates erased earlier",
    "worker 0 wrote 2",
    "worker 1 waits for the lock (worker 0 holds it)",
  ]);
  assert.deepEqual(
    lines.map((line) => parseReply(line)),
    steps.map((step) => ({ kind: "step", step })),
  );
  assert.deepEqual(parseReply("worker 1 wrote 1, erasing 2 update"), { kind: "malformed" });
});

Deno.test("the pool places a pinned job's tasks on their lanes, whatever the lanes' loads", async () => {
  using pool = new WorkerPool({ size: 3, iterationsPerUnit: 0 });
  const placed: [number, number][] = [];
  const ran: [number, number][] = [];
  await pool.run({
    tasks: 9,
    drawUnits: () => 1,
    lane: (no) => (no - 1) % 3,
    onDispatch: (no, worker) => void placed.push([no, worker]),
    onDone: (reports) => reports.forEach((r) => ran.push([r.taskNo, r.worker])),
  });
  const expected = Array.from({ length: 9 }, (_, i) => [i + 1, i % 3]);
  const byTask = (a: [number, number], b: [number, number]) => a[0] - b[0];
  assert.deepEqual(placed.sort(byTask), expected);
  assert.deepEqual(ran.sort(byTask), expected);
  assert.equal(pool.stats.tasksQueued, 0);
});

Deno.test("the schedule on paper: which step each entry lets its Worker take", () => {
  const racy = new ScheduleModel("racy", 3, 2);
  assert.deepEqual([0, 1, 1, 0, 0].map((w) => racy.step(w)), [
    "read",
    "read",
    "wrote",
    "wrote",
    "read",
  ]);
  assert.equal(racy.canStep(1), false, "worker 1's only increment is done");
  assert.throws(() => racy.step(1), /worker 1 has no step left/);
  assert.equal(racy.finished, false);
  racy.step(0);
  assert.equal(racy.finished, true);

  // The lock: a try that finds it held waits, again at each turn, until the lock is handed on.
  const locked = new ScheduleModel("locked", 2, 2);
  assert.deepEqual(
    [1, 0, 0, 1, 0, 0].map((w) => locked.step(w)),
    ["read", "waits", "waits", "wrote", "read", "wrote"],
  );
  assert.equal(locked.finished, true);
});

Deno.test("a gate run freely drops the entries not taken: no Worker waits behind one", () => {
  const gate = StepGate.create({ mode: "interactive", workers: 2, capacity: 4, steps: [0] });
  const memory = new Int32Array(gate.buffer); // as a Worker sees it
  assert.equal(turnOf(memory, 1, () => false), undefined, "worker 1 waits behind worker 0's turn");
  gate.runFreely(); // worker 0 never takes its turn (say it has no step left)
  assert.equal(turnOf(memory, 1, () => false), -1, "worker 1 runs freely");
  assert.equal(turnOf(memory, 0, () => false), -1, "and so does worker 0");
  assert.deepEqual(gate.log(), []);
});

Deno.test("a server with a Worker per increment refuses to step: no Worker there steps twice", async () => {
  await using server = startServer({ workers: 2, workerModel: "per-increment" });
  await using client = await RawClient.connect(server);
  const replies = await talk(client, ["COUNTER racy", "SCHEDULE 0 1 0 1", "STEP ON"]);
  assert.match(replies[1], /^ERR bad-request SCHEDULE steps the pool's Workers.*per-increment/);
  assert.match(replies[2], /^ERR bad-request STEP steps the pool's Workers/);
});
