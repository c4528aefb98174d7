import assert from "node:assert/strict";
import { EventLog, formatEvent } from "../lib/observe/event_log.ts";
import type { ServerEvent } from "../lib/server/server_events.ts";
import { connect, TINY_WORK } from "./_helpers.ts";
import { ThreadcountServer } from "../lib/server/threadcount_server.ts";

const taskDone = (at: number, n: number): Extract<ServerEvent, { type: "task-done" }> => ({
  type: "task-done",
  at,
  conn: "127.0.0.1:5000",
  request: "R1",
  task: `R1#${n}`,
  worker: n % 2,
  units: 1,
  startedAt: at,
  endedAt: at,
  value: BigInt(n),
  done: n,
  total: 1000,
});

Deno.test("EventLog prints each event while the rate is humane, then one summary line a second", () => {
  let now = 0;
  const lines: string[] = [];
  const log = new EventLog({ write: (l) => lines.push(l), linesPerSecond: 10, now: () => now });
  for (let n = 1; n <= 250; n++) log.print(taskDone(now, n)); // a burst in the first second
  assert.equal(lines.length, 10);
  now = 1000; // the next second: its first event prints the summary of the last
  log.print({ type: "closed", at: now, conn: "127.0.0.1:5000", reason: "STOP" });
  assert.equal(lines.length, 12);
  assert.match(
    lines[10],
    /240 more events in the last second, too fast to print one per line \(240 task-done\); --verbose prints them all/,
  );
  assert.match(lines[11], /127\.0\.0\.1:5000 closed \(STOP\)$/);
  log.flush();
  assert.equal(lines.length, 12, "nothing left to summarise");
});

Deno.test("EventLog --verbose prints everything; --quiet keeps start-up, errors and shutdown", () => {
  const verbose: string[] = [];
  const all = new EventLog({
    write: (l) => verbose.push(l),
    verbose: true,
    linesPerSecond: 1,
    now: () => 0,
  });
  for (let n = 1; n <= 50; n++) all.print(taskDone(0, n));
  assert.equal(verbose.length, 50);

  const quiet: string[] = [];
  const few = new EventLog({ write: (l) => quiet.push(l), quiet: true, now: () => 0 });
  few.print({ type: "listening", at: 0, address: "127.0.0.1:1", workers: 2, maxClients: 10 });
  few.print(taskDone(0, 1));
  few.print({ type: "client-error", at: 0, conn: "c", code: "bad-request", message: "no" });
  few.print({ type: "stopped", at: 0 });
  assert.equal(quiet.length, 3);
  assert.match(quiet.join("\n"), /listening[\s\S]*error sent: bad-request no[\s\S]*stopped/);
});

Deno.test("formatEvent names time, connection, task and worker", () => {
  const at = Date.UTC(2026, 10, 24, 9, 30, 15, 250);
  assert.equal(
    formatEvent({ ...taskDone(at, 4), startedAt: at - 12, endedAt: at - 12 + 12.3 }),
    "09:30:15.250 127.0.0.1:5000 R1#4 ran on worker 0 from 09:30:15.238 for 12.3 ms (1 unit): " +
      "counter 4 (4/1000)",
  );
  assert.equal(
    formatEvent({ type: "waiting", at, conn: "127.0.0.1:6000", position: 3 }),
    "09:30:15.250 127.0.0.1:6000 waiting for a slot (position 3)",
  );
});

Deno.test("task events are built only while someone wants them: the log, only while it prints", async () => {
  const now = 0; // a frozen clock: every line falls in the same second
  const lines: string[] = [];
  // No recorder: it would want every event.
  await using server = new ThreadcountServer({ ...TINY_WORK });
  const log = new EventLog({
    write: (l) => lines.push(l),
    linesPerSecond: 3,
    now: () => now,
    tasksDone: () => server.stats().tasks_done,
  });
  using _log = server.events.subscribe((e) => log.print(e), {
    tasks: () => log.wantsTaskEvents(),
  });
  // A listener that never asks for task events sees them only if someone else made them.
  let taskEventsBuilt = 0;
  using _spy = server.events.subscribe((e) => {
    if (e.type === "task-queued" || e.type === "task-done") taskEventsBuilt++;
  }, { tasks: () => false });
  await using client = await connect(server);
  assert.deepEqual(await client.request("0 1000"), { kind: "value", text: "1000" });
  // accepted, served, counting: three lines, then the log wants no more, and none are built.
  assert.equal(lines.length, 3);
  assert.equal(taskEventsBuilt, 0);
  log.flush();
  assert.match(lines[3], /1 more event in the last second.*\(1 result, 1000 increments done\)/);

  // A listener that wants every event (the dashboard, the trace) keeps them coming.
  using _all = server.events.subscribe(() => {});
  assert.deepEqual(await client.request("0 10"), { kind: "value", text: "10" });
  assert.equal(taskEventsBuilt, 20, "10 queued and 10 done");
  await client[Symbol.asyncDispose]();
  log.flush();
});

Deno.test("EventLog calls a client that named itself by its name, its address beside it, until it closes", () => {
  const lines: string[] = [];
  const log = new EventLog({ write: (l) => lines.push(l), verbose: true });
  const conn = "127.0.0.1:60032";
  log.print({ type: "named", at: 0, conn, name: "alice" });
  log.print({ type: "counting", at: 0, conn, request: "R1", start: 0n, increments: 2 });
  log.print({ type: "closed", at: 0, conn, reason: "STOP" });
  log.print({ type: "accepted", at: 0, conn, active: 1, waiting: 0 }); // another client, same port
  assert.deepEqual(lines.map((line) => line.slice(13)), [
    "127.0.0.1:60032 is called alice from now on",
    "alice (127.0.0.1:60032) R1: counting 2 increments from 0",
    "alice (127.0.0.1:60032) closed (STOP)",
    "127.0.0.1:60032 accepted (1 served, 0 waiting)",
  ]);
});
