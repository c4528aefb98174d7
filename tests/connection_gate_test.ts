import assert from "node:assert/strict";
import { ConnectionGate, GateClosedError } from "../lib/server/connection_gate.ts";

/** A gate of one slot and the first three admissions: one served, two waiting in line. */
function servedAndTwoWaiting(maxWaiting: number) {
  const gate = new ConnectionGate({ maxActive: 1, maxWaiting });
  const first = gate.admit();
  const second = gate.admit();
  const third = gate.admit();
  if (first.kind !== "served" || second.kind !== "waiting" || third.kind !== "waiting") {
    throw new Error(`unexpected admissions: ${first.kind}, ${second.kind}, ${third.kind}`);
  }
  return { gate, first, second, third };
}

Deno.test("ConnectionGate: a waiting client that leaves is out of line; those behind move up", async () => {
  const { gate, first, second, third } = servedAndTwoWaiting(3);
  const reason = new Error("client disconnected");
  second.leave(reason);
  await assert.rejects(second.slot, (error) => error === reason);
  assert.equal(gate.waiting, 1);
  // The line has room again, and the slot goes to the one that stayed.
  const fourth = gate.admit();
  assert.equal(fourth.kind, "waiting");
  if (fourth.kind !== "waiting") throw new Error("unreachable");
  assert.equal(fourth.position, 2);
  first.slot[Symbol.dispose]();
  using _third = await third.slot;
  assert.equal(gate.active, 1);
  assert.equal(gate.waiting, 1);
  gate.close();
  await assert.rejects(fourth.slot, GateClosedError);
});

Deno.test("ConnectionGate: leaving after the slot was handed over changes nothing", async () => {
  const { gate, first, second, third } = servedAndTwoWaiting(2);
  first.slot[Symbol.dispose]();
  const slot = await second.slot;
  second.leave(new Error("too late"));
  assert.equal(gate.active, 1);
  assert.equal(gate.waiting, 1, "the third is still in line");
  slot[Symbol.dispose]();
  using _third = await third.slot;
  assert.equal(gate.active, 1);
});

Deno.test("ConnectionGate: a slot disposed of twice frees one slot, not two", async () => {
  const { gate, first, second, third } = servedAndTwoWaiting(2);
  first.slot[Symbol.dispose]();
  first.slot[Symbol.dispose]();
  using _second = await second.slot;
  assert.equal(gate.active, 1);
  assert.equal(gate.waiting, 1, "the third still waits: one slot, handed over once");
  gate.close();
  await assert.rejects(third.slot, GateClosedError);
});
