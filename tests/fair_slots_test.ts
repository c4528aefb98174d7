/**
 * Fair slots: the slot hold, the read-ahead of waiters, the cap per address. (Which waiter a
 * freed slot goes to is proved on the gate itself: connection_gate_test.ts.)
 */
import assert from "node:assert/strict";
import { bounded, RawClient, startServer } from "./_helpers.ts";
import type { ServerEvent } from "../lib/server/server_events.ts";
import { ClientBoard } from "../lib/observe/dashboard/client_board.ts";

/** The address the server sees for a raw client. */
function peerOf(client: RawClient): string {
  const { hostname, port } = client.conn.localAddr as Deno.NetAddr;
  return `${hostname}:${port}`;
}

/** Each event's `type conn`, of the connections named, in order. */
function story(events: ServerEvent[], names: Record<string, string>): string[] {
  const lines: string[] = [];
  for (const event of events) {
    if (!("conn" in event) || !(event.conn in names)) continue;
    if (["accepted", "waiting", "served", "turned-away", "closed"].includes(event.type)) {
      lines.push(`${event.type} ${names[event.conn]}`);
    }
  }
  return lines;
}

/**
 * A student asks `2 10` while `keep` keeps the only slot busy: it must be answered, and the
 * keeper must have gone back in line before the student was served.
 *
 * @param keep Keeps the keeper asking until `studentAnswered()`.
 */
async function studentBeatsKeeper(
  server: ReturnType<typeof startServer>,
  keeper: RawClient,
  keep: (studentAnswered: () => boolean) => Promise<unknown>,
): Promise<void> {
  let answered = false;
  const keeping = keep(() => answered);
  await using student = await RawClient.connect(server);
  await student.write("2 10\n");
  try {
    assert.equal(await bounded(student.readLine(), "the student's answer", 20_000), "12");
  } finally {
    answered = true;
    await keeping;
  }
  const names = { [peerOf(keeper)]: "keeper", [peerOf(student)]: "student" };
  const told = story(server.recorder.events, names);
  assert.ok(
    told.indexOf("waiting keeper") >= 0 &&
      told.indexOf("waiting keeper") < told.indexOf("served student"),
    `the keeper went back in line for the student: ${told.join(", ")}`,
  );
}

Deno.test("--slot-hold: a client between requests goes back to the end of the line, keeping its connection; the one waiting is served", async () => {
  // A hold far below the idle timeout: the keeper is sent back in line, never closed.
  await using server = startServer({ maxClients: 1, slotHoldMs: 10, idleTimeoutMs: 600_000 });
  const { recorder } = server;
  await using keeper = await RawClient.connect(server);
  await keeper.write("0 1\n");
  assert.equal(await keeper.readLine(), "1");
  await using student = await RawClient.connect(server);
  await student.write("2 10\n");
  assert.equal(await bounded(student.readLine(), "the student's answer"), "12");
  // The keeper's next request waits its turn, and is answered on the same connection.
  await keeper.write("1 1\n");
  await student.write("STOP\n");
  assert.equal(await student.readLine(), "BYE");
  assert.equal(await bounded(keeper.readLine(), "the keeper's answer"), "2");
  const names = { [peerOf(keeper)]: "keeper", [peerOf(student)]: "student" };
  const told = story(recorder.events, names);
  assert.deepEqual(told.slice(0, 6), [
    "accepted keeper",
    "served keeper",
    "accepted student",
    "waiting student",
    "waiting keeper", // back in line, after its hold
    "served student",
  ]);
  assert.ok(told.indexOf("served keeper", 2) > told.indexOf("served student"));
  assert.equal(recorder.of("client-error").length, 0, "no one was told an error");
});

Deno.test("--slot-hold: a client that has sent nothing is sent back in line for one with a request, not for one without", async () => {
  // The idle timeout ends the story: the silent holder is closed for it, never requeued, while
  // the only one waiting has sent nothing either.
  await using server = startServer({ maxClients: 1, slotHoldMs: 10, idleTimeoutMs: 200 });
  const { recorder } = server;
  await using holder = await RawClient.connect(server);
  await using silent = await RawClient.connect(server);
  assert.match((await bounded(holder.readLine(), "the holder's reply"))!, /^ERR idle-timeout/);
  const names = { [peerOf(holder)]: "holder", [peerOf(silent)]: "silent" };
  assert.deepEqual(story(recorder.events, names).slice(0, 5), [
    "accepted holder",
    "served holder",
    "accepted silent",
    "waiting silent",
    "closed holder",
  ]);
  // The one that waited silently holds the slot now. A newcomer with a request: the silent one,
  // idle since it connected (longer than the idle timeout), is closed for it at once.
  await using student = await RawClient.connect(server);
  await student.write("2 10\n");
  assert.equal(await bounded(student.readLine(), "the student's answer"), "12");
  const told = story(recorder.events, { ...names, [peerOf(student)]: "student" });
  assert.deepEqual(told.slice(5).filter((line) => !line.startsWith("accepted")), [
    "served silent",
    "waiting student",
    "closed silent",
    "served student",
  ]);
});

Deno.test("--slot-hold: ten keepers that send `0 1` now and then do not keep five students from being answered", async () => {
  await using server = startServer({ maxClients: 10, slotHoldMs: 20, idleTimeoutMs: 600_000 });
  const { recorder } = server;
  const keepers: RawClient[] = [];
  const students: RawClient[] = [];
  try {
    for (let i = 0; i < 10; i++) {
      const keeper = await RawClient.connect(server);
      keepers.push(keeper);
      await keeper.write("0 1\n");
      assert.equal(await keeper.readLine(), "1");
    }
    for (let i = 0; i < 5; i++) students.push(await RawClient.connect(server));
    await Promise.all(students.map((student) => student.write("1 1\n")));
    const answers = await bounded(
      Promise.all(students.map((student) => student.readLine())),
      "the students' answers",
    );
    assert.deepEqual(answers, ["2", "2", "2", "2", "2"]);
    // Every keeper still has its connection: its next `0 1` is answered in its turn.
    await Promise.all(students.map((student) => student.write("STOP\n")));
    await Promise.all(keepers.map((keeper) => keeper.write("0 1\n")));
    const kept = await bounded(
      Promise.all(keepers.map((keeper) => keeper.readLine())),
      "the keepers' answers",
    );
    assert.deepEqual(kept, Array(10).fill("1"));
    const keeperNames = new Set(keepers.map(peerOf));
    const requeued = recorder.of("waiting").filter((e) => keeperNames.has(e.conn));
    assert.ok(requeued.length >= 5, `at least five keepers went back in line: ${requeued.length}`);
  } finally {
    for (const client of [...keepers, ...students]) await client[Symbol.asyncDispose]();
  }
});

Deno.test("--slot-hold: a keeper that sends its next request at once, never idle for the hold, still gives its slot up after the hold", async () => {
  // The keeper is between requests only while its next line crosses the network: its turn, not
  // its idling, must end its hold.
  await using server = startServer({ maxClients: 1, slotHoldMs: 300, idleTimeoutMs: 600_000 });
  const { recorder } = server;
  await using keeper = await RawClient.connect(server);
  await keeper.write("0 1\n");
  assert.equal(await keeper.readLine(), "1");
  await studentBeatsKeeper(server, keeper, async (studentAnswered) => {
    while (!studentAnswered()) {
      await keeper.write("0 1\n");
      assert.equal(await keeper.readLine(), "1");
    }
  });
  assert.equal(recorder.of("client-error").length, 0, "no one was told an error");
});

Deno.test("--slot-hold: a keeper that always has its next request ready (pipelined) still gives its slot up after the hold", async () => {
  await using server = startServer({ maxClients: 1, slotHoldMs: 300, idleTimeoutMs: 600_000 });
  await using keeper = await RawClient.connect(server);
  // Requests always waiting at the server: the keeper writes a burst ahead of its replies.
  const burst = "0 1\n".repeat(256);
  await studentBeatsKeeper(server, keeper, async (studentAnswered) => {
    await keeper.write(burst + burst);
    while (!studentAnswered()) {
      for (let i = 0; i < 256; i++) assert.equal(await keeper.readLine(), "1");
      await keeper.write(burst);
    }
  });
});

Deno.test("a client sent back in line that hangs up is out of line at once", async () => {
  await using server = startServer({ maxClients: 1, slotHoldMs: 10, idleTimeoutMs: 600_000 });
  const { recorder } = server;
  const keeper = await RawClient.connect(server);
  await keeper.write("0 1\n");
  assert.equal(await keeper.readLine(), "1");
  await using student = await RawClient.connect(server);
  await student.write("1 1\n"); // a request ready: the keeper goes back in line for it
  const keeperName = peerOf(keeper);
  const requeued = recorder.waitFor((e) => e.type === "waiting" && e.conn === keeperName);
  await bounded(requeued, "the keeper back in line");
  await keeper[Symbol.asyncDispose]();
  await recorder.waitFor((e) => e.type === "closed" && e.conn === keeperName);
  const closed = recorder.events.find((e) => e.type === "closed" && e.conn === keeperName);
  assert.equal(closed?.type === "closed" && closed.reason, "client disconnected");
  assert.deepEqual([server.stats().clients_active, server.stats().clients_waiting], [1, 0]);
  assert.equal(await bounded(student.readLine(), "the student's answer"), "2");
  await student.write("STOP\n");
  assert.equal(await student.readLine(), "BYE");
});

Deno.test("a waiting client that fills its read-ahead is turned away at once, whether or not it hung up", async (t) => {
  for (const hangsUp of [false, true]) {
    await t.step(hangsUp ? "it hung up" : "it stays", async () => {
      await using server = startServer({ maxClients: 1, readAheadBytes: 16 * 1024 });
      const { recorder } = server;
      await using holder = await RawClient.connect(server);
      await recorder.waitForType("served");
      const flooder = await RawClient.connect(server);
      const name = peerOf(flooder);
      await recorder.waitForType("waiting");
      // Far more than the read-ahead: the server stops reading long before the end.
      const sending = flooder.writeBytes(new TextEncoder().encode("0 1\n".repeat(64 * 1024)))
        .catch(() => {});
      if (hangsUp) await flooder[Symbol.asyncDispose]();
      await bounded(recorder.waitFor((e) => e.type === "closed" && e.conn === name), "closed");
      await sending;
      await flooder[Symbol.asyncDispose]();
      const turned = recorder.events.find((e) => e.type === "turned-away" && e.conn === name);
      assert.equal(turned?.type === "turned-away" && turned.code, "busy");
      assert.match(
        turned?.type === "turned-away" ? turned.message : "",
        /sent more than 16384 bytes while waiting for a slot \(--read-ahead-bytes\)/,
      );
      assert.ok(!recorder.events.some((e) => e.type === "served" && e.conn === name));
      await holder.write("1 1\n");
      assert.equal(await holder.readLine(), "2");
    });
  }
});

Deno.test("--max-clients-per-address: one connection more from an address gets ERR busy and is closed", async () => {
  await using server = startServer({ maxClients: 1, maxClientsPerAddress: 2 });
  await using first = await RawClient.connect(server);
  await using second = await RawClient.connect(server);
  await using third = await RawClient.connect(server);
  assert.match(
    (await bounded(third.readLine(), "the third's reply"))!,
    /^ERR busy 2 connections from 127\.0\.0\.1 are open already, the most one address may have \(--max-clients-per-address\); close one/,
  );
  assert.equal(await third.readLine(), null);
  // One closes: another from the same address may come.
  await first.write("STOP\n");
  assert.equal(await first.readLine(), "BYE");
  await server.recorder.waitFor((e) => e.type === "closed" && e.conn === peerOf(first));
  await using fourth = await RawClient.connect(server);
  await second.write("1 1\n");
  assert.equal(await second.readLine(), "2");
  await second.write("STOP\n");
  assert.equal(await second.readLine(), "BYE");
  await fourth.write("2 2\n");
  assert.equal(await bounded(fourth.readLine(), "the fourth's answer"), "4");
});

Deno.test("ClientBoard: a client sent back in line leaves its slot on the dashboard", () => {
  const board = new ClientBoard(2);
  board.served("a", 0);
  board.waiting("b", 0);
  board.waiting("a", 1);
  board.served("b", 1);
  const view = board.view();
  assert.deepEqual(view.slots.filter((slot) => slot !== null).map(([conn]) => conn), ["b"]);
  assert.deepEqual(view.waiting.map(([conn]) => conn), ["a"]);
  assert.equal(view.taken, 1);
});

Deno.test("ClientBoard: a client sent back in line is listed at its end, behind those waiting", () => {
  const board = new ClientBoard(1);
  board.served("keeper", 0);
  board.waiting("student", 0);
  board.waiting("keeper", 1);
  assert.deepEqual(board.view().waiting.map(([conn]) => conn), ["student", "keeper"]);
});
