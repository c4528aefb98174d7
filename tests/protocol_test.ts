import assert from "node:assert/strict";
import { formatError, parseCommand, ProtocolError } from "../lib/wire/protocol.ts";

const limits = { maxIncrements: 1000 };

Deno.test("parseCommand() reads good request lines", async (t) => {
  const table: [string, ReturnType<typeof parseCommand>][] = [
    ["2 10", { kind: "count", start: 2n, increments: 10 }],
    ["  2\t\t10  ", { kind: "count", start: 2n, increments: 10 }],
    ["-5 3", { kind: "count", start: -5n, increments: 3 }],
    ["0 0", { kind: "count", start: 0n, increments: 0 }],
    ["7 1000", { kind: "count", start: 7n, increments: 1000 }],
    ["7 0001", { kind: "count", start: 7n, increments: 1 }],
    [
      `${"9".repeat(200)} 1`,
      { kind: "count", start: BigInt("9".repeat(200)), increments: 1 },
    ],
    ["", { kind: "empty" }],
    [" \t ", { kind: "empty" }],
    ["STOP", { kind: "stop" }],
    ["stop", { kind: "stop" }],
    [" sToP ", { kind: "stop" }],
    ["STATS", { kind: "stats" }],
    ["progress on", { kind: "progress", on: true }],
    ["PROGRESS OFF", { kind: "progress", on: false }],
  ];
  for (const [line, expected] of table) {
    await t.step(JSON.stringify(line), () => {
      assert.deepEqual(parseCommand(line, limits), expected);
    });
  }
});

Deno.test("parseCommand() rejects bad lines with a code and a clear message", async (t) => {
  const table: [string, string, RegExp][] = [
    ["2 x", "bad-request", /expected "<start> <increments>".*got "2 x"/],
    ["hello", "bad-request", /got "hello"/],
    ["2", "bad-request", /got "2"/],
    ["1 2 3", "bad-request", /got "1 2 3"/],
    ["2,10", "bad-request", /got "2,10"/],
    ["2.5 1", "bad-request", /got "2.5 1"/],
    ["0x10 1", "bad-request", /got "0x10 1"/],
    ["2 -1", "bad-request", /<increments> must be 0 or more/],
    ["2 1001", "too-many-increments", /at most 1000, got "1001"/],
    ["2 99999999999999999999999", "too-many-increments", /at most 1000/],
    ["STOP now", "bad-request", /got "STOP now"/],
    ["progress maybe", "bad-request", /got "progress maybe"/],
    ["x".repeat(500), "bad-request", /got "x{60}…"/],
  ];
  for (const [line, code, message] of table) {
    await t.step(JSON.stringify(line.slice(0, 20)), () => {
      assert.throws(
        () => parseCommand(line, limits),
        (error) =>
          error instanceof ProtocolError && error.code === code && message.test(error.message),
      );
    });
  }
});

Deno.test("formatError() makes one line, whatever the message holds", () => {
  assert.equal(formatError("bad-request", "a\r\nb"), "ERR bad-request a b\n");
});
