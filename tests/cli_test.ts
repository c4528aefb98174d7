/**
 * Every entry point's command line, run as users run it (`deno task NAME ...`): help on
 * stdout with exit 0, and a command line that cannot be used refused in one line with exit 2.
 */
import assert from "node:assert/strict";
import { type CommandSpec, type Flags, parseCommandLine, UsageError } from "../lib/cli/flags.ts";
import { formatFlagTable } from "../lib/cli/flag_docs.ts";
import { CLIENT_COMMAND } from "../lib/client/client_cli.ts";
import { NODE_COMMAND } from "../lib/fleet/node_cli.ts";
import { SERVER_COMMAND } from "../lib/server/server_cli.ts";
import { LESSONS_COMMAND } from "../lib/lessons/lessons_cli.ts";
import { DEMO_COMMAND } from "../lib/demo/demo_cli.ts";
import { BENCH_COMMAND } from "../bench/bench_cli.ts";
import { programStderr, runDeno } from "./_child.ts";
import {
  ITERATIONS_PER_UNIT,
  MAX_LESSON_INCREMENTS,
  MAX_LESSON_ITERATIONS_PER_UNIT,
  MAX_LESSON_RUNS,
} from "../lib/defaults/defaults.ts";

/** The tasks that take flags. */
const TASKS = ["server", "node", "client", "demo", "lessons", "bench"] as const;

/** What a task wrote and how it ended. */
interface TaskRun {
  code: number;
  stdout: string;
  /** The program's lines on stderr, without Deno's own about downloads. */
  errors: string[];
}

/**
 * Runs `deno task NAME ...args` from the project's root, as a user would. One that hangs (as
 * `lessons --workers 0` did) fails the test at the harness's time limit, which kills its whole
 * group: killing deno task alone would leave its deno run holding the pipes open.
 */
async function runTask(name: string, args: string[]): Promise<TaskRun> {
  // -q drops only deno task's own "Task NAME command" line.
  const { code, stdout, stderr } = await runDeno(["task", "-q", name, ...args], { group: true });
  const errors = programStderr(stderr).split("\n").filter((line) => line !== "");
  return { code, stdout, errors };
}

/** Runs one command line of each task at once. */
function runEach(argsOf: (name: typeof TASKS[number]) => string[]) {
  return Promise.all(TASKS.map(async (name) => ({ name, ...await runTask(name, argsOf(name)) })));
}

/** Asserts that a run was refused on one line of stderr, naming what was wrong, with exit 2. */
function assertRefused(name: string, run: TaskRun, mentions: string): void {
  assert.deepEqual(
    { code: run.code, stdout: run.stdout, lines: run.errors.length },
    { code: 2, stdout: "", lines: 1 },
    `${name}: ${run.errors.join("\n")}`,
  );
  assert.ok(run.errors[0].startsWith(`threadcount ${name}: `), `${name}: ${run.errors[0]}`);
  assert.ok(run.errors[0].includes(mentions), `${name} names ${mentions}: ${run.errors[0]}`);
}

Deno.test("every task answers --help: its usage on stdout, exit 0, nothing on stderr", async () => {
  for (const run of await runEach(() => ["--help"])) {
    assert.deepEqual({ code: run.code, errors: run.errors }, { code: 0, errors: [] }, run.name);
    assert.ok(
      run.stdout.startsWith(`Usage: deno task ${run.name}`),
      `${run.name}: ${run.stdout.slice(0, 200)}`,
    );
    assert.match(run.stdout, /\n {2}--[a-z]/, `${run.name} lists its flags`);
  }
});

Deno.test("every task refuses an unknown flag in one line, with exit 2", async () => {
  for (const run of await runEach(() => ["--no-such-flag"])) {
    assertRefused(run.name, run, "--no-such-flag");
  }
});

Deno.test("every task refuses a bad value in one line naming the flag, with exit 2", async () => {
  const bad = {
    server: ["--workers", "x"],
    node: ["--workers", "0"],
    client: ["--port", "x"],
    demo: ["--max-clients", "0"],
    // It used to wait for ever: no Worker, and no fleet to count instead.
    lessons: ["--workers", "0", "--increments", "4"],
    bench: ["--only", "0"],
  };
  for (const run of await runEach((name) => bad[name])) {
    assertRefused(run.name, run, bad[run.name][0]);
  }
});

Deno.test("lessons: each flag takes its bounds and refuses what lies beyond", async (t) => {
  const parse = (...args: string[]) => parseCommandLine(LESSONS_COMMAND, args).flags;
  await t.step("defaults", () => {
    assert.deepEqual(parse(), {
      increments: 40,
      workers: 2,
      schedule: undefined,
      counter: "racy",
      runs: undefined,
      predict: false,
      "iterations-per-unit": ITERATIONS_PER_UNIT,
    });
  });
  await t.step("the bounds themselves are taken", () => {
    assert.equal(parse("--increments", "1").increments, 1);
    const mostIncrements = String(MAX_LESSON_INCREMENTS);
    assert.equal(parse("--increments", mostIncrements).increments, MAX_LESSON_INCREMENTS);
    assert.equal(parse("--workers", "1").workers, 1);
    assert.equal(parse("--runs", "1").runs, 1);
    assert.equal(parse("--runs", String(MAX_LESSON_RUNS)).runs, MAX_LESSON_RUNS);
    assert.equal(parse("--iterations-per-unit", "0")["iterations-per-unit"], 0);
    const most = String(MAX_LESSON_ITERATIONS_PER_UNIT);
    assert.equal(
      parse("--iterations-per-unit", most)["iterations-per-unit"],
      MAX_LESSON_ITERATIONS_PER_UNIT,
    );
  });
  await t.step("beyond them, refused", () => {
    const refused: [string, string][] = [
      // No Worker and no fleet: the request would wait for ever.
      ["--workers", "0"],
      ["--workers", "1025"],
      ["--runs", "0"],
      ["--runs", String(MAX_LESSON_RUNS + 1)],
      ["--counter", "parallel"],
      // Nothing to count: a table of zeros.
      ["--increments", "0"],
      ["--increments", String(MAX_LESSON_INCREMENTS + 1)],
      ["--increments", "-1"],
      ["--increments", "1.5"],
      ["--iterations-per-unit", "-1"],
      ["--iterations-per-unit", String(MAX_LESSON_ITERATIONS_PER_UNIT + 1)],
    ];
    for (const [flag, value] of refused) {
      assert.throws(
        () => parse(flag, value),
        (error) => error instanceof UsageError && error.message.startsWith(`${flag} must be`),
        `${flag} ${value}`,
      );
    }
  });
});

/**
 * The Markdown table after the line `<!-- flags: NAME -->` in `markdown`.
 *
 * @throws {Error} When there is no such line, or no table right after it.
 */
function tableAfter(markdown: string, name: string): string {
  const lines = markdown.split("\n");
  const at = lines.indexOf(`<!-- flags: ${name} -->`);
  if (at < 0 || lines[at + 1] !== "" || !lines[at + 2]?.startsWith("|")) {
    throw new Error(`docs/operating.md has no table right after "<!-- flags: ${name} -->"`);
  }
  const end = lines.findIndex((line, i) => i > at + 2 && !line.startsWith("|"));
  return lines.slice(at + 2, end < 0 ? undefined : end).join("\n");
}

Deno.test("docs/operating.md's flag tables are the ones the commands' specs make", async (t) => {
  const page = await Deno.readTextFile(new URL("../docs/operating.md", import.meta.url));
  const tables: [string, CommandSpec<Flags>][] = [
    ["server", SERVER_COMMAND],
    ["client", CLIENT_COMMAND],
    ["node", NODE_COMMAND],
    ["lessons", LESSONS_COMMAND],
    ["demo", DEMO_COMMAND],
    ["bench", BENCH_COMMAND],
  ];
  for (const [name, command] of tables) {
    await t.step(name, () => {
      assert.equal(
        tableAfter(page, name),
        formatFlagTable(command),
        `docs/operating.md's ${name} table is not the spec's: put formatFlagTable's there`,
      );
    });
  }
});

Deno.test("deno task server on a port in use: one line naming the flag that picks another, exit 1", async () => {
  using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = taken.addr.port;
  for (
    const [args, flag] of [
      [["--port", String(port)], "--port PORT"],
      [["--port", "0", "--dashboard", String(port)], "--dashboard PORT"],
    ]
  ) {
    const run = await runTask("server", [...args as string[], "--quiet"]);
    assert.equal(run.code, 1, run.errors.join("\n"));
    const refusal = run.errors.find((line) => line.includes("is in use")) ?? run.errors.join("\n");
    assert.ok(refusal?.startsWith(`threadcount server: 127.0.0.1:${port} is in use`), refusal);
    assert.ok(refusal.includes(`pick another port with ${flag}`), refusal);
  }
});
