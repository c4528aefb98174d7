/**
 * The command line of `deno task lessons`: its flags, their bounds, and its help.
 *
 * @module
 */
import { booleanFlag, choiceFlag, type CommandSpec, type Flags, stringFlag } from "../cli/flags.ts";
import { integerFlag } from "../cli/number_flags.ts";
import {
  ITERATIONS_PER_UNIT,
  LESSON_INCREMENTS,
  LESSON_WORKERS,
  MAX_LESSON_INCREMENTS,
  MAX_LESSON_ITERATIONS_PER_UNIT,
  MAX_LESSON_RUNS,
  MAX_SCHEDULE_STEPS,
  MAX_UNITS,
  MAX_WORKERS,
  MIN_UNITS,
} from "../defaults/defaults.ts";

/** The lessons' command line. */
export const LESSONS_COMMAND = {
  name: "threadcount lessons",
  usage: "deno task lessons [flags]",
  about: "The original course project's two mistakes, measured beside the right way: counts the\n" +
    "same request under each counter model (racy, locked, parallel) and each Worker model\n" +
    "(pool, per-increment), each on a server of its own, and prints the table. With\n" +
    "--schedule, steps the Workers through the race in that order and prints each step;\n" +
    "with --runs, counts the racy request many times and prints the answers' histogram.",
  flags: {
    increments: integerFlag({
      description: "increments of the request, counted from 0",
      default: LESSON_INCREMENTS,
      min: 1,
      max: MAX_LESSON_INCREMENTS,
    }),
    // At least one: a lesson's server has no fleet, so with no Worker of its own a request would
    // wait for ever.
    workers: integerFlag({
      description: "Worker threads of each server; a race needs two",
      default: LESSON_WORKERS,
      min: 1,
      max: MAX_WORKERS,
    }),
    schedule: stringFlag({
      value: "STEPS",
      description: 'Worker numbers, e.g. "0 1 0 1": each lets that Worker take its next step ' +
        `(a read or a write); counts 0 N, N half the steps (at most ${MAX_SCHEDULE_STEPS} steps)`,
    }),
    counter: choiceFlag({
      choices: ["racy", "locked"] as const,
      description: "the counter model of --schedule and --runs",
      default: "racy",
    }),
    runs: integerFlag({
      description: "count the racy request this many times and print how often each answer came",
      min: 1,
      max: MAX_LESSON_RUNS,
    }),
    predict: booleanFlag("ask for your answer first, then show what the Workers did"),
    "iterations-per-unit": integerFlag({
      description: `additions per work unit; an increment is ${MIN_UNITS} to ${MAX_UNITS} units`,
      default: ITERATIONS_PER_UNIT,
      max: MAX_LESSON_ITERATIONS_PER_UNIT,
    }),
  },
} satisfies CommandSpec<Flags>;
