import assert from "node:assert/strict";
import { booleanFlag } from "../lib/cli/flags.ts";
import { formatFlagTable, helpText } from "../lib/cli/flag_docs.ts";
import { runDeno } from "./_child.ts";
import { TEST_COMMAND } from "./fixtures/test_command.ts";

const COMMAND = TEST_COMMAND;

Deno.test("helpText() lists every flag with its value, range and default, aligned and wrapped", () => {
  const long = "word ".repeat(30).trim();
  const text = helpText({
    ...COMMAND,
    flags: { ...COMMAND.flags, verbose: booleanFlag(long) },
    epilogue: "Exit codes: 0 done, 2 bad usage.",
  });
  const lines = text.split("\n");
  assert.deepEqual(lines, [
    "Usage: deno task test-command [flags]",
    "",
    "A command for the tests.",
    "",
    "  --workers N                 Worker threads (1 to 64; default 2)",
    "  --seed N                    seed (-2147483648 to 2147483647)",
    "  --grace SECONDS             time to finish (default 10)",
    "  --trace-max-mb MB           largest trace (default 256)",
    "  --trace FILE                where to write a trace",
    "  --dashboard [PORT]          serve a dashboard (0 to 65535; 8080 without PORT; default off)",
    "  --model pool|per-increment  a pool, or a Worker per increment (default pool)",
    "  --quiet                     log less",
    "  --verbose                   word word word word word word word word word word word word word word",
    "                              word word word word word word word word word word word word word word",
    "                              word word",
    "  -h, --help                  show this text",
    "",
    "Exit codes: 0 done, 2 bad usage.",
  ]);
  assert.ok(lines.every((line) => line.length <= 100));
});

Deno.test("formatFlagTable() says what the help says, in Markdown, one row a flag", () => {
  assert.equal(
    formatFlagTable(COMMAND),
    [
      "| flag                          | default | meaning                                             |",
      "| ----------------------------- | ------- | --------------------------------------------------- |",
      "| `--workers N`                 | `2`     | Worker threads (1 to 64)                            |",
      "| `--seed N`                    | none    | seed (-2147483648 to 2147483647)                    |",
      "| `--grace SECONDS`             | `10`    | time to finish                                      |",
      "| `--trace-max-mb MB`           | `256`   | largest trace                                       |",
      "| `--trace FILE`                | none    | where to write a trace                              |",
      "| `--dashboard [PORT]`          | off     | serve a dashboard (0 to 65535; `8080` without PORT) |",
      "| `--model pool\\|per-increment` | `pool`  | a `pool`, or a Worker per increment                 |",
      "| `--quiet`                     | off     | log less                                            |",
    ].join("\n"),
  );
});

Deno.test("formatFlagTable(): a cell's | is escaped and its line breaks are spaces", () => {
  const table = formatFlagTable({
    name: "t",
    usage: "t",
    flags: { mode: booleanFlag("either a|b,\nor c") },
  });
  assert.match(table, /\| either a\\\|b, or c \|$/);
  assert.equal(table.split("\n").length, 3);
});

Deno.test("formatFlagTable() lays a table out as deno fmt does: formatting leaves it as it is", async () => {
  const markdown = `# Flags\n\n${formatFlagTable(COMMAND)}\n`;
  const { code, stdout } = await runDeno(["fmt", "--ext", "md", "-"], { input: markdown });
  assert.equal(code, 0);
  assert.equal(stdout, markdown);
});
