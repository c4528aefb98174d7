/**
 * The command line of `deno task bench`: its flags and the benchmarks'
 * names, apart from the suite that runs them, so that the docs' flag table
 * is made from the same spec as `--help`.
 *
 * @module
 */
import {
  booleanFlag,
  type CommandSpec,
  type Flag,
  type Flags,
  UsageError,
} from "../lib/cli/flags.ts";

/** The benchmarks, in the order they run; `--only` picks them by number. */
export const BENCH_NAMES = [
  "dispatch",
  "parallel",
  "keepAlive",
  "oneShot",
  "manyConnections",
  "original",
  "serial",
  "fleetDispatch",
  "fleetParallel",
  "pipelined",
] as const;

/** A benchmark's name. */
export type BenchName = typeof BENCH_NAMES[number];

/** `--only 1,3`: benchmark numbers, each once, in any order. */
const only: Flag<number[] | undefined> = {
  value: "LIST",
  description: "run only these benchmarks, by number (listed below), e.g. 1,3",
  default: undefined,
  parse: (text, flag) => {
    const numbers = text.split(",").map((word) => Number(word.trim()));
    if (!numbers.every((n) => Number.isInteger(n) && n >= 1 && n <= BENCH_NAMES.length)) {
      throw new UsageError(
        `${flag} must list benchmark numbers from 1 to ${BENCH_NAMES.length}, separated by ` +
          `commas (e.g. ${flag} 1,3): received ${JSON.stringify(text)}`,
      );
    }
    return numbers;
  },
};

/**
 * The suite's command line, as `deno task bench --help` shows it.
 *
 * @example
 * ```ts
 * import { BENCH_COMMAND } from "./bench_cli.ts";
 * import { parseCommandLine } from "../lib/cli/flags.ts";
 * import assert from "node:assert/strict";
 *
 * const { flags } = parseCommandLine(BENCH_COMMAND, ["--quick", "--only", "1,3"]);
 * assert.deepEqual([flags.quick, flags.only], [true, [1, 3]]);
 * ```
 */
export const BENCH_COMMAND = {
  name: "threadcount bench",
  usage: "deno task bench [flags]",
  about: "Runs the benchmark suite: each figure is measured in the same run as its floor (the\n" +
    "runtime alone, with nothing of threadcount in the way) and reported as a ratio. The NATS\n" +
    "rows run where nats-server is installed. Progress goes to stderr, the table to stdout.",
  flags: {
    json: booleanFlag("print the results as JSON on stdout, and no progress"),
    quick: booleanFlag("a shorter run: a quarter of the work of each benchmark"),
    only,
  },
  epilogue: "Benchmarks:\n" +
    BENCH_NAMES.map((name, i) => `${String(i + 1).padStart(4)}  ${name}`).join("\n"),
} satisfies CommandSpec<Flags>;
