import assert from "node:assert/strict";
import { ServerEvents } from "../lib/server/server_events.ts";

Deno.test("ServerEvents.wantsTaskEvents asks the listeners once a turn, and again as soon as one comes or goes", async () => {
  const events = new ServerEvents();
  let asked = 0;
  let wanting = false;
  using _log = events.subscribe(() => {}, { tasks: () => (asked++, wanting) });
  // One dispatch of many tasks asks once: the answer holds for the rest of the turn.
  assert.equal(events.wantsTaskEvents(), false);
  wanting = true;
  for (let task = 0; task < 1000; task++) assert.equal(events.wantsTaskEvents(), false);
  assert.equal(asked, 1);
  await Promise.resolve(); // the microtasks queued when it was asked have run
  assert.equal(events.wantsTaskEvents(), true);
  assert.equal(asked, 2);

  // A listener that comes or goes is heard in the same turn.
  wanting = false;
  await Promise.resolve();
  assert.equal(events.wantsTaskEvents(), false);
  {
    using _all = events.subscribe(() => {}); // wants every event
    assert.equal(events.wantsTaskEvents(), true);
  }
  assert.equal(events.wantsTaskEvents(), false);
  wanting = true;
  using _trace = events.subscribe(() => {}, { tasks: () => true });
  assert.equal(events.wantsTaskEvents(), true);
});
