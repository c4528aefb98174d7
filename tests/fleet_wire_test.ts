/** The fleet's pure parts: the wire format, URLs, malformed-message accounting, the no-workers bound. */
import assert from "node:assert/strict";
import {
  decodeBatch,
  decodeBye,
  decodeHello,
  decodeReport,
  encodeBatch,
  encodeBye,
  encodeHello,
  MalformedMessageError,
  nodeName,
} from "../lib/fleet/fleet_wire.ts";
import { MalformedMessages, type MalformedReport } from "../lib/fleet/malformed_messages.ts";
import { parseNatsUrl } from "../lib/fleet/nats_connection.ts";
import { NoWorkersWatch } from "../lib/fleet/no_workers.ts";
import { NoWorkersError } from "../lib/pool/job_queue.ts";
import { parseNodeArgs } from "../lib/fleet/node_cli.ts";
import { UsageError } from "../lib/cli/flags.ts";
import { MAX_TASKS_PER_BATCH, MAX_UNITS_PER_TASK } from "../lib/defaults/defaults.ts";

const bytesOf = (numbers: number[]) => encodeBatch(new Float64Array(numbers));

Deno.test("decodeBatch() takes a well-formed batch and refuses everything else", async (t) => {
  assert.deepEqual(
    decodeBatch(bytesOf([1000, 1, 2, 9, 0])),
    new Float64Array([1000, 1, 2, 9, 0]),
  );
  const bad: [string, Uint8Array][] = [
    ["empty", new Uint8Array(0)],
    ["text", new TextEncoder().encode("2 10\n")],
    ["not whole numbers of 8 bytes", new Uint8Array(12)],
    ["no task", bytesOf([1000])],
    ["half a task", bytesOf([1000, 1])],
    ["negative units", bytesOf([1000, 1, -1])],
    ["fractional units", bytesOf([1000, 1, 1.5])],
    ["NaN units", bytesOf([1000, 1, NaN])],
    ["too many units", bytesOf([1000, 1, MAX_UNITS_PER_TASK + 1])],
    ["id 0", bytesOf([1000, 0, 1])],
    ["Infinity iterations", bytesOf([Infinity, 1, 1])],
    ["too many tasks", bytesOf([1, ...Array(2 * (MAX_TASKS_PER_BATCH + 1)).fill(1)])],
  ];
  for (const [name, bytes] of bad) {
    await t.step(name, () => assert.throws(() => decodeBatch(bytes), MalformedMessageError));
  }
});

Deno.test("decodeReport() takes a report and refuses what cannot be one", () => {
  const report = new Float64Array([7, 2, 1000.5, 1003.25]);
  assert.deepEqual(decodeReport(encodeBatch(report)), report);
  for (
    const numbers of [[], [7, 2, 1000], [7, 2, 1003, 1000], [7, 2, NaN, 1], [0, 1, 1, 2]]
  ) {
    assert.throws(() => decodeReport(bytesOf(numbers)), MalformedMessageError, String(numbers));
  }
});

Deno.test("decodeHello() and decodeBye() check every field", () => {
  assert.deepEqual(decodeHello(encodeHello({ node: "pc-1", workers: 4, busy: 1 })), {
    node: "pc-1",
    workers: 4,
    busy: 1,
  });
  assert.equal(decodeBye(encodeBye("pc-1")), "pc-1");
  const bad = [
    "",
    "null",
    "[]",
    '{"node":"a","workers":1,"busy":0}',
    '{"v":1,"node":"a.b","workers":1,"busy":0}',
    '{"v":1,"node":"a","workers":0,"busy":0}',
    '{"v":1,"node":"a","workers":2,"busy":3}',
    '{"v":1,"node":"a","workers":"2","busy":0}',
    '{"v":1,"node":"a>","workers":1,"busy":0}',
  ];
  for (const text of bad) {
    const bytes = new TextEncoder().encode(text);
    assert.throws(() => decodeHello(bytes), MalformedMessageError, text);
  }
  assert.throws(() => decodeBye(new TextEncoder().encode('{"v":1,"node":"*"}')));
  assert.throws(() => decodeHello(new Uint8Array([0xff, 0xfe])), MalformedMessageError);
});

Deno.test("nodeName() makes a subject token or says what is wrong", () => {
  assert.equal(nodeName("lab.pc 3"), "lab-pc-3");
  assert.equal(nodeName("x".repeat(100)).length, 64);
  assert.throws(() => nodeName("..."), RangeError);
});

Deno.test("parseNatsUrl() reads servers, user and password, or a token", () => {
  assert.deepEqual(parseNatsUrl("nats://127.0.0.1:4222"), { servers: ["127.0.0.1:4222"] });
  assert.deepEqual(parseNatsUrl("nats://al%40x:p%3Aw@h:1,nats://al%40x:p%3Aw@g"), {
    servers: ["h:1", "g:4222"],
    user: "al@x",
    pass: "p:w",
  });
  assert.deepEqual(parseNatsUrl("s3cret@h"), { servers: ["h:4222"], token: "s3cret" });
  for (const bad of ["", "http://h:4222", "nats://", ","]) {
    assert.throws(() => parseNatsUrl(bad), TypeError, bad);
  }
});

Deno.test("parseNodeArgs() checks --workers", () => {
  assert.equal(parseNodeArgs(["--workers", "3"]).workers, 3);
  for (const bad of ["0", "-1", "1.5", "x", "1025"]) {
    assert.throws(() => parseNodeArgs([`--workers=${bad}`]), /--workers must be/);
  }
  assert.throws(() => parseNodeArgs(["--bogus"]), /see --help/);
});

Deno.test("parseNodeArgs() makes --name a subject token, and refuses one with nothing left", () => {
  assert.equal(parseNodeArgs(["--name", "lab-pc.school"]).name, "lab-pc-school");
  assert.equal(parseNodeArgs([]).name, undefined);
  assert.throws(
    () => parseNodeArgs(["--name", "..."]),
    new UsageError('--name: a node name needs a letter or digit: received "..."'),
  );
});

Deno.test("MalformedMessages counts every one and reports at most once an interval", () => {
  let now = 0;
  const reports: MalformedReport[] = [];
  const malformed = new MalformedMessages({
    log: (r) => reports.push(r),
    now: () => now,
    intervalMs: 1000,
  });
  for (let i = 0; i < 5; i++) malformed.drop("s", "bad");
  now = 999;
  malformed.drop("s", "bad");
  now = 1000;
  malformed.drop("t", "worse");
  assert.equal(malformed.count, 7);
  assert.deepEqual(reports, [
    { subject: "s", reason: "bad", dropped: 1, count: 1 },
    { subject: "t", reason: "worse", dropped: 6, count: 7 },
  ]);
});

Deno.test("NoWorkersWatch fails a job only after waitMs with no Worker up", async () => {
  let now = 0;
  let ready = 0;
  using watch = new NoWorkersWatch({ readyWorkers: () => ready, waitMs: 1000, now: () => now });
  const settled: (string | Error)[] = [];
  const job = () => {
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    promise.then(() => settled.push("done"), (e) => settled.push(e));
    return { done: promise, cancel: reject, resolve };
  };
  const first = job();
  watch.watch(first);
  now = 999;
  ready = 1; // a node came: the clock restarts when it goes
  watch.watch(job());
  ready = 0;
  now = 1500;
  const second = job();
  watch.watch(second);
  first.resolve();
  await first.done;
  now = 2499;
  const third = job();
  watch.watch(third);
  await Promise.resolve();
  assert.deepEqual(settled, ["done"]);
  now = 2500;
  watch.watch(job());
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.ok(settled.slice(1).every((e: unknown) => e instanceof NoWorkersError));
  assert.equal(settled.length, 3, "the two that waited 1 s since the last Worker went");
  assert.equal(new NoWorkersError("x").code, "no-workers");
});
