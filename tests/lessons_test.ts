import assert from "node:assert/strict";
import { RawClient, startServer } from "./_helpers.ts";
import { WorkerPool } from "../lib/pool/worker_pool.ts";
import { CounterCell } from "../lib/counter/counter_cell.ts";
import { PerIncrementRunner } from "../lib/pool/per_increment_runner.ts";
import {
  formatLessonsTable,
  loadNote,
  runLesson,
  runLessons,
} from "../lib/lessons/lessons_table.ts";
import {
  formatHistogram,
  formatScheduleTable,
  runHistogram,
  runSchedule,
} from "../lib/lessons/schedule_lesson.ts";
import type { CounterModel } from "../lib/counter/counter_model.ts";
import { denoTaskFlags, programStderr, runDeno } from "./_child.ts";
import { parseCommand, ProtocolError } from "../lib/wire/protocol.ts";
import { parseCommandLine, UsageError } from "../lib/cli/flags.ts";
import { SERVER_COMMAND, serverOptions } from "../lib/server/server_cli.ts";
import type { ServerEvent } from "../lib/server/server_events.ts";
import { formatEvent } from "../lib/observe/event_log.ts";

/** Increments long enough (a few ms each) that two Workers' tasks surely overlap. */
const LONG_WORK = { workers: 2, minUnits: 2, maxUnits: 2, iterationsPerUnit: 1_000_000 };

type TaskDone = Extract<ServerEvent, { type: "task-done" }>;

/** Whether two tasks ran at the same time, by their Workers' own clocks. */
function overlap(a: TaskDone, b: TaskDone): boolean {
  return a.startedAt < b.endedAt && b.startedAt < a.endedAt;
}

/**
 * Runs a test of a race that may, by chance, not happen on one run: whether two Workers'
 * tasks overlap is up to the machine's scheduler. `attempt` asserts what must always hold
 * (a failure there fails at once) and returns what it saw when the race did not show; then
 * it runs once more, and fails with what both attempts saw.
 */
async function statistical(attempt: () => Promise<string | undefined>): Promise<void> {
  const missed: string[] = [];
  for (let run = 1; run <= 2; run++) {
    const miss = await attempt();
    if (miss === undefined) return;
    missed.push(`attempt ${run}: ${miss}`);
  }
  assert.fail(`the race did not show in 2 attempts\n${missed.join("\n")}`);
}

/** Sends COUNTER MODEL then a count; returns the answer line. */
async function countWith(client: RawClient, model: string, request: string): Promise<string> {
  await client.write(`COUNTER ${model}\n`);
  assert.equal(await client.readLine(), `OK counter ${model}`);
  await client.write(`${request}\n`);
  return (await client.readLine())!;
}

Deno.test("racy, 2 Workers, 40 increments (statistical, retried once): updates are lost, exactly as the tasks' reads and writes say", async () => {
  await statistical(async () => {
    await using server = startServer(LONG_WORK);
    await server.workersReady; // else the first Worker to load may run every task alone
    await using client = await RawClient.connect(server);
    const answer = await countWith(client, "racy", "0 40");
    const match = /^(\d+) \((\d+) updates? lost\)$/.exec(answer);
    assert.ok(match, `unexpected answer ${JSON.stringify(answer)}`);
    const [value, lost] = [Number(match[1]), Number(match[2])];
    const tasks = server.recorder.of("task-done");
    assert.equal(tasks.length, 40);
    // What the tasks read and wrote implies the answer, whatever the race did: every write is
    // read + 1; the erased updates add up to the loss; every value a write found was 0 or
    // written by another task.
    assert.equal(value + lost, 40);
    assert.ok(tasks.every((t) => t.value === t.read! + 1n));
    assert.equal(tasks.reduce((sum, t) => sum + t.erased!, 0), lost);
    const written = new Set(tasks.map((t) => t.value));
    assert.ok(
      tasks.every((t) =>
        t.read! + BigInt(t.erased!) === 0n || written.has(t.read! + BigInt(t.erased!))
      ),
    );
    assert.ok(written.has(BigInt(value)), "the answer is what some task wrote");
    const result = server.recorder.of("result")[0];
    assert.equal(result.updatesLost, lost);
    assert.equal(result.counter, "racy");
    await client.write("STATS\n");
    assert.equal(JSON.parse((await client.readLine())!).updates_lost, lost);
    // The race, by the Workers' own times: tasks on the two Workers ran at once. Each one read
    // before it spun and wrote after, so of two that overlap, one wrote over the other's update.
    const overlapping = tasks.filter((a) =>
      tasks.some((b) => a.worker !== b.worker && overlap(a, b))
    );
    if (overlapping.length < 2) return `the two Workers never ran at the same time (${answer})`;
    if (lost === 0) return `${overlapping.length} tasks overlapped, yet nothing was lost`;
    // A task that read a value another overlapping task also read: the same start, one lost.
    if (!tasks.some((t) => t.erased! > 0 && overlapping.includes(t))) {
      return `${lost} lost, but by no task that overlapped another`;
    }
  });
});

Deno.test("locked, 2 Workers: no two increments of one request overlap, and the answer is exact", async () => {
  await using server = startServer(LONG_WORK);
  await server.workersReady; // else the first Worker to load may run every task alone
  await using client = await RawClient.connect(server);
  assert.equal(await countWith(client, "locked", "5 40"), "45 (0 updates lost)");
  // Ordered by the shared cell's clock, not by the Workers' own clocks: two Workers' clocks
  // can disagree by more than the gap between one task's release and the next one's start.
  const tasks = server.recorder.of("task-done").sort((a, b) => a.readTick! - b.readTick!);
  assert.equal(tasks.length, 40);
  tasks.forEach((t, i) => {
    assert.equal(t.readTick, 2 * i + 1, `${t.task} read while another task held the lock`);
    assert.equal(t.writeTick, 2 * i + 2, `${t.task}: another task read or wrote in its section`);
  });
  assert.ok(tasks.every((t) => t.erased === 0));
  // Both Workers took part: they took turns.
  assert.deepEqual(new Set(tasks.map((t) => t.worker)), new Set([0, 1]));
});

Deno.test("the shared cell's own clock: locked tasks never interleave their read and write", async () => {
  using pool = new WorkerPool({ size: 2, iterationsPerUnit: 1_000_000 });
  await pool.ready;
  const cell = CounterCell.create("locked", 40);
  await pool.run({ tasks: 40, drawUnits: () => 2, payloads: cell, onDone: () => {} });
  const records = Array.from({ length: 40 }, (_, i) => cell.record(i + 1));
  const interleaved = records.filter((r) => r.writeTick !== r.readTick + 1).length;
  assert.equal(interleaved, 0, "a locked task let another read or write in its section");
  assert.equal(records.reduce((sum, r) => sum + r.erased, 0), 0);
  assert.equal(cell.value, 40);
});

Deno.test("the shared cell's own clock (statistical, retried once): racy tasks interleave their read and write", async () => {
  using pool = new WorkerPool({ size: 2, iterationsPerUnit: 1_000_000 });
  await pool.ready;
  await statistical(async () => {
    const cell = CounterCell.create("racy", 40);
    await pool.run({ tasks: 40, drawUnits: () => 2, payloads: cell, onDone: () => {} });
    const records = Array.from({ length: 40 }, (_, i) => cell.record(i + 1));
    const interleaved = records.filter((r) => r.writeTick !== r.readTick + 1).length;
    const lost = records.reduce((sum, r) => sum + r.erased, 0);
    assert.equal(cell.value + lost, 40);
    if (interleaved === 0) return "no racy task was interleaved";
    if (cell.value === 40) return `${interleaved} tasks interleaved, yet nothing was lost`;
  });
});

Deno.test("per-increment: exactly N Workers for N increments, none left running", async () => {
  // Watch the Workers from outside the runner: every one made, every one terminated.
  const made: Worker[] = [];
  const terminated = new Set<Worker>();
  const RealWorker = globalThis.Worker;
  globalThis.Worker = class extends RealWorker {
    constructor(url: string | URL, options?: WorkerOptions) {
      super(url, options);
      made.push(this);
    }
    override terminate(): void {
      terminated.add(this);
      super.terminate();
    }
  };
  try {
    using runner = new PerIncrementRunner({ size: 2, iterationsPerUnit: 1000 });
    const startMs: number[] = [];
    let mostAlive = 0;
    await runner.start({
      tasks: 7,
      drawUnits: () => 1,
      onDispatch: () => void (mostAlive = Math.max(mostAlive, made.length - terminated.size)),
      onDone: (r) => startMs.push(...r.map((t) => t.workerStartMs!)),
    }).done;
    assert.equal(made.length, 7);
    assert.equal(terminated.size, 7, "a Worker was left running");
    assert.ok(mostAlive <= 2, `${mostAlive} Workers alive at once, with 2 lanes`);
    assert.equal(startMs.length, 7);
    assert.ok(startMs.every((ms) => ms > 0), "each Worker's start-up is measured");
    assert.equal(runner.stats.workersStarted, 7);
    assert.equal(runner.stats.workersAlive, 0);
  } finally {
    globalThis.Worker = RealWorker;
  }
});

Deno.test("--model per-increment on the server: one Worker per increment, start-ups in the log events", async () => {
  await using server = startServer({ workerModel: "per-increment" });
  await using client = await RawClient.connect(server);
  await client.write("10 6\n");
  assert.equal(await client.readLine(), "16");
  const tasks = server.recorder.of("task-done");
  assert.equal(tasks.length, 6);
  assert.ok(tasks.every((t) => t.workerStartMs! > 0));
  assert.equal(server.recorder.of("result")[0].workerStarts?.count, 6);
  await client.write("STATS\n");
  const stats = JSON.parse((await client.readLine())!);
  assert.equal(stats.workers_started, 6);
  assert.equal(stats.workers_busy, 0);
});

Deno.test("COUNTER on one connection does not change another's", async () => {
  await using server = startServer();
  await using racy = await RawClient.connect(server);
  await using before = await RawClient.connect(server);
  await racy.write("COUNTER racy\n");
  assert.equal(await racy.readLine(), "OK counter racy");
  await using after = await RawClient.connect(server);
  for (const classic of [before, after]) {
    await classic.write("2 10\n");
    assert.equal(await classic.readLine(), "12"); // the classic reply, right
  }
  await racy.write("2 10\n");
  assert.match((await racy.readLine())!, /^\d+ \(\d+ updates? lost\)$/);
  const counting = server.recorder.of("counting");
  assert.deepEqual(counting.map((e) => e.counter), [undefined, undefined, "racy"]);
});

Deno.test("--counter sets the default model; a client's COUNTER parallel gets the lesson line", async () => {
  await using server = startServer({ counterModel: "locked" });
  await using client = await RawClient.connect(server);
  await client.write("0 4\n");
  assert.equal(await client.readLine(), "4"); // the classic reply for a classic client
  assert.equal(server.recorder.of("counting")[0].counter, "locked");
  assert.equal(await countWith(client, "parallel", "0 4"), "4 (0 updates lost)");
});

Deno.test("COUNTER and the server flags: models parsed, bad ones explained", () => {
  const options = { maxIncrements: 10 };
  assert.deepEqual(parseCommand("counter RACY", options), { kind: "counter", model: "racy" });
  assert.deepEqual(parseCommand(" COUNTER\tlocked ", options), {
    kind: "counter",
    model: "locked",
  });
  assert.throws(() => parseCommand("COUNTER fast", options), (error: unknown) => {
    assert.ok(error instanceof ProtocolError);
    assert.equal(error.code, "bad-request");
    assert.match(error.message, /COUNTER racy, COUNTER locked or COUNTER parallel/);
    return true;
  });
  const serverFlags = (...args: string[]) =>
    serverOptions(parseCommandLine(SERVER_COMMAND, args).flags);
  const parsed = serverFlags("--counter", "racy", "--model", "per-increment");
  assert.equal(parsed.counterModel, "racy");
  assert.equal(parsed.workerModel, "per-increment");
  assert.equal(serverFlags().counterModel, "parallel");
  assert.throws(() => serverFlags("--counter", "fast"), UsageError);
  assert.throws(() => serverFlags("--model", "threads"), /--model must be pool or per-increment/);
});

Deno.test("runLessons: one row per counter model and Worker model, each answer accounted for", async () => {
  const rows = await runLessons({
    increments: 6,
    start: 10n,
    server: { minUnits: 1, maxUnits: 1, iterationsPerUnit: 1000 },
  });
  assert.deepEqual(rows.map((r) => `${r.counter}/${r.workerModel}`), [
    "racy/pool",
    "racy/per-increment",
    "locked/pool",
    "locked/per-increment",
    "parallel/pool",
    "parallel/per-increment",
  ]);
  for (const row of rows) {
    assert.equal(row.expected, 16n);
    assert.equal(row.value + BigInt(row.updatesLost), 16n, row.answer);
    if (row.counter !== "racy") assert.equal(row.answer, "16 (0 updates lost)");
    assert.equal(row.workersStarted, row.workerModel === "pool" ? 2 : 6);
  }
  // A header, six rows, a blank line and one line per column saying what it means.
  const table = formatLessonsTable(rows).split("\n");
  assert.equal(table.length, 1 + 6 + 1 + 7);
  // Aligned: every column starts at the same place on every line of the table.
  const at = (line: string) => line.indexOf(line.includes("per-increment") ? "per" : "pool");
  assert.equal(new Set(table.slice(1, 7).map(at)).size, 1, table.join("\n"));
  assert.match(table[0], /^counter +Workers +answer +lost +wall +busy +starting Workers$/);
});

Deno.test("runLesson: a negative start gives a negative answer, read as the client reads it", async () => {
  const row = await runLesson("locked", "pool", {
    increments: 3,
    start: -5n,
    server: { minUnits: 1, maxUnits: 1, iterationsPerUnit: 1000 },
  });
  assert.equal(row.answer, "-2 (0 updates lost)");
  assert.equal(row.value, -2n);
  assert.equal(row.expected, -2n);
  assert.equal(row.updatesLost, 0);
});

Deno.test("racy with one Worker loses nothing: its tasks run one after another", async () => {
  await using server = startServer({ ...LONG_WORK, workers: 1 });
  await using client = await RawClient.connect(server);
  assert.equal(await countWith(client, "racy", "0 20"), "20 (0 updates lost)");
});

Deno.test("the log says what a racy task read and erased, each Worker's start-up, and the loss", () => {
  const at = Date.UTC(2026, 0, 1, 8);
  const task = formatEvent({
    type: "task-done",
    at,
    conn: "127.0.0.1:1",
    request: "R1",
    task: "R1#2",
    worker: 1,
    units: 2,
    startedAt: at,
    endedAt: at + 5,
    value: 4n,
    done: 2,
    total: 40,
    read: 3n,
    erased: 2,
    workerStartMs: 26.04,
  });
  assert.match(
    task,
    /: read 3, counter 5 → 4, erased 2 updates \(2\/40\), its Worker started in 26\.0 ms$/,
  );
  // A write over a value that fell back since its read restores updates: never a negative count.
  const restoring = formatEvent({
    type: "task-done",
    at,
    conn: "127.0.0.1:1",
    request: "R1",
    task: "R1#9",
    worker: 0,
    units: 1,
    startedAt: at,
    endedAt: at + 1,
    value: 6n,
    done: 9,
    total: 40,
    read: 5n,
    erased: -1,
  });
  assert.match(restoring, /: read 5, counter 4 → 6, restoring 1 update erased earlier \(9\/40\)$/);
  assert.doesNotMatch(restoring, /-1/);
  const result = formatEvent({
    type: "result",
    at,
    conn: "127.0.0.1:1",
    request: "R1",
    value: 22n,
    ms: 980,
    counter: "racy",
    updatesLost: 18,
    workerStarts: { count: 40, ms: 1059 },
  });
  assert.match(
    result,
    /result 22 sent \(980\.0 ms\) \[counter racy; 18 updates lost; 40 Workers started, 1059\.0 ms starting them\]$/,
  );
});

Deno.test("locked: a Worker lost while it holds the lock does not stall the request", async () => {
  const incidents: string[] = [];
  using pool = new WorkerPool({
    size: 2,
    iterationsPerUnit: 100_000,
    maxQueuedWork: 0,
    moduleUrl: new URL("./fixtures/lock_holder_worker.ts?task=3", import.meta.url),
    onIncident: (incident) => incidents.push(incident.reason),
  });
  await pool.ready;
  const cell = CounterCell.create("locked", 20);
  // Without the release the job would never end: a guard turns that hang into a failure.
  const stalled = Promise.withResolvers<never>();
  const guard = setTimeout(
    () => stalled.reject(new Error("the lock was never released")),
    30_000,
  );
  try {
    await Promise.race([
      pool.run({ tasks: 20, drawUnits: () => 1, payloads: cell, onDone: () => {} }),
      stalled.promise,
    ]);
  } finally {
    clearTimeout(guard);
  }
  assert.deepEqual(incidents, [
    "the Worker could not run a batch: lost task 3 while holding the lock, as asked",
  ]);
  assert.equal(cell.value, 20); // the lost task ran again, in its turn: nothing lost
});

Deno.test("lessons --schedule: the steps as a table, a column per Worker, the lost update marked", async () => {
  const run = await runSchedule([0, 1, 0, 1], { server: { workers: 2, iterationsPerUnit: 1000 } });
  assert.equal(run.answer, "1 (1 update lost)");
  const table = formatScheduleTable(run).split("\n");
  assert.match(table[0], /^step \| worker 0 +\| worker 1 +\| counter$/);
  assert.match(table[2], /^ {3}1 \| read 0 +\| +\| 0$/);
  assert.match(table[3], /^ {3}2 \| +\| read 0 +\| 0$/);
  assert.match(table[4], /^ {3}3 \| wrote 1 +\| +\| 1$/);
  assert.match(table[5], /^ {3}4 \| +\| wrote 1 {2}✗ erased 1 +\| 1$/);
  assert.equal(table.at(-1), "answer: 1 (1 update lost)");

  // With the lock, worker 1's try is a step of its own, and its write runs after the schedule.
  const locked = await runSchedule([0, 1, 0, 1], {
    counter: "locked",
    server: { workers: 2, iterationsPerUnit: 1000 },
  });
  assert.deepEqual(
    locked.steps.map((s) => `${s.worker} ${s.action} ${s.value ?? ""}${s.scheduled ? "" : " *"}`),
    ["0 read 0", "1 waits ", "0 wrote 1", "1 read 1", "1 wrote 2 *"],
  );
  assert.match(formatScheduleTable(locked), /\* ran freely, after the schedule ended/);
});

Deno.test("lessons --runs: the answers as a histogram, the right one marked even when it never came", async () => {
  const counts = await runHistogram(3, 4, {
    counter: "locked",
    server: { workers: 2, iterationsPerUnit: 1000 },
  });
  assert.deepEqual([...counts], [[4n, 3]]);
  assert.match(
    formatHistogram(counts, 4n),
    /^4 \| █+ +3 {2}← right\nright 3 times of 3 \(100 %\)$/,
  );
  const never = formatHistogram(new Map([[30n, 2], [36n, 4]]), 40n).split("\n");
  assert.match(never[2], /^40 \| +0 {2}← right$/);
  assert.equal(never[3], "right 0 times of 6 (0 %)");
});

Deno.test("the lessons say when other load makes wall times unreliable", () => {
  const row = (counter: CounterModel, wallMs: number) => ({
    counter,
    workerModel: "pool" as const,
    answer: "",
    value: 40n,
    expected: 40n,
    updatesLost: 0,
    wallMs,
    utilisation: 1,
    workersStarted: 2,
    workerStartMs: 1,
  });
  const shown = [row("locked", 2000), row("parallel", 1000)];
  assert.equal(loadNote(shown, 0.2, 4), undefined);
  assert.match(loadNote(shown, 3.9, 2)!, /busy with other work \(load 3\.9 on 2 cores\)/);
  // The lock did not show in wall time: said, whatever the load average.
  const hidden = [row("locked", 1100), row("parallel", 1000)];
  assert.match(loadNote(hidden, undefined, 4)!, /barely slower.*busy column still shows the lock/);
});

Deno.test("deno task lessons --schedule --predict asks first, then shows the steps and says who was right", async () => {
  const flags = denoTaskFlags("lessons", "lessons.ts");
  const args = ["--schedule", "0 1 0 1", "--iterations-per-unit", "1000", "--predict"];
  const { code, stdout, stderr } = await runDeno(["run", ...flags, "lessons.ts", ...args], {
    input: "2\n",
  });
  assert.equal(programStderr(stderr), "");
  assert.equal(code, 0);
  const question = stdout.indexOf("What will the counter be?");
  const table = stdout.indexOf("wrote 1  ✗ erased 1");
  assert.ok(question >= 0 && table > question, stdout);
  assert.match(stdout, /answer: 1 \(1 update lost\)\nYou said 2; it was 1\.\n$/);
});
