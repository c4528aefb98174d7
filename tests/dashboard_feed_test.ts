import {
  DASHBOARD_BARS_PER_UPDATE,
  DASHBOARD_COLOUR_HOLD_MS,
  DASHBOARD_FINISHED_KEPT,
  DASHBOARD_HISTORY_BARS,
  DASHBOARD_LANE_BARS_PER_UPDATE,
  DASHBOARD_LANES_SHOWN,
  DASHBOARD_MESSAGE_BYTES,
  DASHBOARD_REQUESTS_LISTED,
  DASHBOARD_SLOTS_SHOWN,
  DASHBOARD_WAITING_LISTED,
} from "../lib/defaults/defaults.ts";
import assert from "node:assert/strict";
import {
  DASHBOARD_COLOURS,
  DASHBOARD_PALETTE_SIZE,
} from "../lib/observe/dashboard/dashboard_bounds.ts";
import {
  DashboardFeed,
  type DashboardFeedOptions,
} from "../lib/observe/dashboard/dashboard_feed.ts";
import type { Message } from "../lib/observe/dashboard/dashboard_message.ts";
import { FREE_LANE_NAME } from "../lib/fleet/remote_lane.ts";
import type {
  DashboardSnapshot,
  DashboardUpdate,
} from "../lib/observe/dashboard/dashboard_views.ts";
import type { RequestSection } from "../lib/observe/dashboard/request_board.ts";
import { shortNumber } from "../lib/observe/dashboard/short_number.ts";
import { DASHBOARD_PALETTE } from "../lib/observe/dashboard/page_style.ts";
import { idleStats } from "./_helpers.ts";
import type { ServerEvent } from "../lib/server/server_events.ts";

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

/** The message's event name and data. */
function decode(message: Message): { name: string; data: DashboardSnapshot & DashboardUpdate } {
  const text = new TextDecoder().decode(message.bytes);
  const [, name, data] = /^event: (\w+)\ndata: (.*)\n\n$/s.exec(text)!;
  return { name, data: JSON.parse(data) };
}
const snapshotOf = (feed: DashboardFeed) => decode(feed.snapshot()).data;
const updateOf = (feed: DashboardFeed) => decode(feed.takeUpdate()).data;

/** Each client shown (slots and waiting line) with its colour key. */
function coloursOf(view: DashboardSnapshot["clients"]): Map<string, number> {
  return new Map([...view.slots.filter((tag) => tag !== null), ...view.waiting]);
}

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
  lanes = 2,
) {
  feed.hear({ type: "counting", at: 0, conn: client, request, start, increments });
  for (let i = 1; i <= increments; i++) {
    const task = `${request}#${i}`;
    feed.hear(queued(client, task, i % lanes));
    feed.hear({
      type: "task-done",
      at: 0,
      conn: client,
      request,
      task,
      worker: i % lanes,
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
  const { clients } = snapshotOf(feed);
  assert.deepEqual(clients.slots.map((tag) => tag?.[0]), [conn(0), conn(1), conn(2)]);
  assert.deepEqual(
    clients.waiting.map(([c]) => c),
    Array.from({ length: 9 }, (_, i) => conn(3 + i)),
  );
  // Keys in arrival order: palette index n, then past the palette the same hues with cue 1.
  const colours = coloursOf(clients);
  for (let n = 0; n < 12; n++) assert.equal(colours.get(conn(n)), n);
  assert.equal(DASHBOARD_PALETTE_SIZE, 10, "conn 10 is palette index 0 with cue 1");
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
  const colours = coloursOf(snapshotOf(feed).clients);
  assert.equal(colours.get(conn(2)), 2);
  assert.equal(colours.get(conn(3)), 0);
  // A client that drew nothing (turned away, or gone before counting) frees its colour at once.
  feed.hear({ type: "accepted", at: later + 1, conn: conn(4), active: 3, waiting: 0 });
  feed.hear({ type: "turned-away", at: later + 1, conn: conn(4), code: "busy", message: "" });
  arrive(feed, 5, "waiting", later + 2);
  feed.hear({ type: "closed", at: later + 3, conn: conn(5), reason: "end" });
  arrive(feed, 6, "waiting", later + 4);
  const after = coloursOf(snapshotOf(feed).clients);
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
  let update = updateOf(feed);
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
  update = updateOf(feed);
  const [bar] = update.bars;
  assert.deepEqual([bar[0], bar[1], bar[2], bar[5]], ["R1#1", 1, 0, 2]);
  // Times relative to the message's now, to a tenth of a ms.
  assert.ok(
    Math.abs(update.now + bar[3] - 10) <= 0.05 && Math.abs(update.now + bar[4] - 20) <= 0.05,
  );
  assert.equal(update.queued[1], 2);
  assert.deepEqual(update.requests.map((r) => [r.value, r.done]), [["6", 1]]);
  // The request ends with tasks still queued (its client left): they are no one's any more.
  feed.hear({ type: "request-failed", at: 60, conn: conn(0), request: "R1", reason: "gone" });
  update = updateOf(feed);
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
  const message = feed.snapshot();
  const snapshot = decode(message).data;
  assert.deepEqual(snapshot.requests, []);
  assert.equal(snapshot.finished.length, DASHBOARD_FINISHED_KEPT);
  assert.deepEqual(snapshot.clients.slots, [null, null, null]);
  assert.ok(message.bytes.length <= DASHBOARD_MESSAGE_BYTES, `${message.bytes.length} bytes`);
});

Deno.test("DashboardFeed shows each request's Mutex as the server reports it", () => {
  const inFlight: RequestSection[] = [
    { request: "R1", conn: conn(0), sections: 4, sectionsWaited: 3, sectionHeld: true },
  ];
  const feed = feedOf({ requestsInFlight: () => inFlight });
  // A client that named itself is shown by its name there too, as in its request's row.
  arrive(feed, 0, "served");
  feed.hear({ type: "named", at: 0, conn: conn(0), name: "alice" });
  feed.hear({ type: "counting", at: 0, conn: conn(0), request: "R1", start: 0n, increments: 9 });
  const snapshot = snapshotOf(feed);
  assert.equal(snapshot.requests[0].conn, "alice");
  assert.deepEqual(snapshot.mutex, [
    {
      request: "R1",
      conn: "alice",
      colour: snapshot.requests[0].colour,
      sections: 4,
      waited: 3,
      held: true,
      counter: "parallel",
    },
  ]);
  assert.deepEqual(snapshotOf(feedOf()).mutex, undefined);
});

Deno.test("DashboardFeed says each request's counter model, and a racy one's lost updates", () => {
  const inFlight: RequestSection[] = [
    { request: "R1", conn: conn(0), sections: 0, sectionsWaited: 0, sectionHeld: false },
  ];
  const feed = feedOf({ requestsInFlight: () => inFlight });
  feed.hear({
    type: "counting",
    at: 0,
    conn: conn(0),
    request: "R1",
    start: 0n,
    increments: 60,
    counter: "racy",
  });
  // Three increments applied, but the last write put the counter at 2: one update lost.
  for (const [done, value] of [[1, 1n], [2, 1n], [3, 2n]] as const) {
    feed.hear({
      type: "task-done",
      at: 0,
      conn: conn(0),
      request: "R1",
      task: `R1#${done}`,
      worker: done % 2,
      units: 1,
      startedAt: 0,
      endedAt: 1,
      value,
      done,
      total: 60,
    });
  }
  const snapshot = snapshotOf(feed);
  assert.deepEqual(
    [snapshot.requests[0].counter, snapshot.requests[0].lost, snapshot.mutex?.[0].lost],
    ["racy", 1, 1],
  );
  assert.equal(snapshot.mutex?.[0].counter, "racy");
  feed.hear({
    type: "result",
    at: 9,
    conn: conn(0),
    request: "R1",
    value: 42n,
    ms: 9,
    counter: "racy",
    updatesLost: 18,
  });
  const [finished] = snapshotOf(feed).finished;
  assert.deepEqual([finished.counter, finished.result, finished.lost], ["racy", "42", 18]);
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
    const update = updateOf(feed);
    assert.equal(conversions, atCounting + 1, "one conversion for the one changed request");
    assert.equal(update.requests[0].value, "7000000000…0000005000 (4000 digits)");
  } finally {
    BigInt.prototype.toString = original;
  }
});

Deno.test("DashboardFeed keeps a bounded recent window of bars for pages that connect", () => {
  // Lanes enough that none has more bars an update than DASHBOARD_LANE_BARS_PER_UPDATE.
  const lanes = Array.from({ length: 64 }, (_, i) => `worker ${i}`);
  const feed = feedOf({ lanes: () => lanes });
  arrive(feed, 0, "served");
  // More updates, until more bars were sent than the window keeps.
  let sent = 0;
  let newest = "";
  for (let r = 1; sent <= DASHBOARD_HISTORY_BARS; r++) {
    count(feed, `R${r}`, conn(0), 0n, DASHBOARD_BARS_PER_UPDATE + 10, "result", 64);
    feed.takeUpdate();
    sent += DASHBOARD_BARS_PER_UPDATE;
    newest = `R${r}#${DASHBOARD_BARS_PER_UPDATE}`;
  }
  const message = feed.snapshot();
  const { bars, summary } = decode(message).data;
  // Newest kept; what the window keeps beyond one message is summarised, never dropped unsaid.
  assert.equal(message.drawn + message.summarised, DASHBOARD_HISTORY_BARS);
  assert.equal(bars.length, message.drawn);
  assert.equal(summary.reduce((n, [, count]) => n + count, 0), message.summarised);
  assert.deepEqual(bars.at(-1)?.[0], newest);
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
  assert.deepEqual(snapshotOf(old).bars, []);
});

Deno.test("DashboardFeed sends the lanes when they change, as remote Workers join and leave", () => {
  const lanes = ["worker 0", "worker 1"];
  const feed = feedOf({ lanes: () => lanes });
  assert.deepEqual(snapshotOf(feed).lanes, { names: lanes, total: 2, gone: [] });
  assert.equal(updateOf(feed).lanes, undefined);
  lanes.push("node-a/worker 1");
  assert.deepEqual(updateOf(feed).lanes, {
    names: ["worker 0", "worker 1", "node-a/worker 1"],
    total: 3,
    gone: [],
  });
  assert.equal(updateOf(feed).lanes, undefined);
  // The node leaves: its lane is freed, and the next update marks it gone.
  lanes[2] = FREE_LANE_NAME;
  assert.deepEqual(updateOf(feed).lanes, {
    names: ["worker 0", "worker 1", FREE_LANE_NAME],
    total: 3,
    gone: [2],
  });
});

Deno.test("DashboardFeed sends what each shown Worker runs now, in its client's colour", () => {
  const now = Date.now();
  const feed = feedOf({
    running: () => [
      { worker: 1, job: "R1", no: 7, startedAt: now - 500 },
      { worker: 0, job: undefined, no: 1, startedAt: now }, // a job with no name: not drawn
    ],
  });
  arrive(feed, 0, "served");
  feed.hear({ type: "counting", at: 0, conn: conn(0), request: "R1", start: 0n, increments: 9 });
  for (const data of [snapshotOf(feed), updateOf(feed)]) {
    const [[task, lane, colour, start]] = data.running;
    assert.deepEqual([data.running.length, task, lane, colour], [1, "R1#7", 1, 0]);
    assert.ok(start <= -500, "relative to the message's now, before it");
  }
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

Deno.test("DashboardFeed keeps every message within DASHBOARD_MESSAGE_BYTES and says what it summarised", () => {
  const longConn = (n: number) => `[fd00:aaaa:bbbb:cccc:dddd:eeee:ffff:${n.toString(16)}]:65535`;
  const lanes = Array.from({ length: 4096 }, (_, i) => `${"é".repeat(200)}/worker ${i}`);
  const inFlight: RequestSection[] = [];
  const feed = feedOf({ maxClients: 1000, lanes: () => lanes, requestsInFlight: () => inFlight });
  const huge = 7n * 10n ** 3999n;
  for (let n = 0; n < 2000; n++) {
    const client = longConn(n);
    feed.hear({ type: "accepted", at: n, conn: client, active: 0, waiting: 0 });
    if (n >= 1000) {
      feed.hear({ type: "waiting", at: n, conn: client, position: n - 999 });
      continue;
    }
    feed.hear({ type: "served", at: n, conn: client, active: n + 1, waiting: 0 });
    const request = `R${n + 1}`;
    feed.hear({ type: "counting", at: n, conn: client, request, start: huge, increments: 1e6 });
    inFlight.push({ request, conn: client, sections: 1, sectionsWaited: 0, sectionHeld: true });
  }
  for (let n = 0; n < 20; n++) {
    const client = longConn(5000 + n);
    arrive(feed, 5000 + n, "served");
    feed.hear({
      type: "counting",
      at: 0,
      conn: client,
      request: `F${n}`,
      start: huge,
      increments: 9,
    });
    feed.hear({
      type: "request-failed",
      at: 1,
      conn: client,
      request: `F${n}`,
      reason: "x".repeat(80),
    });
  }
  // 20 000 increments since the last update, over 300 lanes: 256 are shown.
  const now = Date.now();
  for (let i = 0; i < 20_000; i++) {
    feed.hear({
      type: "task-done",
      at: now,
      conn: longConn(i % 1000),
      request: `R${(i % 1000) + 1}`,
      task: `R${(i % 1000) + 1}#${i + 100000}`,
      worker: i % 300,
      units: 10,
      startedAt: now - 1000 + i * 0.01,
      endedAt: now - 999 + i * 0.01,
      value: huge + BigInt(i),
      done: 1,
      total: 1e6,
    });
  }
  const onShownLanes = Array.from({ length: 20_000 }, (_, i) => i % 300)
    .filter((lane) => lane < DASHBOARD_LANES_SHOWN).length;
  for (const take of [() => feed.snapshot(), () => feed.takeUpdate(), () => feed.snapshot()]) {
    const message = take();
    assert.ok(message.bytes.length <= DASHBOARD_MESSAGE_BYTES, `${message.bytes.length} bytes`);
    const { name, data } = decode(message);
    assert.equal(data.bars.length, message.drawn, name);
    assert.equal(data.summary.reduce((n, [, count]) => n + count, 0), message.summarised);
    if (name === "update") {
      // Every bar held for the update is drawn or summarised; the rest were tallied into it too.
      assert.equal(message.drawn + message.summarised, onShownLanes);
      assert.ok(message.drawn > 0 && message.summarised > 0);
      assert.ok(data.summary.every(([lane]) => lane < DASHBOARD_LANES_SHOWN));
    }
    assert.equal(data.requestsMore, 1000 - DASHBOARD_REQUESTS_LISTED);
    assert.equal(data.mutex?.length, DASHBOARD_REQUESTS_LISTED);
  }
  const { data } = decode(feed.snapshot());
  assert.equal(data.lanes.names.length, DASHBOARD_LANES_SHOWN);
  assert.equal(data.lanes.total, 4096);
  assert.deepEqual(
    [data.clients.slots.length, data.clients.slotCount, data.clients.taken],
    [DASHBOARD_SLOTS_SHOWN, 1000, 1000],
  );
  assert.deepEqual(
    [data.clients.waiting.length, data.clients.waitingCount],
    [DASHBOARD_WAITING_LISTED, 1000],
  );
  assert.equal(data.requests.length, DASHBOARD_REQUESTS_LISTED);
});

Deno.test("DashboardFeed: clients that come and go cost the same, however many came before", () => {
  const feed = feedOf();
  const churn = (from: number, to: number) => {
    for (let n = from; n < to; n++) {
      arrive(feed, n, "served", 1_000 + n);
      count(feed, `R${n + 1}`, conn(n), 0n, 1); // each draws a bar, so its colour is held
      feed.hear({ type: "closed", at: 1_000 + n, conn: conn(n), reason: "STOP" });
    }
  };
  churn(0, 10);
  const few = updateOf(feed);
  churn(10, 10_000);
  const many = updateOf(feed);
  // Nothing is kept, or sent, per client that left: the panels are as small after 10 000 as after 10.
  assert.equal(JSON.stringify(many.clients).length, JSON.stringify(few.clients).length);
  // With every colour held, a newcomer shares the one whose hold ends first (9 990 left in order).
  arrive(feed, 20_000, "served", 20_000);
  const colour = coloursOf(snapshotOf(feed).clients).get(conn(20_000));
  assert.equal(colour, (10_000 - DASHBOARD_COLOURS) % DASHBOARD_COLOURS);
});

Deno.test("DashboardFeed sends a lane with more increments than pixels as its density, the others bar by bar", () => {
  const feed = feedOf();
  arrive(feed, 0, "served");
  arrive(feed, 1, "served");
  feed.hear({ type: "counting", at: 0, conn: conn(0), request: "R1", start: 0n, increments: 1e6 });
  feed.hear({ type: "counting", at: 0, conn: conn(1), request: "R2", start: 0n, increments: 1e6 });
  const now = Date.now();
  // Lane 0: 3 × DASHBOARD_LANE_BARS_PER_UPDATE bars back to back, two clients' (2 to 1), each
  // 1 ms; lane 1: 3 bars.
  const busy = 3 * DASHBOARD_LANE_BARS_PER_UPDATE;
  let done = 0;
  const run = (lane: number, client: number, at: number) =>
    feed.hear({
      type: "task-done",
      at: now,
      conn: conn(client),
      request: `R${client + 1}`,
      task: `R${client + 1}#${++done}`,
      worker: lane,
      units: 1,
      startedAt: at,
      endedAt: at + 1,
      value: BigInt(done),
      done,
      total: 1e6,
    });
  for (let i = 0; i < busy; i++) run(0, i % 3 === 2 ? 1 : 0, now - busy + i);
  for (let i = 0; i < 3; i++) run(1, 0, now - 10 + i * 2);
  const { data } = decode(feed.takeUpdate());
  assert.deepEqual(data.bars.map(([, lane]) => lane), [1, 1, 1]);
  assert.equal(data.summary.length, 1);
  const [lane, count, from, to, busyShare, colours] = data.summary[0];
  assert.deepEqual([lane, count, Math.round(to - from), busyShare], [0, busy, busy, 1000]);
  assert.deepEqual(colours, [[0, 67], [1, 33]]);
});

Deno.test("DashboardFeed shows a client that named itself by its name, in its slot and its requests", () => {
  const feed = feedOf();
  arrive(feed, 0, "served");
  feed.hear({ type: "named", at: 1, conn: conn(0), name: "alice" });
  feed.hear({ type: "counting", at: 2, conn: conn(0), request: "R1", start: 0n, increments: 9 });
  const snapshot = snapshotOf(feed);
  assert.deepEqual(snapshot.clients.slots[0], ["alice", 0]);
  assert.equal(snapshot.requests[0].conn, "alice");
  // Once it leaves, its address is free for another client, which is not called alice.
  feed.hear({ type: "closed", at: 3, conn: conn(0), reason: "STOP" });
  arrive(feed, 0, "served");
  assert.equal(snapshotOf(feed).clients.slots[0]?.[0], conn(0));
});
