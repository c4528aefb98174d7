import assert from "node:assert/strict";
import {
  booleanFlag,
  choiceFlag,
  type CommandSpec,
  parseCommandLine,
  UsageError,
} from "../lib/cli/flags.ts";
import { integerFlag } from "../lib/cli/number_flags.ts";
import { TEST_COMMAND } from "./fixtures/test_command.ts";

const COMMAND = TEST_COMMAND;

function parse(...args: string[]) {
  return parseCommandLine(COMMAND, args);
}

/** Asserts that `args` are refused with exactly `message`. */
function assertRefused(args: string[], message: string): void {
  assert.throws(
    () => parse(...args),
    (error) => error instanceof UsageError && error.message === message,
    args.join(" "),
  );
}

Deno.test("parseCommandLine() gives each flag its value, or its default", () => {
  assert.deepEqual(parse(), {
    flags: {
      workers: 2,
      seed: undefined,
      grace: 10_000,
      "trace-max-mb": 2 ** 28,
      trace: undefined,
      dashboard: undefined,
      model: "pool",
      quiet: false,
    },
    positionals: [],
    help: false,
  });
  const { flags } = parse(
    "--workers",
    "8",
    "--seed=7",
    "--grace",
    "0.5",
    "--trace-max-mb",
    "3",
    "--trace",
    "run.json",
    "--dashboard",
    "9090",
    "--model",
    "per-increment",
    "--quiet",
  );
  assert.deepEqual(flags, {
    workers: 8,
    seed: 7,
    grace: 500,
    "trace-max-mb": 3 * 2 ** 20,
    trace: "run.json",
    dashboard: 9090,
    model: "per-increment",
    quiet: true,
  });
});

Deno.test("parseCommandLine() takes a value that starts with a dash, joined or not", () => {
  assert.equal(parse("--seed", "-5").flags.seed, -5);
  assert.equal(parse("--seed=-5").flags.seed, -5);
  assert.equal(parse("--trace", "-").flags.trace, "-");
});

Deno.test("parseCommandLine(): the last of a repeated flag wins", () => {
  assert.equal(parse("--workers", "3", "--workers", "4").flags.workers, 4);
});

Deno.test("parseCommandLine(): a flag whose value may be left out", async (t) => {
  await t.step("alone, it takes its bare value", () => {
    assert.equal(parse("--dashboard").flags.dashboard, 8080);
  });
  await t.step("before another flag, too", () => {
    const { flags } = parse("--dashboard", "--quiet");
    assert.deepEqual([flags.dashboard, flags.quiet], [8080, true]);
  });
  await t.step("with a value, that value", () => {
    assert.equal(parse("--dashboard", "0").flags.dashboard, 0);
  });
  await t.step("a bad value is refused, not taken for a positional", () => {
    assertRefused(
      ["--dashboard", "-1"],
      '--dashboard must be a whole number from 0 to 65535: received "-1"',
    );
  });
});

Deno.test("integerFlag() refuses what is not a whole number in its range", () => {
  for (const text of ["0", "65", "-1", "1.5", "NaN", "Infinity", "", " ", "1e1", "0x10", "two"]) {
    assertRefused(
      ["--workers", text],
      `--workers must be a whole number from 1 to 64: received ${JSON.stringify(text)}`,
    );
  }
  assert.equal(parse("--workers", "1").flags.workers, 1);
  assert.equal(parse("--workers", "64").flags.workers, 64);
  assert.equal(parse("--workers", "+07").flags.workers, 7);
});

Deno.test("integerFlag() with no upper bound refuses a number past exact integers", () => {
  const command = { name: "t", usage: "t", flags: { n: integerFlag({ description: "n" }) } };
  const most = String(Number.MAX_SAFE_INTEGER);
  assert.equal(parseCommandLine(command, ["--n", most]).flags.n, Number.MAX_SAFE_INTEGER);
  assert.throws(
    () => parseCommandLine(command, ["--n", "9007199254740993"]),
    new UsageError(`--n must be a whole number from 0 to ${most}: received "9007199254740993"`),
  );
});

Deno.test("integerFlag() refuses a range with its bounds the wrong way round", () => {
  assert.throws(
    () => integerFlag({ description: "n", min: 2, max: 1 }),
    new RangeError("'min' must be at most 'max': received 2 and 1"),
  );
});

Deno.test("secondsFlag() reads seconds as whole ms, within what a timer can wait", () => {
  assert.equal(parse("--grace", "2").flags.grace, 2000);
  assert.equal(parse("--grace", ".25").flags.grace, 250);
  assert.equal(parse("--grace", "0").flags.grace, 0);
  for (const text of ["-1", "x", "", "1e400", "2147484", "1s"]) {
    assertRefused(
      ["--grace", text],
      `--grace must be a number of seconds from 0 to 2147483: received ${JSON.stringify(text)}`,
    );
  }
});

Deno.test("megabytesFlag() reads whole MB as bytes", () => {
  assert.equal(parse("--trace-max-mb", "1").flags["trace-max-mb"], 2 ** 20);
  for (const text of ["0", "1.5", "x"]) {
    assert.throws(
      () => parse("--trace-max-mb", text),
      (error) =>
        error instanceof UsageError &&
        error.message.startsWith("--trace-max-mb must be a whole number of MB from 1 to "),
    );
  }
});

Deno.test("stringFlag() refuses an empty value", () => {
  assertRefused(["--trace="], "--trace needs a value: --trace FILE");
});

Deno.test("parseCommandLine() refuses a command line it cannot use, in one line", async (t) => {
  const cases: [string, string[], string][] = [
    ["an unknown flag", ["--nope"], "Unknown option '--nope'; see --help"],
    ["an unknown flag with a value", ["--nope=1"], "Unknown option '--nope'; see --help"],
    ["a value at the end, missing", ["--workers"], "--workers needs a value: --workers N"],
    [
      "a switch with a value",
      ["--quiet=yes"],
      "Option '--quiet' does not take an argument; see --help",
    ],
    ["a positional", ["stray"], "Unexpected argument 'stray'; see --help"],
    ["a positional after --", ["--", "--quiet"], "Unexpected argument '--quiet'; see --help"],
  ];
  for (const [name, args, message] of cases) {
    await t.step(name, () => {
      assertRefused(args, message);
      assert.ok(!message.includes("\n"));
    });
  }
});

Deno.test("parseCommandLine() returns positionals to a command that takes them", () => {
  const command = { ...COMMAND, positionals: true };
  const line = parseCommandLine(command, ["2", "--quiet", "10"]);
  assert.deepEqual([line.positionals, line.flags.quiet], [["2", "10"], true]);
});

Deno.test("parseCommandLine(): --help and -h ask for help, which a bad value does not hide", () => {
  assert.equal(parse("--help").help, true);
  assert.equal(parse("-h").help, true);
  const line = parse("--workers", "0", "--help");
  assert.deepEqual([line.help, line.flags.workers], [true, 2]);
});

Deno.test("parseCommandLine() refuses a spec that defines --help itself", () => {
  const command = { name: "t", usage: "t", flags: { help: booleanFlag("mine") } };
  assert.throws(() => parseCommandLine(command, []), TypeError);
});

Deno.test("parseCommandLine(): a negative number is an argument, in its place, not a flag", () => {
  const command = { ...COMMAND, positionals: true };
  const line = parseCommandLine(command, ["-5", "--workers", "3", "-2", "--quiet", "7"]);
  assert.deepEqual([line.positionals, line.flags.workers], [["-5", "-2", "7"], 3]);
  assert.deepEqual(parseCommandLine(command, ["--seed", "-5", "-6"]).positionals, ["-6"]);
  assertRefused(["-5"], "Unexpected argument '-5'; see --help");
  assertRefused(["-x"], "Unknown option '-x'; see --help");
});

Deno.test("choiceFlag() takes one of its names, in any case, and names them when refused", () => {
  const model = choiceFlag({
    choices: ["racy", "locked", "parallel"],
    description: "the counter",
    default: "parallel",
  });
  const command = { name: "t", usage: "t", flags: { counter: model } };
  const parse = (...args: string[]) => parseCommandLine(command, args).flags.counter;
  assert.equal(parse(), "parallel");
  assert.equal(parse("--counter", "RACY"), "racy");
  assert.equal(model.value, "racy|locked|parallel");
  for (const text of ["fast", "", "rac"]) {
    assert.throws(
      () => parse(`--counter=${text}`),
      new UsageError(
        `--counter must be racy, locked or parallel: received ${JSON.stringify(text)}`,
      ),
    );
  }
  assert.throws(
    () => choiceFlag({ choices: ["a", "b"], description: "x", default: "c" as "a" }),
    new RangeError(`'default' must be one of the choices: received "c"`),
  );
});

Deno.test("parseCommandLine() runs the spec's check after every flag's own, and not for --help", () => {
  const checked: unknown[] = [];
  const flags = { ...COMMAND.flags, verbose: booleanFlag("more") };
  const command = {
    name: "t",
    usage: "t",
    flags,
    check(values) {
      checked.push(values.workers);
      if (values.quiet && values.verbose) throw new UsageError("choose one");
    },
  } satisfies CommandSpec<typeof flags>;
  assert.equal(parseCommandLine(command, ["--quiet", "--workers", "3"]).flags.quiet, true);
  assert.throws(
    () => parseCommandLine(command, ["--quiet", "--verbose"]),
    new UsageError("choose one"),
  );
  // A flag's own check comes first: the spec's check sees only values each flag took.
  assert.throws(() => parseCommandLine(command, ["--workers", "0"]), /--workers must be/);
  assert.equal(parseCommandLine(command, ["--quiet", "--verbose", "-h"]).help, true);
  assert.deepEqual(checked, [3, 2]);
});
