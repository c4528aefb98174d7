/**
 * The dashboard's step control against a real server: its panel is what the server
 * answered on the control's own connection, on real Workers, every run.
 */
import assert from "node:assert/strict";
import { SteppingControl } from "../lib/observe/dashboard/control_stepping.ts";
import type { StepPanelView } from "../lib/observe/dashboard/dashboard_views.ts";
import { bounded, RawClient, startServer } from "./_helpers.ts";

/** A control on a server, closed with `await using`. */
function controlOf(server: ReturnType<typeof startServer>) {
  const control = new SteppingControl({
    address: server.addr,
    workers: () => server.stats().workers,
  });
  return Object.assign(control, { [Symbol.asyncDispose]: () => control.close() });
}

/** Asks the control, and reads its answer: the panel (200), or the words of a refusal. */
async function ask(
  control: SteppingControl,
  body: unknown,
): Promise<{ status: number; view?: StepPanelView; text: string }> {
  const response = await control.answer(JSON.stringify(body));
  const text = await response.text();
  return response.status === 200
    ? { status: 200, view: JSON.parse(text), text }
    : { status: response.status, text };
}

/** Per Worker: its next step and what it read. */
const workers = (view: StepPanelView | undefined) =>
  view?.workers.map((w) => [w.next, w.read, w.steppable]);

Deno.test("SteppingControl: a racy 0 2 stepped 0 1 0 1 loses an update; undo replays three steps", async () => {
  await using server = startServer({ workers: 2 });
  await using control = controlOf(server);
  let { view } = await ask(control, { action: "start", counter: "racy", request: "0 2" });
  assert.equal(view?.phase, "stepping");
  assert.deepEqual(workers(view), [["read", "", true], ["read", "", true]]);
  ({ view } = await ask(control, { action: "step", worker: 0 }));
  assert.deepEqual(workers(view), [["write 1", "0", true], ["read", "", true]]);
  assert.equal(view?.value, "0");
  ({ view } = await ask(control, { action: "step", worker: 1 }));
  assert.deepEqual(workers(view), [["write 1", "0", true], ["write 1", "0", true]]);
  ({ view } = await ask(control, { action: "step", worker: 0 }));
  assert.equal(view?.value, "1");
  ({ view } = await ask(control, { action: "step", worker: 1 }));
  assert.equal(view?.phase, "done");
  assert.equal(view?.result, "1 (1 update lost)");
  assert.deepEqual(view?.steps, [0, 1, 0, 1]);
  assert.deepEqual(view?.said, [
    "worker 0 read 0",
    "worker 1 read 0",
    "worker 0 wrote 1",
    "worker 1 wrote 1, erasing 1 update",
  ]);
  assert.deepEqual(workers(view), [["done", "", false], ["done", "", false]]);
  // Undo: a new connection, the first three steps again, on the real Workers.
  ({ view } = await ask(control, { action: "undo" }));
  assert.equal(view?.phase, "stepping");
  assert.deepEqual(view?.said, ["worker 0 read 0", "worker 1 read 0", "worker 0 wrote 1"]);
  assert.deepEqual(workers(view), [["done", "", false], ["write 1", "0", true]]);
  assert.equal(view?.value, "1");
  const steps = server.recorder.of("step").map((e) => `${e.conn} ${e.text}`);
  assert.equal(steps.length, 7, "four steps, then three replayed");
  assert.notEqual(steps[0].split(" ")[0], steps[4].split(" ")[0], "replayed on a new connection");
  // Run: the last step runs freely, and the server answers.
  ({ view } = await ask(control, { action: "run" }));
  assert.equal(view?.result, "1 (1 update lost)");
  assert.deepEqual(workers(view), [["done", "", false], ["done (ran freely)", "", false]]);
  // Undo after a run: back to before the run.
  ({ view } = await ask(control, { action: "undo" }));
  assert.deepEqual(view?.steps, [0, 1, 0]);
});

Deno.test("SteppingControl: with the lock, worker 1's read waits for worker 0", async () => {
  await using server = startServer({ workers: 2 });
  await using control = controlOf(server);
  await ask(control, { action: "start", counter: "locked", request: "5 2" });
  let { view } = await ask(control, { action: "step", worker: 0 });
  assert.deepEqual(workers(view), [["write 6, release the lock", "5", true], [
    "take the lock, read",
    "",
    true,
  ]]);
  ({ view } = await ask(control, { action: "step", worker: 1 }));
  assert.equal(view?.said.at(-1), "worker 1 waits for the lock (worker 0 holds it)");
  assert.deepEqual(workers(view)?.[1], ["waits for the lock (held by worker 0)", "", false]);
  const refused = await ask(control, { action: "step", worker: 1 });
  assert.equal(refused.status, 409);
  assert.match(refused.text, /worker 1 has no step to take now/);
  ({ view } = await ask(control, { action: "step", worker: 0 }));
  assert.deepEqual(workers(view)?.[1], ["take the lock, read", "", true]);
  ({ view } = await ask(control, { action: "step", worker: 1 }));
  assert.deepEqual(workers(view)?.[1], ["write 7, release the lock", "6", true]);
  ({ view } = await ask(control, { action: "step", worker: 1 }));
  assert.equal(view?.result, "7 (0 updates lost)");
  assert.deepEqual(view?.steps, [0, 1, 0, 1, 1]);
});

Deno.test("SteppingControl: the server's refusals are shown in its words; bad asks get 400 or 409", async (t) => {
  await t.step("a server with a Worker per increment cannot step", async () => {
    await using server = startServer({ workers: 2, workerModel: "per-increment" });
    await using control = controlOf(server);
    const { view } = await ask(control, { action: "start", counter: "racy", request: "0 2" });
    assert.equal(view?.phase, "ended");
    assert.match(view?.error ?? "", /^the server answered: ERR bad-request STEP steps the pool's/);
    assert.equal((await ask(control, { action: "step", worker: 0 })).status, 409);
  });
  await t.step("bad asks", async () => {
    await using server = startServer({ workers: 2 });
    await using control = controlOf(server);
    for (
      const body of [
        { action: "start", counter: "parallel", request: "0 2" },
        { action: "start", counter: "racy", request: "0 17" },
        { action: "start", counter: "racy", request: "0 0" },
        { action: "start", counter: "racy", request: "STATS" },
        { action: "step", worker: -1 },
        { action: "fly" },
        "not json",
      ]
    ) {
      const response = await control.answer(typeof body === "string" ? body : JSON.stringify(body));
      assert.equal(response.status, 400, JSON.stringify(body));
      assert.match(await response.text(), /^bad request: .*"action": "start"/);
    }
    assert.equal((await ask(control, { action: "run" })).status, 409);
    assert.equal((await ask(control, { action: "undo" })).status, 409);
    assert.equal(server.recorder.of("accepted").length, 0, "nothing refused reached the server");
  });
  await t.step("a Worker the count does not run on", async () => {
    await using server = startServer({ workers: 2 });
    await using control = controlOf(server);
    await ask(control, { action: "start", counter: "racy", request: "0 1" });
    for (const [worker, text] of [[1, "worker 0"], [7, "worker 0"]] as const) {
      assert.deepEqual(await ask(control, { action: "step", worker }), {
        status: 409,
        text: `worker ${worker} has no step in this count: its increments run on ${text}\n`,
      });
    }
    await ask(control, { action: "start", counter: "racy", request: "0 3" });
    assert.equal(
      (await ask(control, { action: "step", worker: 2 })).text,
      "worker 2 has no step in this count: its increments run on workers 0 to 1\n",
    );
    const { view } = await ask(control, { action: "run" });
    assert.match(view?.result ?? "", /^[123] \(\d updates? lost\)$/);
  });
});

Deno.test("SteppingControl: a new start hangs up the count being stepped; its Workers go free", async () => {
  await using server = startServer({ workers: 2 });
  await using control = controlOf(server);
  await ask(control, { action: "start", counter: "racy", request: "0 2" });
  await ask(control, { action: "step", worker: 0 });
  // Two starts at once: the later one is the count stepped.
  const [first, second] = await bounded(
    Promise.all([
      ask(control, { action: "start", counter: "locked", request: "0 2" }),
      ask(control, { action: "start", counter: "racy", request: "10 3" }),
    ]),
    "two starts at once",
  );
  assert.equal(first.status, 200);
  let { view } = second;
  assert.equal(view?.request, "10 3");
  assert.equal(control.view().request, "10 3");
  assert.deepEqual(view?.steps, []);
  assert.equal(view?.workers.length, 2);
  ({ view } = await ask(control, { action: "run" }));
  assert.match(view?.result ?? "", /^1[123] \(\d updates? lost\)$/);
  // A student's count runs: the pool is free.
  await using student = await RawClient.connect(server);
  await student.write("0 5\n");
  assert.equal(await student.readLine(), "5");
});

/** The control's panel once `test` holds of it (looked at every 10 ms). */
function viewWhen(
  control: SteppingControl,
  test: (view: StepPanelView) => boolean,
  what: string,
): Promise<StepPanelView> {
  return bounded(
    (async () => {
      while (!test(control.view())) await new Promise((resolve) => setTimeout(resolve, 10));
      return control.view();
    })(),
    what,
  );
}

/** A control that hears the server's events, as the dashboard's does. */
function hearingControlOf(server: ReturnType<typeof startServer>) {
  const control = controlOf(server);
  const subscription = server.events.subscribe((event) => control.hear(event));
  return Object.assign(control, {
    [Symbol.asyncDispose]: async () => {
      subscription[Symbol.dispose]();
      await control.close();
    },
  });
}

Deno.test("SteppingControl: a count cut by the server's step hold says so, not the idle time", async () => {
  await using server = startServer({ workers: 2, stepIdleMs: 60_000, stepHoldMs: 200 });
  await using control = hearingControlOf(server);
  const { view } = await ask(control, { action: "start", counter: "racy", request: "0 2" });
  assert.equal(view?.phase, "stepping");
  const after = await viewWhen(control, (view) => view.phase !== "stepping", "the answer");
  assert.equal(after.phase, "done");
  assert.match(after.result ?? "", /^\d \(\d updates? lost\)$/);
  assert.match(
    after.error ?? "",
    /^the server let the rest run freely \(R1: it held the Workers for 0\.2 s\)$/,
  );
});

Deno.test("SteppingControl: a step waiting behind a student's stepped count that took no step yet says why", async () => {
  await using server = startServer({ workers: 2 });
  await using control = hearingControlOf(server);
  await using student = await RawClient.connect(server);
  await student.write("COUNTER racy\nSTEP ON\n0 2\n");
  for (const line of ["OK counter racy", "OK step on"]) {
    assert.equal(await student.readLine(), line);
  }
  await server.recorder.waitForType("task-queued", 2);
  await ask(control, { action: "start", counter: "racy", request: "0 2" });
  await bounded(
    server.recorder.waitFor((e) =>
      e.type === "notice" && /waits for another client's/.test(e.message)
    ),
    "the panel's count waits",
  );
  const stepped = ask(control, { action: "step", worker: 0 });
  const sent = await viewWhen(control, (view) => view.waiting !== undefined, "the step sent");
  assert.equal(
    sent.waiting,
    "STEP 0 sent: waiting for the server's answer; the Workers are stepping another client's " +
      "count: yours runs when it ends",
  );
  await student[Symbol.asyncDispose]();
  const { view } = await bounded(stepped, "the step, once the student has gone");
  assert.deepEqual(view?.said, ["worker 0 read 0"]);
  assert.equal(view?.waiting, undefined);
});
