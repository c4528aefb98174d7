import assert from "node:assert/strict";
import { TraceWriter } from "../lib/observe/trace_writer.ts";
import { connect, startServer } from "./_helpers.ts";

interface TraceEvent {
  name: string;
  ph: string;
  ts?: number;
  dur?: number;
  pid: number;
  tid: number;
  args?: Record<string, unknown>;
}

Deno.test("--trace writes a Chrome trace: one complete event per increment, on its Worker's thread", async () => {
  const path = await Deno.makeTempFile({ suffix: ".json" });
  try {
    let trace: TraceWriter;
    {
      await using server = startServer({ workers: 2 });
      trace = await TraceWriter.open(path, { workers: 2, bufferBytes: 512 });
      server.events.subscribe((event) => trace.hear(event));
      await using a = await connect(server);
      await using b = await connect(server);
      await Promise.all([a.request("0 120"), b.request("-5 80")]);
    } // the server shuts down here
    assert.equal(await trace.close(), 200);

    const { traceEvents } = JSON.parse(await Deno.readTextFile(path)) as {
      traceEvents: TraceEvent[];
    };
    const threads = traceEvents.filter((e) => e.ph === "M" && e.name === "thread_name");
    assert.deepEqual(threads.map((e) => [e.tid, e.args?.name]), [[1, "worker 0"], [2, "worker 1"]]);
    const increments = traceEvents.filter((e) => e.ph === "X");
    assert.equal(increments.length, 200);
    assert.equal(new Set(increments.map((e) => e.name)).size, 200);
    for (const e of increments) {
      assert.match(e.name, /^R[12]#\d+$/);
      assert.ok(e.tid === 1 || e.tid === 2);
      assert.ok(e.dur! > 0 && Number.isInteger(e.ts));
      assert.ok(typeof e.args?.conn === "string" && typeof e.args?.units === "number");
    }
    // A Worker runs one increment at a time: on each thread, intervals never overlap.
    for (const tid of [1, 2]) {
      const spans = increments.filter((e) => e.tid === tid).sort((x, y) => x.ts! - y.ts!);
      for (let i = 1; i < spans.length; i++) {
        assert.ok(
          spans[i].ts! >= spans[i - 1].ts! + spans[i - 1].dur! - 1,
          "overlap on one thread",
        );
      }
    }
  } finally {
    await Deno.remove(path);
  }
});
