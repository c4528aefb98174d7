/**
 * Micro-benchmarks, for `deno bench` (run them with `deno task bench:micro`,
 * which grants the read permission the Worker modules need).
 */
import { LineReader } from "../lib/wire/line_reader.ts";
import { parseCommand } from "../lib/wire/protocol.ts";
import { RequestCounter } from "../lib/server/request_counter.ts";
import { REPORT_STRIDE } from "../lib/pool/worker_messages.ts";
import { TaskRingWriter } from "../lib/pool/task_ring_writer.ts";
import { TaskRingReader } from "../lib/pool/task_ring_reader.ts";
import { WorkerPool } from "../lib/pool/worker_pool.ts";

const limits = { maxIncrements: 1_000_000 };

Deno.bench("parseCommand: a good request", { group: "protocol", baseline: true }, () => {
  parseCommand("2 10", limits);
});

Deno.bench("parseCommand: a bad request (throws)", { group: "protocol" }, () => {
  try {
    parseCommand("2 x", limits);
  } catch { /* expected */ }
});

const pipelined = new TextEncoder().encode("12345 678\r\n".repeat(1000));
Deno.bench("LineReader: 1000 pipelined lines from memory", { group: "framing" }, async () => {
  let given = false;
  const reader = new LineReader({
    read(p) {
      if (given) return Promise.resolve(null);
      given = true;
      p.set(pipelined.subarray(0, p.length));
      return Promise.resolve(Math.min(p.length, pipelined.length));
    },
  }, { maxLineBytes: 4096, chunkBytes: pipelined.length });
  while ((await reader.next()).kind === "line") { /* count */ }
});

const reports = Array.from({ length: 64 }, (_, i) => i);
Deno.bench("RequestCounter: a section of 64 increments, Mutex free", { group: "counter" }, () => {
  new RequestCounter(0n).add(reports, () => {}, { mayAwait: false });
});
Deno.bench("RequestCounter: a section of 64 increments through the Mutex", {
  group: "counter",
}, async () => {
  await new RequestCounter(0n).add(reports, () => {});
});

const pool = new TaskRingWriter({ capacity: 1, iterationsPerUnit: 1_000_000 });
const worker = new TaskRingReader(pool.init);
const report = new Float64Array(REPORT_STRIDE);
Deno.bench("TaskRing: one task of 1 unit of 1 000 000 additions, both sides", {
  group: "worker",
}, () => {
  pool.push(1, 1);
  pool.publish();
  worker.run(worker.take());
  pool.readReports(report);
});

Deno.bench("WorkerPool: a job of 10 000 zero-work tasks on 2 Workers", {
  group: "dispatch",
  n: 20,
  warmup: 2,
}, async (b) => {
  using pool = new WorkerPool({ size: 2, iterationsPerUnit: 0 });
  await pool.run({ tasks: 100, drawUnits: () => 0, onDone: () => {} });
  b.start();
  await pool.run({ tasks: 10_000, drawUnits: () => 0, onDone: () => {} });
  b.end();
});

Deno.bench("WorkerPool: 100 one-task jobs, one after another", {
  group: "round trip",
  n: 20,
  warmup: 2,
}, async (b) => {
  using pool = new WorkerPool({ size: 2, iterationsPerUnit: 0 });
  await pool.run({ tasks: 100, drawUnits: () => 0, onDone: () => {} });
  b.start();
  for (let i = 0; i < 100; i++) await pool.run({ tasks: 1, drawUnits: () => 0, onDone: () => {} });
  b.end();
});

/** Runs `body` against a bare echo Worker that has answered once, then terminates it. */
async function withEchoWorker(body: (worker: Worker) => Promise<void>): Promise<void> {
  const worker = new Worker(new URL("./echo_worker.ts", import.meta.url), { type: "module" });
  try {
    await new Promise((resolve) => {
      worker.onmessage = resolve;
      worker.postMessage(0);
    });
    await body(worker);
  } finally {
    worker.terminate();
  }
}

Deno.bench("floor: 10 000 messages through a bare echo Worker, 256 in flight", {
  group: "dispatch",
  n: 20,
  warmup: 2,
}, async (b) => {
  await withEchoWorker(async (worker) => {
    b.start();
    await new Promise<void>((resolve) => {
      let sent = 0;
      let received = 0;
      worker.onmessage = () => {
        if (++received === 10_000) resolve();
        else if (sent < 10_000) worker.postMessage(sent++);
      };
      for (; sent < 256; sent++) worker.postMessage(sent);
    });
    b.end();
  });
});

Deno.bench("floor: 100 round trips to a bare echo Worker, one at a time", {
  group: "round trip",
  n: 20,
  warmup: 2,
}, async (b) => {
  await withEchoWorker(async (worker) => {
    b.start();
    for (let i = 0; i < 100; i++) {
      await new Promise((resolve) => {
        worker.onmessage = resolve;
        worker.postMessage(i);
      });
    }
    b.end();
  });
});

Deno.bench(
  "floor: 100 round trips to a bare Atomics echo Worker (SharedArrayBuffer), one at a time",
  {
    group: "round trip",
    n: 20,
    warmup: 2,
  },
  async (b) => {
    await withEchoWorker(async (worker) => {
      const control = new Int32Array(new SharedArrayBuffer(8));
      await new Promise((resolve) => {
        worker.onmessage = resolve;
        worker.postMessage(control.buffer);
      });
      b.start();
      for (let i = 1; i <= 100; i++) {
        Atomics.store(control, 0, i);
        Atomics.notify(control, 0);
        while (Atomics.load(control, 1) !== i) {
          const waiting = Atomics.waitAsync(control, 1, i - 1);
          if (waiting.async) await waiting.value;
        }
      }
      b.end();
    });
  },
);
