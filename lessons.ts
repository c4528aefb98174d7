/**
 * `deno task lessons`: the original course project's two mistakes, measured
 * beside the right way. Counts the same request (`0 40`, two Workers) under
 * each counter model (racy, locked, parallel) and each Worker model (pool,
 * per-increment) and prints the table. `--schedule "0 1 0 1"` steps the Workers
 * through the race in that order and prints each step; `--runs 30` counts the
 * racy request 30 times and prints the answers' histogram; `--predict` asks for
 * the student's answer first. `deno task lessons --help` lists its flags.
 *
 * @module
 */
import { readCommandLine } from "./lib/cli/flags.ts";
import { LESSONS_COMMAND } from "./lib/lessons/lessons_cli.ts";
import { formatLessonsTable, loadNote, runLessons } from "./lib/lessons/lessons_table.ts";
import {
  formatHistogram,
  formatScheduleTable,
  runHistogram,
  runSchedule,
  scheduleCounter,
} from "./lib/lessons/schedule_lesson.ts";

/** Asks a question on the terminal and reads the answer line (none when input ended). */
async function ask(question: string): Promise<string | undefined> {
  await Deno.stdout.write(new TextEncoder().encode(`${question} `));
  const decoder = new TextDecoder();
  let text = "";
  const buffer = new Uint8Array(256);
  while (!text.includes("\n")) {
    const read = await Deno.stdin.read(buffer);
    if (read === null) break;
    text += decoder.decode(buffer.subarray(0, read), { stream: true });
  }
  const answer = text.split("\n")[0].trim();
  return answer === "" ? undefined : answer;
}

/** The load average, when the machine tells it (needs --allow-sys=loadavg). */
function loadAverage(): number | undefined {
  try {
    return Deno.loadavg()[0];
  } catch {
    return undefined;
  }
}

if (import.meta.main) {
  const { flags } = readCommandLine(LESSONS_COMMAND, Deno.args);
  const { increments, workers, predict } = flags;
  const counter = scheduleCounter(flags.counter);
  const server = { workers, iterationsPerUnit: flags["iterations-per-unit"] };
  try {
    if (flags.schedule !== undefined) {
      const schedule = flags.schedule.trim().split(/[ ,]+/).map(Number);
      if (schedule.some((worker) => !Number.isInteger(worker) || worker < 0)) {
        throw new Error(`--schedule takes Worker numbers, e.g. "0 1 0 1": got ${flags.schedule}`);
      }
      const count = Math.max(1, Math.ceil(schedule.length / 2));
      console.log(
        `COUNTER ${counter}, SCHEDULE ${schedule.join(" ")}, then 0 ${count}, on ${workers} ` +
          "Workers: each entry lets that Worker take its next step (a read, or a write).",
      );
      const guess = predict ? await ask("What will the counter be?") : undefined;
      const run = await runSchedule(schedule, { counter, server });
      console.log(formatScheduleTable(run));
      if (guess !== undefined) {
        const said = run.answer.split(" ")[0];
        console.log(guess === said ? "You were right." : `You said ${guess}; it was ${said}.`);
      }
    } else if (flags.runs !== undefined) {
      console.log(
        `COUNTER ${counter}, then 0 ${increments}, ${flags.runs} times, on ${workers} Workers…`,
      );
      const guess = predict ? await ask("Which answer will come most often?") : undefined;
      const counts = await runHistogram(flags.runs, increments, { counter, server });
      console.log(formatHistogram(counts, BigInt(increments)));
      if (guess !== undefined) {
        const most = [...counts].sort((a, b) => b[1] - a[1])[0][0];
        console.log(`You said ${guess}; the most frequent was ${most}.`);
      }
    } else {
      console.log(
        `Counting 0 ${increments} with ${workers} Worker${workers === 1 ? "" : "s"}, under each ` +
          "counter model and each Worker model (the same work each time)…",
      );
      const guess = predict
        ? await ask(`How many of ${increments} will the racy pool count?`)
        : undefined;
      const load = loadAverage();
      const rows = await runLessons({
        increments,
        server,
        onRow: (row) => console.error(`  ${row.counter}, ${row.workerModel}: ${row.answer}`),
      });
      console.log(formatLessonsTable(rows));
      const note = loadNote(rows, load, navigator.hardwareConcurrency);
      if (note) console.log(`\n${note}`);
      if (guess !== undefined) {
        const racy = rows.find((row) => row.counter === "racy" && row.workerModel === "pool");
        console.log(`You said ${guess}; the racy pool counted ${racy?.value}.`);
      }
    }
  } catch (error) {
    // A server's refusal (ERR too-much-work on a slow machine, a schedule that does not fit)
    // or a Worker that cannot start.
    console.error(`${LESSONS_COMMAND.name}: ${(error as Error).message}`);
    Deno.exit(1);
  }
}
