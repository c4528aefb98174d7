/**
 * `deno task lessons`: the original course project's two mistakes, measured
 * beside the right way. Counts the same request (`0 40`, two Workers) under
 * each counter model (racy, locked, parallel) and each Worker model (pool,
 * per-increment) and prints the table. Flags: `--increments N`, `--workers N`,
 * `--iterations-per-unit N`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { formatLessonsTable, runLessons } from "./lib/lessons/lessons_table.ts";

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      increments: { type: "string", default: "40" },
      workers: { type: "string", default: "2" },
      "iterations-per-unit": { type: "string" },
    },
  });
  const number = (text: string | undefined, flag: string) => {
    if (text === undefined) return undefined;
    const value = Number(text);
    if (!Number.isInteger(value) || value < 0) {
      console.error(`lessons: ${flag} must be a whole number: received ${JSON.stringify(text)}`);
      Deno.exit(2);
    }
    return value;
  };
  const increments = number(values.increments, "--increments")!;
  const workers = number(values.workers, "--workers")!;
  console.log(
    `Counting 0 ${increments} with ${workers} Workers, under each counter model and each ` +
      "Worker model (the same work each time)…",
  );
  const rows = await runLessons({
    increments,
    server: {
      workers,
      iterationsPerUnit: number(values["iterations-per-unit"], "--iterations-per-unit"),
    },
    onRow: (row) => console.error(`  ${row.counter}, ${row.workerModel}: ${row.answer}`),
  });
  console.log(formatLessonsTable(rows));
}
