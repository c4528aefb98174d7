import assert from "node:assert/strict";
import { exitCodeFor, StopRequests } from "../lib/cli/stop_signals.ts";
import { LineReader, streamSource } from "../lib/wire/line_reader.ts";
import { bounded } from "./_helpers.ts";
import { Child } from "./_child.ts";
import { SIGNAL_COPY_WINDOW_MS } from "../lib/defaults/defaults.ts";

Deno.test("StopRequests: the first signal stops, copies within the window too, a later one forces", () => {
  const requests = new StopRequests({ copyWindowMs: 300 });
  assert.deepEqual(
    [1000, 1000, 1299.9, 1300, 5000].map((at) => requests.hear(at)),
    ["stop", "copy", "copy", "force", "force"],
  );
  const noWindow = new StopRequests({ copyWindowMs: 0 });
  assert.deepEqual([noWindow.hear(0), noWindow.hear(0)], ["stop", "force"]);
});

Deno.test("StopRequests refuses a window that is not a number of ms, 0 or more", () => {
  for (const copyWindowMs of [-1, NaN, Infinity]) {
    assert.throws(() => new StopRequests({ copyWindowMs }), RangeError, String(copyWindowMs));
  }
});

Deno.test("exitCodeFor() follows the shell: 128 + the signal's number", () => {
  assert.deepEqual([exitCodeFor("SIGINT"), exitCodeFor("SIGTERM")], [130, 143]);
});

Deno.test("listenForStopSignals(): copies of one signal stop once; past the window, the default forced exit is 128 + n", async () => {
  await using child = new Child(Deno.execPath(), {
    args: ["run", "-q", "tests/fixtures/stop_until_forced.ts"],
  });
  const lines = new LineReader(streamSource(child.process.stdout), { maxLineBytes: 1024 });
  const next = async () => {
    const event = await bounded(lines.next(), "a line from the child", 30_000);
    return event.kind === "line" ? event.text : event.kind;
  };
  assert.equal(await next(), "ready");
  // A terminal's Ctrl-C and deno task's forwarded copy: one stop.
  child.kill("SIGINT");
  child.kill("SIGINT");
  assert.equal(await next(), "stop SIGINT");
  await new Promise((resolve) => setTimeout(resolve, SIGNAL_COPY_WINDOW_MS + 100));
  child.kill("SIGTERM");
  assert.equal((await child.status).code, 143);
  assert.equal(await next(), "end", "one stop only, and nothing after it");
});
