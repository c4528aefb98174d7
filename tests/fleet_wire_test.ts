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
  randomToken,
} from "../lib/fleet/fleet_wire.ts";
import { checkReport } from "../lib/fleet/report_check.ts";
import { LaneSeats } from "../lib/fleet/lane_seats.ts";
import { FREE_LANE_NAME } from "../lib/fleet/remote_lane.ts";
import { MalformedMessages, type MalformedReport } from "../lib/fleet/malformed_messages.ts";
import { parseNatsUrl, resolveNatsUrl } from "../lib/fleet/nats_connection.ts";
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
  const session = randomToken();
  const secret = randomToken();
  const key = "ab".repeat(32);
  const hello = { node: "pc-1", workers: 4, busy: 1, session, byeKey: key };
  assert.deepEqual(decodeHello(encodeHello(hello)), hello);
  assert.deepEqual(decodeBye(encodeBye({ node: "pc-1", session, secret })), {
    node: "pc-1",
    session,
    secret,
  });
  const fields = `"session":"${session}","byeKey":"${key}"`;
  const bad = [
    "",
    "null",
    "[]",
    `{"node":"a","workers":1,"busy":0,${fields}}`,
    `{"v":1,"node":"a","workers":1,"busy":0,${fields}}`,
    `{"v":2,"node":"a.b","workers":1,"busy":0,${fields}}`,
    `{"v":2,"node":"a","workers":0,"busy":0,${fields}}`,
    `{"v":2,"node":"a","workers":2,"busy":3,${fields}}`,
    `{"v":2,"node":"a","workers":"2","busy":0,${fields}}`,
    `{"v":2,"node":"a>","workers":1,"busy":0,${fields}}`,
    `{"v":2,"node":"a","workers":1,"busy":0,"byeKey":"${key}"}`,
    `{"v":2,"node":"a","workers":1,"busy":0,"session":"short","byeKey":"${key}"}`,
    `{"v":2,"node":"a","workers":1,"busy":0,"session":"${session}","byeKey":"XY"}`,
  ];
  for (const text of bad) {
    const bytes = new TextEncoder().encode(text);
    assert.throws(() => decodeHello(bytes), MalformedMessageError, text);
  }
  for (
    const text of [
      `{"v":2,"node":"*","session":"${session}","secret":"${secret}"}`,
      `{"v":2,"node":"a","session":"${session}"}`,
      `{"v":2,"node":"a","session":"x","secret":"${secret}"}`,
    ]
  ) {
    assert.throws(() => decodeBye(new TextEncoder().encode(text)), MalformedMessageError, text);
  }
  assert.throws(() => decodeHello(new Uint8Array([0xff, 0xfe])), MalformedMessageError);
});

Deno.test("checkReport() believes only what fits the batch that was sent", async (t) => {
  const batch = { units: new Map([[1, 2], [2, 3]]), sentAt: 10_000, receivedAt: 10_050 };
  const good = [1, 2, 10_010, 10_020, 2, 3, 10_020, 10_045];
  assert.deepEqual([...checkReport(new Float64Array(good), batch)], good);
  await t.step("a node's clock off by an hour: moved to end when the reply came", () => {
    const skewed = good.map((n, i) => i % 4 >= 2 ? n + 3_600_000 : n);
    assert.deepEqual(
      [...checkReport(new Float64Array(skewed), batch)],
      [1, 2, 10_015, 10_025, 2, 3, 10_025, 10_050],
    );
  });
  await t.step("a task left out is not a lie (the lane hands it back)", () => {
    assert.equal(checkReport(new Float64Array(good.slice(0, 4)), batch).length, 4);
  });
  const bad: [string, number[]][] = [
    ["absurd times", [1, 2, -1e306, 1e306]],
    ["a run longer than the batch was out", [1, 2, 0, 52]],
    ["a task not sent", [3, 2, 10_010, 10_020]],
    ["a task twice", [1, 2, 10_010, 10_020, 1, 2, 10_020, 10_030]],
    ["other units than sent", [1, 5, 10_010, 10_020]],
    ["ends before it starts", [1, 2, 10_020, 10_010]],
    ["overlapping tasks", [1, 2, 10_010, 10_030, 2, 3, 10_020, 10_040]],
  ];
  for (const [name, numbers] of bad) {
    await t.step(name, () => {
      assert.throws(() => checkReport(new Float64Array(numbers), batch), MalformedMessageError);
    });
  }
});

Deno.test("LaneSeats reuses freed seats, a returning Worker's own first", () => {
  /** A lane as the seats see it: bound to a name, or free. */
  const fakeLane = () => {
    const lane = {
      name: FREE_LANE_NAME,
      node: undefined as string | undefined,
      inFlight: 0,
      isUp: false,
      bind(node: string, worker: number) {
        lane.node = node;
        lane.name = `${node}/worker ${worker}`;
      },
      unbind() {
        lane.node = undefined;
        lane.name = FREE_LANE_NAME;
      },
    };
    return lane;
  };
  let made = 0;
  const seats = new LaneSeats(() => (made++, fakeLane()));
  const a = seats.take("a", 0);
  const b = seats.take("b", 0);
  seats.free(a, "a left");
  seats.free(b, "b left");
  assert.equal(seats.take("a", 0), a, "a's own seat, though b's was freed last");
  assert.equal(seats.take("c", 0), b);
  assert.equal(made, 2);
  assert.deepEqual(seats.all.map((lane) => lane.name), ["a/worker 0", "c/worker 0"]);
  assert.deepEqual(seats.counts(), { bound: 2, boundBusy: 0, seats: 2, busy: 0, up: 0 });
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
  // localhost is 127.0.0.1 without asking a resolver (which deno task server may not reach).
  assert.deepEqual(parseNatsUrl("nats://localhost:4333").servers, ["127.0.0.1:4333"]);
  for (const bad of ["", "http://h:4222", "nats://", ","]) {
    assert.throws(() => parseNatsUrl(bad), TypeError, bad);
  }
});

Deno.test("resolveNatsUrl() reads the URL from a variable or a file, never the command line", async () => {
  const read = {
    env: (name: string) => name === "SET" ? "nats://u:p@h:4222\n" : undefined,
    file: (path: string) => {
      if (path === "/url") return Promise.resolve("nats://u:p@h:4222\n# a comment\n");
      if (path === "/empty") return Promise.resolve("\n");
      return Promise.reject(new Deno.errors.NotFound(`no ${path}`));
    },
  };
  assert.equal(await resolveNatsUrl("env:SET", read), "nats://u:p@h:4222");
  assert.equal(await resolveNatsUrl("file:/url", read), "nats://u:p@h:4222");
  assert.equal(await resolveNatsUrl("nats://h:1", read), "nats://h:1");
  await assert.rejects(resolveNatsUrl("env:UNSET", read), /UNSET is not set/);
  await assert.rejects(resolveNatsUrl("file:/nope", read), /--allow-read=\/nope/);
  await assert.rejects(resolveNatsUrl("file:/empty", read), /first line/);
  const denied = {
    env: () => {
      throw new Deno.errors.NotCapable("Requires env access");
    },
    file: read.file,
  };
  await assert.rejects(resolveNatsUrl("env:X", denied), /--allow-env=X/);
});

Deno.test("parseNodeArgs() takes the node's work caps, the server's defaults unless given", () => {
  const line = parseNodeArgs([]);
  assert.equal(line.maxUnits, 10);
  assert.equal(line.maxIterationsPerUnit, 8_000_000);
  assert.equal(line.natsUrl, undefined, "the URL then comes from THREADCOUNT_NATS_URL");
  const raised = parseNodeArgs(["--max-units", "20", "--iterations-per-unit", "1000"]);
  assert.deepEqual([raised.maxUnits, raised.maxIterationsPerUnit], [20, 1000]);
  assert.throws(() => parseNodeArgs(["--max-units", "-1"]), /--max-units must be/);
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

Deno.test("MalformedMessages.flush(): the drops a burst left unlogged are logged once the interval has passed", () => {
  let now = 0;
  const reports: MalformedReport[] = [];
  const malformed = new MalformedMessages({
    log: (r) => reports.push(r),
    now: () => now,
    intervalMs: 1000,
  });
  malformed.drop("hello.evil", "bad workers");
  for (let i = 0; i < 40; i++) malformed.drop("bye.lab-b", "a goodbye without the secret");
  now = 999;
  malformed.flush();
  assert.equal(reports.length, 1, "not before the interval");
  now = 1000;
  malformed.flush();
  malformed.flush();
  assert.deepEqual(reports, [
    { subject: "hello.evil", reason: "bad workers", dropped: 1, count: 1 },
    { subject: "bye.lab-b", reason: "a goodbye without the secret", dropped: 40, count: 41 },
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
