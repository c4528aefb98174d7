/**
 * `deno task lessons`: the original course project's two mistakes, measured
 * beside the right way. Counts the same request (`0 40`, two Workers) under
 * each counter model (racy, locked, parallel) and each Worker model (pool,
 * per-increment) and prints the table. `deno task lessons --help` lists its flags.
 *
 * @module
 */
import { readCommandLine } from "./lib/cli/flags.ts";
import { LESSONS_COMMAND } from "./lib/lessons/lessons_cli.ts";
import { formatLessonsTable, runLessons } from "./lib/lessons/lessons_table.ts";

if (import.meta.main) {
  const { flags } = readCommandLine(LESSONS_COMMAND, Deno.args);
  const { increments, workers } = flags;
  console.log(
    `Counting 0 ${increments} with ${workers} Worker${workers === 1 ? "" : "s"}, under each ` +
      "counter model and each Worker model (the same work each time)…",
  );
  let rows;
  try {
    rows = await runLessons({
      increments,
      server: { workers, iterationsPerUnit: flags["iterations-per-unit"] },
      onRow: (row) => console.error(`  ${row.counter}, ${row.workerModel}: ${row.answer}`),
    });
  } catch (error) {
    // A server's refusal (ERR too-much-work on a slow machine) or a Worker that cannot start.
    console.error(`${LESSONS_COMMAND.name}: ${(error as Error).message}`);
    Deno.exit(1);
  }
  console.log(formatLessonsTable(rows));
}
