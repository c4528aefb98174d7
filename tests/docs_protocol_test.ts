/**
 * docs/protocol.md's examples are what the server says: every `S:` line is one the code's
 * formatters write, every example is replayed against a real server, and the page's table of
 * error codes is the code's list, with which of them close the connection.
 */
import assert from "node:assert/strict";
import {
  closesConnection,
  type ErrorCode,
  formatBye,
  formatError,
  formatOk,
  formatProgress,
  formatStats,
  formatStep,
  formatValue,
  parseReply,
  type Reply,
} from "../lib/wire/replies.ts";
import { RawClient, startServer } from "./_helpers.ts";

const PAGE = await Deno.readTextFile(new URL("../docs/protocol.md", import.meta.url));

/** One line of an example: sent by the client (with or without a newline), or answered. */
interface ExampleLine {
  from: "client" | "server";
  text: string;
  newline: boolean;
}

/** An example session of the page, and whether its replies may be replayed exactly. */
interface Example {
  lines: ExampleLine[];
  replayed: boolean;
  at: number;
}

/** Every fenced block whose lines are all `C:`, `C~` or `S:` lines. */
function examples(markdown: string): Example[] {
  const found: Example[] = [];
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i].startsWith("```")) continue;
    const end = lines.indexOf("```", i + 1);
    const body = lines.slice(i + 1, end);
    if (body.length > 0 && body.every((line) => /^(C:|C~|S:) /.test(line))) {
      const before = lines.slice(0, i).reverse().find((line) => line !== "") ?? "";
      found.push({
        lines: body.map((line) => ({
          from: line.startsWith("S:") ? "server" : "client",
          text: line.slice(3),
          newline: !line.startsWith("C~"),
        })),
        replayed: !before.startsWith("<!-- not replayed"),
        at: i + 1,
      });
    }
    i = end;
  }
  return found;
}

/** The line the code's own formatter writes for a reply, newline included. */
function formatted(reply: Reply): string {
  switch (reply.kind) {
    case "value":
      return formatValue(reply.value, reply.updatesLost);
    case "ok":
      return formatOk(reply.setting);
    case "step":
      return formatStep(reply.step);
    case "progress":
      return formatProgress(reply.done, reply.total);
    case "bye":
      return formatBye();
    case "error":
      return formatError(reply.code as ErrorCode, reply.message);
    case "stats":
      return formatStats(reply.stats);
    case "malformed":
      return "(a line no formatter writes)";
  }
}

const EXAMPLES = examples(PAGE);

Deno.test("docs/protocol.md has examples of every kind of reply", () => {
  const kinds = new Set(
    EXAMPLES.flatMap((example) => example.lines)
      .filter((line) => line.from === "server")
      .map((line) => parseReply(line.text).kind),
  );
  assert.deepEqual(
    [...kinds].sort(),
    ["bye", "error", "ok", "progress", "stats", "step", "value"],
  );
  assert.ok(EXAMPLES.some((example) => example.lines.some((line) => !line.newline)));
});

Deno.test("every reply in docs/protocol.md is a line the code's formatters write", () => {
  for (const example of EXAMPLES) {
    for (const line of example.lines.filter((line) => line.from === "server")) {
      assert.equal(
        formatted(parseReply(line.text)),
        `${line.text}\n`,
        `docs/protocol.md, the example at line ${example.at}`,
      );
    }
  }
});

Deno.test("a real server answers docs/protocol.md's examples as the page says", async (t) => {
  await using server = startServer({ workers: 2 });
  for (const example of EXAMPLES.filter((example) => example.replayed)) {
    await t.step(`the example at line ${example.at}`, async () => {
      await using client = await RawClient.connect(server);
      for (const line of example.lines) {
        if (line.from === "client") {
          await client.write(line.newline ? `${line.text}\n` : line.text);
          continue;
        }
        const answer = await client.readLine();
        assert.ok(answer !== null, `the server closed before "${line.text}"`);
        const expected = parseReply(line.text);
        if (expected.kind === "stats") {
          // The figures change from run to run; the fields do not.
          const got = parseReply(answer);
          assert.equal(got.kind, "stats", answer);
          assert.deepEqual(
            Object.keys((got as { stats: object }).stats),
            Object.keys(expected.stats),
          );
        } else {
          assert.equal(answer, line.text);
        }
      }
    });
  }
});

Deno.test("docs/protocol.md's error codes are the code's, and say which close the connection", async () => {
  const source = await Deno.readTextFile(new URL("../lib/wire/replies.ts", import.meta.url));
  const union = /export type ErrorCode =([^;]*);/.exec(source)![1];
  const codes = [...union.matchAll(/"([a-z-]+)"/g)].map((match) => match[1]);
  const rows = PAGE.split("\n")
    .map((line) => /^\| `([a-z-]+)` +\| (yes|no) +\|/.exec(line))
    .filter((match) => match !== null)
    .map((match) => [match[1], match[2] === "yes"] as const);
  assert.deepEqual(rows.map(([code]) => code).sort(), [...codes].sort());
  for (const [code, closes] of rows) {
    assert.equal(closes, closesConnection(code), `${code}: "closes" is ${closes ? "yes" : "no"}`);
  }
});
