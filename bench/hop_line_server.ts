/**
 * The hop floor for the TCP benchmarks: the bare line server, but every request makes one
 * round trip to a Worker over a ring in shared memory (the Worker adds, the server writes
 * the reply), with no limits, log, queue or events: the least threadcount's design can cost.
 * Usage: deno run --allow-net=127.0.0.1 --allow-read=bench bench/hop_line_server.ts PORT
 */
import { HOP_DONE, HOP_SENT, hopBuffer, hopRing } from "./hop_ring.ts";
import { serveLineFloor } from "./line_floor.ts";

const CAPACITY = 1 << 16;
const ring = hopRing(hopBuffer(CAPACITY));
const worker = new Worker(new URL("./hop_worker.ts", import.meta.url), { type: "module" });
await new Promise((resolve) => {
  worker.onmessage = resolve;
  worker.postMessage(ring.control.buffer);
});

/** Requests sent and not yet answered, in order: each one's resolver. */
const waiting: ((value: number) => void)[] = [];
let sent = 0;
let answered = 0;
let listening = false;

/** Hands the Worker one request; resolves with its answer. */
function hop(start: number, increments: number): Promise<number> {
  if (sent - answered >= CAPACITY) throw new Error("the hop ring is full");
  const slot = sent % CAPACITY;
  ring.starts[slot] = start;
  ring.increments[slot] = increments;
  const { promise, resolve } = Promise.withResolvers<number>();
  waiting.push(resolve);
  Atomics.store(ring.control, HOP_SENT, ++sent);
  Atomics.notify(ring.control, HOP_SENT);
  if (!listening) listen();
  return promise;
}

/** Waits for the Worker's answers while any request is out. */
async function listen(): Promise<void> {
  listening = true;
  while (answered < sent) {
    const wait = Atomics.waitAsync(ring.control, HOP_DONE, answered);
    if (wait.async) await wait.value;
    const done = Atomics.load(ring.control, HOP_DONE);
    for (; answered < done; answered++) waiting.shift()!(ring.replies[answered % CAPACITY]);
  }
  listening = false;
}

await serveLineFloor((start, increments) => hop(Number(start), Number(increments)).then(String));
