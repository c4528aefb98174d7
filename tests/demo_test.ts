import assert from "node:assert/strict";
import { DEMO_SCRIPT, runDemo } from "../lib/demo/demo.ts";

Deno.test("the demo runs three clients at once, answers each exactly, and shows them interleaved", async () => {
  const lines: string[] = [];
  const transcript = await runDemo({
    server: { workers: 2, iterationsPerUnit: 2_000, seed: 3 },
    write: (line) => lines.push(line),
  });
  assert.deepEqual(transcript, [
    ["12", "45"],
    ["106", 'ERR bad-request expected "<start> <increments>", e.g. "2 10", got "2 x"'],
    ["1", "123456789012345678901234567893"],
  ]);
  assert.equal(DEMO_SCRIPT.length, 3);
  // Every client spoke before any finished: their sessions overlapped.
  const firstStop = lines.findIndex((l) => l.endsWith("> STOP"));
  for (const name of ["[client 1] >", "[client 2] >", "[client 3] >"]) {
    const at = lines.findIndex((l) => l.startsWith(name));
    assert.ok(at >= 0 && at < firstStop, `${name} spoke before the first STOP`);
  }
  assert.ok(lines.some((l) => l.startsWith("[server]") && l.includes(" queued on worker ")));
  assert.ok(lines.at(-1)?.includes("stopped"));
});
