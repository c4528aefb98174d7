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

Deno.test("ConnectionGate.requeue(): with no one waiting, the client keeps its slot", () => {
  const gate = new ConnectionGate({ maxActive: 1, maxWaiting: 1 });
  const keeper = gate.admit();
  if (keeper.kind !== "served") throw new Error("unreachable");
  const back = gate.requeue(keeper.slot);
  assert.equal(back.kind, "served");
  if (back.kind !== "served") throw new Error("unreachable");
  assert.equal(back.slot, keeper.slot);
  assert.deepEqual([gate.active, gate.waiting], [1, 0]);
  back.slot[Symbol.dispose]();
  assert.equal(gate.active, 0);
});

Deno.test("ConnectionGate.requeue(): the slot goes to the next in line, the client to the end, and a full line does not refuse it", async () => {
  // One slot, a line of one, full.
  const gate = new ConnectionGate({ maxActive: 1, maxWaiting: 1 });
  const keeper = gate.admit();
  const student = gate.admit();
  if (keeper.kind !== "served" || student.kind !== "waiting") throw new Error("unreachable");
  assert.equal(gate.admit().kind, "refused", "the line is full");
  const back = gate.requeue(keeper.slot);
  assert.equal(back.kind, "waiting");
  if (back.kind !== "waiting") throw new Error("unreachable");
  assert.equal(back.position, 1);
  const studentSlot = await student.slot;
  assert.deepEqual([gate.active, gate.waiting], [1, 1]);
  // The keeper's turn comes when the student leaves; its old slot, disposed of again, frees nothing.
  keeper.slot[Symbol.dispose]();
  assert.deepEqual([gate.active, gate.waiting], [1, 1]);
  studentSlot[Symbol.dispose]();
  using _keeperSlot = await back.slot;
  assert.deepEqual([gate.active, gate.waiting], [1, 0]);
});

Deno.test("ConnectionGate: a freed slot goes to the first in line with a request ready, else to the first", async () => {
  const gate = new ConnectionGate({ maxActive: 1, maxWaiting: 3 });
  const holder = gate.admit();
  let readyB = false;
  const silent = gate.admit(() => false);
  const b = gate.admit(() => readyB);
  const c = gate.admit(() => true);
  if (
    holder.kind !== "served" || silent.kind !== "waiting" || b.kind !== "waiting" ||
    c.kind !== "waiting"
  ) throw new Error("unreachable");
  const order: string[] = [];
  for (const [name, admission] of [["silent", silent], ["b", b], ["c", c]] as const) {
    admission.slot.then((slot) => {
      order.push(name);
      slot[Symbol.dispose]();
    }, () => order.push(`${name} rejected`));
  }
  readyB = true;
  holder.slot[Symbol.dispose]();
  // b, then c (each ready, in line order), then the silent one, whose turn comes last.
  await silent.slot;
  assert.deepEqual(order, ["b", "c", "silent"]);
});

Deno.test("ConnectionGate.requeue() once closed: refused, and the slot is freed", () => {
  const gate = new ConnectionGate({ maxActive: 1, maxWaiting: 1 });
  const keeper = gate.admit();
  if (keeper.kind !== "served") throw new Error("unreachable");
  gate.close();
  const back = gate.requeue(keeper.slot);
  assert.equal(back.kind, "refused");
  assert.equal(gate.active, 0);
});
