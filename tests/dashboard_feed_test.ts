import assert from "node:assert/strict";
import { DASHBOARD_PALETTE_SIZE } from "../lib/observe/dashboard/dashboard_bounds.ts";
import {
  DashboardFeed,
  type DashboardFeedOptions,
} from "../lib/observe/dashboard/dashboard_feed.ts";
import type { RequestSection } from "../lib/observe/dashboard/request_board.ts";
import { shortNumber } from "../lib/observe/dashboard/short_number.ts";
import { DASHBOARD_PALETTE } from "../lib/observe/dashboard/page_style.ts";
import { idleStats } from "./_helpers.ts";
import type { ServerEvent } from "../lib/server/server_events.ts";
import {
  DASHBOARD_BARS_PER_UPDATE,
  DASHBOARD_COLOUR_HOLD_MS,
  DASHBOARD_FINISHED_KEPT,
  DASHBOARD_HISTORY_BARS,
} from "../lib/defaults/defaults.ts";

const stats = idleStats;

function feedOf(options: Partial<DashboardFeedOptions> = {}): DashboardFeed {
  return new DashboardFeed({
    address: "127.0.0.1:50073",
    maxClients: 3,
    lanes: () => ["worker 0", "worker 1"],
    stats,
    ...options,
  });
}

const conn = (n: number) => `127.0.0.1:${40000 + n}`;

/** A task handed to a Worker (`task-queued`; the server named it `task-start` before). */
function queued(client: string, task: string, worker: number): ServerEvent {
  return {
    type: "task-queued",
    at: 0,
    conn: client,
    task,
    worker,
    units: 1,
  } as unknown as ServerEvent;
}

/** The events of one connection from its arrival to its admission. */
function arrive(feed: DashboardFeed, n: number, admission: "served" | "waiting", at = n) {
  feed.hear({ type: "accepted", at, conn: conn(n), active: 0, waiting: 0 });
  if (admission === "served") {
    feed.hear({ type: "served", at, conn: conn(n), active: 1, waiting: 0 });
  } else {
    feed.hear({ type: "waiting", at, conn: conn(n), position: 1 });
  }
}

/** A whole request: counting, `increments` tasks queued and done on worker `i % 2`, its end. */
function count(
  feed: DashboardFeed,
  request: string,
  client: string,
  start: bigint,
  increments: number,
  end: "result" | "request-failed" | "none" = "result",
) {
  feed.hear({ type: "counting", at: 0, conn: client, request, start, increments });
  for (let i = 1; i <= increments; i++) {
    const task = `${request}#${i}`;
    feed.hear(queued(client, task, i % 2));
    feed.hear({
      type: "task-done",
      at: 0,
      conn: client,
      request,
      task,
      worker: i % 2,
      units: 1,
      startedAt: Date.now() - 2,
      endedAt: Date.now() - 1,
      value: start + BigInt(i),
      done: i,
      total: increments,
    });
  }
  if (end === "result") {
    feed.hear({
      type: "result",
      at: 5,
      conn: client,
      request,
      value: start + BigInt(increments),
      ms: 5,
    });
  } else if (end === "request-failed") {
    feed.hear({ type: "request-failed", at: 5, conn: client, request, reason: "client gone" });
  }
}

Deno.test("DashboardFeed colours clients in arrival order, all distinct while the palette lasts", () => {
  assert.equal(DASHBOARD_PALETTE.length, DASHBOARD_PALETTE_SIZE);
  assert.equal(new Set(DASHBOARD_PALETTE).size, DASHBOARD_PALETTE.length);
  const feed = feedOf();
  for (let n = 0; n < 3; n++) arrive(feed, n, "served");
  for (let n = 3; n < 12; n++) arrive(feed, n, "waiting");
  const { clients } = feed.snapshot();
  assert.deepEqual(clients.slots, [conn(0), conn(1), conn(2)]);
  assert.deepEqual(clients.waiting, Array.from({ length: 9 }, (_, i) => conn(3 + i)));
  const colours = new Map(clients.colours.map(([c, colour, cue]) => [c, [colour, cue]]));
  for (let n = 0; n < 10; n++) assert.deepEqual(colours.get(conn(n)), [n, 0]);
  // Past the palette, the same hues again with a second cue.
  assert.deepEqual(colours.get(conn(10)), [0, 1]);
  assert.deepEqual(colours.get(conn(11)), [1, 1]);
});

Deno.test("DashboardFeed keeps a leaving client's colour from newcomers while its bars may show", () => {
  const feed = feedOf();
  arrive(feed, 0, "served", 1_000);
  arrive(feed, 1, "served", 1_000);
  count(feed, "R1", conn(0), 0n, 1); // conn 0 draws a bar
  feed.takeUpdate();
  const left = 2_000;
  feed.hear({ type: "closed", at: left, conn: conn(0), reason: "STOP" });
  arrive(feed, 2, "served", 3_000); // conn 0's bar may still be on screen
  const later = left + DASHBOARD_COLOUR_HOLD_MS + 1;
  arrive(feed, 3, "served", later); // it is gone: its colour is free again
  const colours = new Map(feed.snapshot().clients.colours.map(([c, colour]) => [c, colour]));
  assert.equal(colours.get(conn(2)), 2);
  assert.equal(colours.get(conn(3)), 0);
  // A client that drew nothing (turned away, or gone before counting) frees its colour at once.
  feed.hear({ type: "accepted", at: later + 1, conn: conn(4), active: 3, waiting: 0 });
  feed.hear({ type: "turned-away", at: later + 1, conn: conn(4), code: "busy", message: "" });
  arrive(feed, 5, "waiting", later + 2);
  feed.hear({ type: "closed", at: later + 3, conn: conn(5), reason: "end" });
  arrive(feed, 6, "waiting", later + 4);
  const after = new Map(feed.snapshot().clients.colours.map(([c, colour]) => [c, colour]));
  assert.equal(after.get(conn(6)), 3);
  assert.equal(after.has(conn(4)), false);
  assert.equal(after.has(conn(5)), false);
});

Deno.test("DashboardFeed draws queued tasks as queued and bars only from the Worker's own times", () => {
  const feed = feedOf();
  arrive(feed, 0, "served");
  feed.hear({ type: "counting", at: 0, conn: conn(0), request: "R1", start: 5n, increments: 3 });
  for (const n of [1, 2, 3]) {
    feed.hear(queued(conn(0), `R1#${n}`, 1));
  }
  let update = feed.takeUpdate();
  assert.deepEqual(update.bars, []);
  assert.deepEqual(update.queued, [0, 3]);
  assert.deepEqual(update.requests.map((r) => [r.start, r.value, r.target, r.done, r.total]), [
    ["5", "5", "8", 0, 3],
  ]);
  feed.hear({
    type: "task-done",
    at: 50,
    conn: conn(0),
    request: "R1",
    task: "R1#1",
    worker: 1,
    units: 2,
    startedAt: 10,
    endedAt: 20,
    value: 6n,
    done: 1,
    total: 3,
  });
  update = feed.takeUpdate();
  assert.deepEqual(update.bars, [["R1#1", 1, conn(0), 10, 20, 2]]);
  assert.equal(update.queued[1], 2);
  assert.deepEqual(update.requests.map((r) => [r.value, r.done]), [["6", 1]]);
  // The request ends with tasks still queued (its client left): they are no one's any more.
  feed.hear({ type: "request-failed", at: 60, conn: conn(0), request: "R1", reason: "gone" });
  update = feed.takeUpdate();
  assert.equal(update.queued[1], 0);
  assert.deepEqual(update.ended, ["R1"]);
  assert.deepEqual(update.finished?.map((f) => [f.request, f.failed]), [["R1", "gone"]]);
});

Deno.test("DashboardFeed forgets ended requests: 5 000 connections leave a small snapshot", () => {
  const inFlight: RequestSection[] = [];
  const feed = feedOf({ requestsInFlight: () => inFlight });
  for (let n = 0; n < 5000; n++) {
    arrive(feed, n, "served");
    // Every other request never reports its end (a client reset after the accept):
    // the server no longer has it in flight, so the dashboard drops it all the same.
    count(feed, `R${n + 1}`, conn(n), 0n, 2, n % 2 === 0 ? "result" : "none");
    feed.hear({ type: "closed", at: n, conn: conn(n), reason: "reset" });
    if (n % 100 === 99) feed.takeUpdate();
  }
  feed.takeUpdate();
  const snapshot = feed.snapshot();
  assert.deepEqual(snapshot.requests, []);
  assert.equal(snapshot.finished.length, DASHBOARD_FINISHED_KEPT);
  assert.deepEqual(snapshot.clients.slots, [null, null, null]);
  const bytes = JSON.stringify(snapshot).length;
  assert.ok(bytes < 1_000_000, `snapshot of ${bytes} bytes`);
});

Deno.test("DashboardFeed shows each request's Mutex as the server reports it", () => {
  const inFlight: RequestSection[] = [
    { request: "R1", conn: conn(0), sections: 4, sectionsWaited: 3, sectionHeld: true },
  ];
  const feed = feedOf({ requestsInFlight: () => inFlight });
  feed.hear({ type: "counting", at: 0, conn: conn(0), request: "R1", start: 0n, increments: 9 });
  assert.deepEqual(feed.snapshot().mutex, [
    { request: "R1", conn: conn(0), sections: 4, waited: 3, held: true },
  ]);
  assert.deepEqual(feedOf().snapshot().mutex, undefined);
});

Deno.test("DashboardFeed turns numbers into text once per update, not once per increment", () => {
  const feed = feedOf();
  const start = 7n * 10n ** 3999n; // a 4 000-digit start
  const original = BigInt.prototype.toString;
  let conversions = 0;
  BigInt.prototype.toString = function (this: bigint, radix?: number) {
    conversions++;
    return original.call(this, radix);
  };
  try {
    feed.hear({ type: "counting", at: 0, conn: conn(0), request: "R1", start, increments: 5000 });
    const atCounting = conversions; // the start and the target, once for the request
    assert.equal(atCounting, 2);
    for (let i = 1; i <= 5000; i++) {
      feed.hear({
        type: "task-done",
        at: 0,
        conn: conn(0),
        request: "R1",
        task: `R1#${i}`,
        worker: 0,
        units: 1,
        startedAt: 0,
        endedAt: 1,
        value: start + BigInt(i),
        done: i,
        total: 5000,
      });
    }
    assert.equal(conversions, atCounting, "hearing an increment turned a number into text");
    const update = feed.takeUpdate();
    assert.equal(conversions, atCounting + 1, "one conversion for the one changed request");
    assert.equal(update.requests[0].value, "7000000000…0000005000 (4000 digits)");
  } finally {
    BigInt.prototype.toString = original;
  }
});

Deno.test("DashboardFeed keeps a bounded recent window of bars for pages that connect", () => {
  const feed = feedOf();
  arrive(feed, 0, "served");
  count(feed, "R1", conn(0), 0n, DASHBOARD_BARS_PER_UPDATE + 70);
  const update = feed.takeUpdate();
  assert.equal(update.bars.length, DASHBOARD_BARS_PER_UPDATE);
  assert.equal(update.skipped, 70);
  // More updates, until more bars were sent than the window keeps.
  let sent = DASHBOARD_BARS_PER_UPDATE;
  let newest = "";
  for (let r = 2; sent <= DASHBOARD_HISTORY_BARS; r++) {
    count(feed, `R${r}`, conn(0), 0n, DASHBOARD_BARS_PER_UPDATE + 10);
    feed.takeUpdate();
    sent += DASHBOARD_BARS_PER_UPDATE;
    newest = `R${r}#${DASHBOARD_BARS_PER_UPDATE}`;
  }
  const { bars } = feed.snapshot();
  assert.equal(bars.length, DASHBOARD_HISTORY_BARS);
  assert.deepEqual(bars.at(-1)?.[0], newest); // newest kept, oldest dropped
  // Bars older than the window are dropped too.
  const old = feedOf();
  arrive(old, 0, "served");
  old.hear({ type: "counting", at: 0, conn: conn(0), request: "R1", start: 0n, increments: 1 });
  old.hear({
    type: "task-done",
    at: 0,
    conn: conn(0),
    request: "R1",
    task: "R1#1",
    worker: 0,
    units: 1,
    startedAt: 0,
    endedAt: 1, // long before now
    value: 1n,
    done: 1,
    total: 1,
  });
  old.takeUpdate();
  assert.deepEqual(old.snapshot().bars, []);
});

Deno.test("DashboardFeed sends the lanes when they change, as remote Workers join", () => {
  const lanes = ["worker 0", "worker 1"];
  const feed = feedOf({ lanes: () => lanes });
  assert.deepEqual(feed.snapshot().lanes, lanes);
  assert.equal(feed.takeUpdate().lanes, undefined);
  lanes.push("node-a/worker 1");
  assert.deepEqual(feed.takeUpdate().lanes, ["worker 0", "worker 1", "node-a/worker 1"]);
  assert.equal(feed.takeUpdate().lanes, undefined);
});

Deno.test("DashboardFeed rejects client slots that are not a positive integer", () => {
  for (const bad of [0, -1, 1.5, NaN, Infinity]) {
    assert.throws(() => feedOf({ maxClients: bad }), RangeError, `maxClients: ${bad}`);
  }
});

Deno.test("shortNumber() keeps short numbers whole and long ones to their ends", () => {
  assert.equal(shortNumber(-12n), "-12");
  assert.equal(shortNumber(-(10n ** 30n), 8), "-100…0000 (31 digits)");
  assert.equal(shortNumber(10n ** 19n), "10000000000000000000");
  assert.equal(shortNumber(10n ** 20n), "1000000000…0000000000 (21 digits)");
});
