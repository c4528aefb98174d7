/**
 * The hot path's rules (docs/hot_path.md), each as a pair of micro-benchmarks: the shape the
 * rule asks for (the baseline of its group) against the shape it rules out. Run with
 * `deno task bench:micro`; the figures of one machine are in BENCHMARKS.md.
 */

/** Where the objects built go, so that they escape and V8 cannot optimise them away. */
const kept: unknown[] = new Array(64);

// Rule 1: a request in flight is one object whose methods and getters live on its class.
class InFlightRequest {
  done = 0;
  constructor(readonly total: number, readonly startedAt: number) {}
  get left(): number {
    return this.total - this.done;
  }
  report(count: number): void {
    this.done += count;
  }
}

Deno.bench("rule 1: one object, methods on its class", { group: "request", baseline: true }, () => {
  let left = 0;
  for (let i = 0; i < 1000; i++) {
    const request = new InFlightRequest(10, i);
    kept[i & 63] = request;
    request.report(3);
    left += request.left;
  }
  if (left !== 7000) throw new Error(String(left));
});

Deno.bench("rule 1, ruled out: a literal of closures", { group: "request" }, () => {
  let left = 0;
  for (let i = 0; i < 1000; i++) {
    let done = 0;
    const total = 10;
    const request = {
      startedAt: i,
      get left() {
        return total - done;
      },
      report: (count: number) => void (done += count),
      get done() {
        return done;
      },
    };
    kept[i & 63] = request;
    request.report(3);
    left += request.left;
  }
  if (left !== 7000) throw new Error(String(left));
});

// Rule 2: what is the same for every task of a turn is asked once a turn, not once a task.
const listeners = [() => performance.now() > 0, () => false, () => false];
function anyoneWants(): boolean {
  for (const wants of listeners) if (wants()) return true;
  return false;
}

Deno.bench("rule 2: asked once for 1000 tasks", { group: "interest", baseline: true }, () => {
  const wants = anyoneWants();
  let built = 0;
  for (let task = 0; task < 1000; task++) if (wants) built++;
  if (built !== 1000) throw new Error(String(built));
});

Deno.bench("rule 2, ruled out: asked once a task", { group: "interest" }, () => {
  let built = 0;
  for (let task = 0; task < 1000; task++) if (anyoneWants()) built++;
  if (built !== 1000) throw new Error(String(built));
});

// Rule 3: reports are read into arrays kept for the purpose, not into an array per report.
const REPORT = 4;
const ring = new Float64Array(256 * REPORT).map((_, i) => i);
const reused = new Float64Array(256 * REPORT);

Deno.bench("rule 3: 256 reports into a reused array", { group: "reports", baseline: true }, () => {
  reused.set(ring);
  let sum = 0;
  for (let row = 0; row < 256; row++) sum += reused[row * REPORT + 1];
  if (sum <= 0) throw new Error(String(sum));
});

Deno.bench("rule 3, ruled out: an array per report", { group: "reports" }, () => {
  const rows: number[][] = [];
  for (let row = 0; row < 256; row++) {
    rows.push(Array.from(ring.subarray(row * REPORT, row * REPORT + REPORT)));
  }
  let sum = 0;
  for (const row of rows) sum += row[1];
  if (sum <= 0) throw new Error(String(sum));
});

// Rule 4: framing finds the newline with a plain loop over the buffer, no view per line.
const buffer = new TextEncoder().encode("12345 678\n".repeat(400));

Deno.bench("rule 4: a plain loop finds each newline", { group: "framing", baseline: true }, () => {
  let lines = 0;
  for (let start = 0, i = 0; i < buffer.length; i++) {
    if (buffer[i] === 10) {
      lines += i > start ? 1 : 0;
      start = i + 1;
    }
  }
  if (lines !== 400) throw new Error(String(lines));
});

Deno.bench("rule 4, ruled out: a subarray per line, then indexOf", { group: "framing" }, () => {
  let lines = 0;
  for (let start = 0; start < buffer.length;) {
    const end = buffer.subarray(start).indexOf(10);
    if (end < 0) break;
    lines += end > 0 ? 1 : 0;
    start += end + 1;
  }
  if (lines !== 400) throw new Error(String(lines));
});

// Rule 5: an object keeps the shape its class gave it: no property defined on one instance.
class Session {
  lastWrite = 0;
  constructor(readonly id: number) {}
}

Deno.bench("rule 5: fields of the class's shape", { group: "shape", baseline: true }, () => {
  let sum = 0;
  for (let i = 0; i < 1000; i++) {
    const session = new Session(i);
    kept[i & 63] = session;
    session.lastWrite = i;
    sum += session.lastWrite;
  }
  if (sum !== 499500) throw new Error(String(sum));
});

Deno.bench("rule 5, ruled out: a getter defined on each instance", { group: "shape" }, () => {
  let sum = 0;
  for (let i = 0; i < 1000; i++) {
    const session = new Session(i);
    kept[i & 63] = session;
    let written = 0;
    Object.defineProperty(session, "lastWrite", {
      get: () => written,
      set: (value: number) => void (written = value),
    });
    session.lastWrite = i;
    sum += session.lastWrite;
  }
  if (sum !== 499500) throw new Error(String(sum));
});

// Rule 6: the replies to a pipelined burst leave in one write, not one write each.
const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
const sink = (async () => {
  const conn = await listener.accept();
  const drain = new Uint8Array(1 << 16);
  while ((await conn.read(drain)) !== null) { /* discard */ }
})();
const writer = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
writer.setNoDelay(true);
const reply = new TextEncoder().encode("2\n");
const burst = new TextEncoder().encode("2\n".repeat(100));

Deno.bench("rule 6: 100 replies in one write", { group: "writes", baseline: true }, async () => {
  let written = 0;
  while (written < burst.length) written += await writer.write(burst.subarray(written));
});

Deno.bench("rule 6, ruled out: 100 replies, a write each", { group: "writes" }, async () => {
  for (let i = 0; i < 100; i++) await writer.write(reply);
});

globalThis.addEventListener("unload", () => {
  writer.close();
  listener.close();
  void sink;
});
