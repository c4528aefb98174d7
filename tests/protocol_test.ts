import assert from "node:assert/strict";
import {
  closesConnection,
  type ErrorCode,
  formatBye,
  formatError,
  formatOk,
  formatProgress,
  formatStats,
  formatValue,
  isReplyTo,
  parseCommand,
  parseReply,
  ProtocolError,
  type Reply,
  type Setting,
} from "../lib/wire/protocol.ts";
import { COUNTER_MODELS, type CounterModel } from "../lib/counter/counter_model.ts";

const limits = { maxIncrements: 1000 };

/** The largest count a reply carries: 15 digits. */
const MAX_COUNT = 999_999_999_999_999;

/** Every error code: a code missing here, or one the type does not know, fails type-checking. */
const ERROR_CODES = Object.keys(
  {
    "bad-request": true,
    "too-many-increments": true,
    "line-too-long": true,
    "bad-encoding": true,
    busy: true,
    "idle-timeout": true,
    "shutting-down": true,
    "worker-failed": true,
    "too-much-work": true,
    "no-workers": true,
    "bad-proxy-header": true,
    "stopped-by-teacher": true,
  } satisfies Record<ErrorCode, true>,
) as ErrorCode[];

/** A formatted reply without its newline, as a client's line reader gives it. */
function line(text: string): string {
  assert.ok(text.endsWith("\n"), `${JSON.stringify(text)} ends with a newline`);
  return text.slice(0, -1);
}

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

Deno.test("formatValue() and parseReply() round-trip a count's answer", async (t) => {
  const values = [0n, 1n, -1n, -2n, 12n, 2n ** 53n + 1n, -(2n ** 64n), 10n ** 200n];
  const lost = [undefined, 0, 1, 2, 18, MAX_COUNT];
  for (const value of values) {
    for (const updatesLost of lost) {
      await t.step(`${String(value).slice(0, 12)}, ${updatesLost} lost`, () => {
        const expected: Reply = updatesLost === undefined
          ? { kind: "value", value }
          : { kind: "value", value, updatesLost };
        assert.deepEqual(parseReply(line(formatValue(value, updatesLost))), expected);
      });
    }
  }
  await t.step("the text: one update, many updates", () => {
    assert.equal(formatValue(-2n), "-2\n");
    assert.equal(formatValue(-2n, 1), "-2 (1 update lost)\n");
    assert.equal(formatValue(5n, 0), "5 (0 updates lost)\n");
    assert.equal(formatValue(22n, 18), "22 (18 updates lost)\n");
  });
});

Deno.test("formatOk() and parseReply() round-trip every setting", async (t) => {
  const settings: Setting[] = [
    { kind: "progress", on: true },
    { kind: "progress", on: false },
    ...COUNTER_MODELS.map((model) => ({ kind: "counter", model }) as const),
  ];
  for (const setting of settings) {
    await t.step(line(formatOk(setting)), () => {
      assert.deepEqual(parseReply(line(formatOk(setting))), { kind: "ok", setting });
      // The server acknowledges a setting with the command that asked for it.
      const command = parseCommand(line(formatOk(setting)).slice("OK ".length), limits);
      assert.deepEqual(command, setting);
    });
  }
});

Deno.test("formatProgress() and parseReply() round-trip a progress line", async (t) => {
  for (const [done, total] of [[0, 0], [3, 10], [10, 10], [MAX_COUNT, MAX_COUNT]]) {
    await t.step(`${done} of ${total}`, () => {
      assert.deepEqual(parseReply(line(formatProgress(done, total))), {
        kind: "progress",
        done,
        total,
      });
    });
  }
});

Deno.test("formatBye() and parseReply() round-trip BYE", () => {
  assert.equal(formatBye(), "BYE\n");
  assert.deepEqual(parseReply(line(formatBye())), { kind: "bye" });
});

Deno.test("formatError() and parseReply() round-trip every error code", async (t) => {
  for (const code of ERROR_CODES) {
    await t.step(code, () => {
      assert.deepEqual(parseReply(line(formatError(code, "what happened; what to do"))), {
        kind: "error",
        code,
        message: "what happened; what to do",
      });
      assert.deepEqual(parseReply(line(formatError(code, ""))), {
        kind: "error",
        code,
        message: "",
      });
    });
  }
  await t.step("a message a terminal would act on is escaped, and still an error", () => {
    const reply = parseReply(line(formatError("worker-failed", "\u001b[31mboom\u001b[0m\r\nat x")));
    assert.deepEqual(reply, {
      kind: "error",
      code: "worker-failed",
      message: "\\u001b[31mboom\\u001b[0m at x",
    });
  });
});

Deno.test("formatStats() and parseReply() round-trip the STATS object", async (t) => {
  const table: Record<string, unknown>[] = [
    {},
    { clients_active: 1, uptime_s: 1.5, workers: 2 },
    { remote_workers: [{ node: "n1", workers: 4 }], nested: { a: [1, null, true] } },
    { name: "a\u2028b\u001b[2Jc\u202e" }, // what would end the line or act on a terminal
  ];
  for (const stats of table) {
    await t.step(JSON.stringify(stats).slice(0, 40), () => {
      const text = formatStats(stats);
      assert.equal(text.indexOf("\n"), text.length - 1, "one line");
      assert.deepEqual(parseReply(line(text)), { kind: "stats", stats });
    });
  }
});

Deno.test("the formatters refuse what no reply can carry", async (t) => {
  type Case = [name: string, format: () => string, error: ErrorConstructor];
  const table: Case[] = [
    ["a number as the value", () => formatValue(1 as unknown as bigint), TypeError],
    ...[-1, 1.5, NaN, Infinity, MAX_COUNT + 1].map((n): Case => [
      `${n} updates lost`,
      () => formatValue(1n, n),
      RangeError,
    ]),
    ["-1 done", () => formatProgress(-1, 1), RangeError],
    ["1.5 total", () => formatProgress(1, 1.5), RangeError],
    [
      "counter fast",
      () => formatOk({ kind: "counter", model: "fast" as CounterModel }),
      RangeError,
    ],
    ["an array as STATS", () => formatStats([]), TypeError],
    ["null as STATS", () => formatStats(null as unknown as object), TypeError],
  ];
  for (const [name, format, errorClass] of table) {
    await t.step(name, () => assert.throws(format, errorClass));
  }
});

Deno.test("parseReply() reads any other line as malformed, without throwing", async (t) => {
  const table: string[] = [
    "",
    " 12",
    "12 ",
    "+5",
    "007",
    "-0",
    "1.5",
    "1e3",
    "12 (1 updates lost)",
    "12 (2 update lost)",
    "12 (-1 updates lost)",
    "12 (01 updates lost)",
    "12 (1234567890123456 updates lost)", // beyond what a count can be: not a safe integer
    "12 (3 updates lost",
    "12\r",
    "\u202e12",
    "PROGRESS 1",
    "PROGRESS -1 2",
    "PROGRESS 1 2 3",
    "PROGRESS 1234567890123456 1",
    "progress 1 2",
    "OK",
    "OK progress maybe",
    "OK progress on ",
    "OK counter fast",
    "OK counter RACY",
    "ok counter racy",
    "BYE ",
    "bye",
    "ERR",
    "ERR ",
    "ERR Busy try later",
    "ERR busy\ttry later",
    "ERR busy \u001b[2J",
    "ERR busy \u009b2J",
    "{",
    "{]",
    '{"a":1} x',
    "[1]",
    "null",
    "HTTP/1.1 400 Bad Request",
    "9".repeat(1_000_000) + "x",
    "{".repeat(100_000),
    '{"a":' + "[".repeat(100_000),
    "ERR busy " + "\u0000".repeat(100_000),
  ];
  for (const text of table) {
    await t.step(JSON.stringify(text).slice(0, 40), () => {
      assert.deepEqual(parseReply(text), { kind: "malformed" });
    });
  }
  await t.step("a value of 100 000 digits is a value", () => {
    assert.deepEqual(parseReply("9".repeat(100_000)), {
      kind: "value",
      value: BigInt("9".repeat(100_000)),
    });
  });
});

Deno.test("closesConnection(): the codes after which the server hangs up", () => {
  const closing = ERROR_CODES.filter((code) => closesConnection(code));
  assert.deepEqual(closing, [
    "line-too-long",
    "busy",
    "idle-timeout",
    "shutting-down",
    "bad-proxy-header",
    "stopped-by-teacher",
  ]);
  assert.equal(closesConnection("some-newer-code"), false);
  assert.equal(closesConnection("toString"), false);
});

Deno.test("isReplyTo(): which reply answers which command", async (t) => {
  const table: [string, string, boolean][] = [
    ["2 10", "12", true],
    ["-5 3", "-2 (1 update lost)", true],
    ["2 10", "OK progress on", false],
    ["2 10", "ERR too-much-work ask for fewer", true],
    ["STATS", '{"workers":2}', true],
    ["STATS", "12", false],
    ["STOP", "BYE", true],
    ["STOP", "12", false],
    ["PROGRESS ON", "OK progress on", true],
    ["PROGRESS ON", "OK progress off", false],
    ["COUNTER racy", "OK counter racy", true],
    ["COUNTER racy", "OK counter locked", false],
    ["COUNTER racy", "OK progress on", false],
    ["COUNTER racy", "ERR bad-request only COUNTER parallel here", true],
    ["", "12", false],
  ];
  for (const [request, reply, answers] of table) {
    await t.step(`${request || "(empty)"} ← ${reply}`, () => {
      assert.equal(isReplyTo(parseReply(reply), parseCommand(request, limits)), answers);
    });
  }
});
