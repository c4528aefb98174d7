/**
 * The race, stepped and replayed in a terminal: `deno task lessons --schedule "0 1 0 1"`
 * runs a `racy` (or `locked`) count on a real server whose Workers take their steps in
 * that order, and prints them as OSTEP's `x86.py` does, one column per Worker with the
 * shared counter beside, the lost update marked; `--runs 30` counts the same racy
 * request many times, unscheduled, and prints the answers as a text histogram.
 *
 * @module
 */
import { LineClient } from "../client/line_client.ts";
import { type ServerEvent, ServerEvents } from "../server/server_events.ts";
import { ThreadcountServer } from "../server/threadcount_server.ts";
import type { ServerOptions } from "../server/server_options.ts";
import type { CounterModel } from "../counter/counter_model.ts";
import { LESSON_WORKERS } from "../defaults/defaults.ts";

/** One step of a scheduled count, as its Worker took it. */
export interface TableStep {
  worker: number;
  /** The increment (task number, from 1). */
  task: number;
  /** `read 0`, `wrote 1`, `waits for the lock`. */
  action: "read" | "wrote" | "waits";
  /** The value read or written. */
  value?: bigint;
  /** The counter after the step. */
  counter: bigint;
  /** A write that erased updates (positive) or restored erased ones (negative). */
  erased?: number;
  /** Whether the schedule named it (false: it ran freely after the schedule ended). */
  scheduled: boolean;
}

/** What a scheduled count gave. */
export interface ScheduleRun {
  /** The answer line, e.g. `1 (1 update lost)`. */
  answer: string;
  /** Its steps, in the order they happened. */
  steps: TableStep[];
  workers: number;
}

/** Options of {@linkcode runSchedule} and {@linkcode runHistogram}. */
export interface ScheduleLessonOptions {
  /** The counter model (default `racy`). */
  counter?: "racy" | "locked";
  /** Server options (`workers` defaults to {@linkcode LESSON_WORKERS}). */
  server?: Partial<ServerOptions>;
}

/**
 * Counts `0 N` on a server of its own, its Workers stepped by `schedule` (N: half the
 * entries, rounded up; the steps after the schedule run freely), and records each step.
 *
 * @param schedule Worker numbers, e.g. `[0, 1, 0, 1]`.
 * @param options The counter model and the server.
 * @returns The answer and every step.
 * @throws {Error} When the server refuses the schedule (its message says why).
 */
export async function runSchedule(
  schedule: readonly number[],
  options: ScheduleLessonOptions = {},
): Promise<ScheduleRun> {
  const counter = options.counter ?? "racy";
  const increments = Math.max(1, Math.ceil(schedule.length / 2));
  const events = new ServerEvents();
  const heard: ServerEvent[] = [];
  using _all = events.subscribe((event) => void heard.push(event));
  const serverOptions = { workers: LESSON_WORKERS, seed: 1, ...options.server, port: 0 };
  await using server = new ThreadcountServer(serverOptions, events);
  await using client = await LineClient.connect(server.addr);
  for (const line of [`COUNTER ${counter}`, `SCHEDULE ${schedule.join(" ")}`]) {
    const said = await client.ask(line);
    if (said.reply.kind !== "ok") throw new Error(`the server refused ${line}: ${said.line}`);
  }
  const answer = await client.ask(`0 ${increments}`);
  if (answer.reply.kind !== "value") throw new Error(`the server answered ${answer.line}`);
  return { answer: answer.line, steps: stepsOf(heard), workers: server.options.workers };
}

/**
 * The steps of a count from its events: the scheduled ones as the Workers logged them
 * (`step`), then those that ran freely, in the order of the shared cell's own clock.
 */
function stepsOf(events: readonly ServerEvent[]): TableStep[] {
  const steps: TableStep[] = [];
  const told = new Set<string>();
  let counter = 0n;
  for (const event of events) {
    if (event.type !== "step") continue;
    const task = Number(event.task.split("#")[1]);
    told.add(`${task} ${event.action}`);
    if (event.action === "wrote") counter = event.value!;
    steps.push({
      worker: event.worker,
      task,
      action: event.action,
      value: event.value,
      counter,
      erased: event.erased,
      scheduled: true,
    });
  }
  const free: (TableStep & { tick: number })[] = [];
  for (const event of events) {
    if (event.type !== "task-done" || event.read === undefined) continue;
    const task = Number(event.task.split("#")[1]);
    const base = { worker: event.worker, task, counter: 0n, scheduled: false };
    if (!told.has(`${task} read`)) {
      free.push({ ...base, action: "read", value: event.read, tick: event.readTick ?? 0 });
    }
    if (!told.has(`${task} wrote`)) {
      const written = event.read + 1n;
      const erased = event.erased;
      free.push({ ...base, action: "wrote", value: written, erased, tick: event.writeTick ?? 0 });
    }
  }
  for (const { tick: _tick, ...step } of free.sort((a, b) => a.tick - b.tick)) {
    if (step.action === "wrote") counter = step.value!;
    steps.push({ ...step, counter });
  }
  return steps;
}

/**
 * Formats the steps as a table: one column per Worker, the shared counter beside, a lost
 * update marked.
 *
 * @param run The scheduled count.
 * @returns The table, then the answer.
 *
 * @example
 * ```ts
 * import { formatScheduleTable } from "./schedule_lesson.ts";
 * import assert from "node:assert/strict";
 *
 * const table = formatScheduleTable({
 *   answer: "1 (1 update lost)",
 *   workers: 2,
 *   steps: [
 *     { worker: 0, task: 1, action: "read", value: 0n, counter: 0n, scheduled: true },
 *     { worker: 1, task: 2, action: "read", value: 0n, counter: 0n, scheduled: true },
 *     { worker: 0, task: 1, action: "wrote", value: 1n, counter: 1n, scheduled: true },
 *     { worker: 1, task: 2, action: "wrote", value: 1n, counter: 1n, erased: 1, scheduled: true },
 *   ],
 * });
 * assert.match(table, /wrote 1  ✗ erased 1/);
 * ```
 */
export function formatScheduleTable(run: ScheduleRun): string {
  const columns = Array.from({ length: run.workers }, (_, worker) => `worker ${worker}`);
  const cells = run.steps.map((step) => {
    let text = step.action === "waits"
      ? "waits for lock"
      : `${step.action} ${step.value}${step.scheduled ? "" : " *"}`;
    if (step.erased && step.erased > 0) text += `  ✗ erased ${step.erased}`;
    if (step.erased && step.erased < 0) text += `  restored ${-step.erased}`;
    return { step, text };
  });
  const width = Math.max(16, ...cells.map((cell) => cell.text.length + 2));
  const rule = `${"-".repeat(5)}+${columns.map(() => "-".repeat(width + 1)).join("+")}+--------`;
  const row = (first: string, texts: string[], last: string) =>
    `${first.padStart(4)} | ${texts.map((text) => text.padEnd(width)).join("| ")}| ${last}`;
  const lines = [row("step", columns, "counter"), rule];
  cells.forEach(({ step, text }, index) => {
    const texts = columns.map((_, worker) => worker === step.worker ? text : "");
    lines.push(row(String(index + 1), texts, String(step.counter)));
  });
  lines.push(rule);
  if (run.steps.some((step) => !step.scheduled)) {
    lines.push("* ran freely, after the schedule ended");
  }
  lines.push(`answer: ${run.answer}`);
  return lines.join("\n");
}

/**
 * Counts the same racy request `runs` times on one server, unscheduled, and gathers the
 * answers.
 *
 * @param runs How many times.
 * @param increments Increments of each request.
 * @param options The server.
 * @returns How often each value came back.
 */
export async function runHistogram(
  runs: number,
  increments: number,
  options: ScheduleLessonOptions = {},
): Promise<Map<bigint, number>> {
  const serverOptions = { workers: LESSON_WORKERS, seed: 1, ...options.server, port: 0 };
  await using server = new ThreadcountServer(serverOptions, new ServerEvents());
  await using client = await LineClient.connect(server.addr);
  const said = await client.ask(`COUNTER ${options.counter ?? "racy"}`);
  if (said.reply.kind !== "ok") throw new Error(`the server refused COUNTER: ${said.line}`);
  const counts = new Map<bigint, number>();
  for (let run = 0; run < runs; run++) {
    const answer = await client.ask(`0 ${increments}`);
    if (answer.reply.kind !== "value") throw new Error(`the server answered ${answer.line}`);
    counts.set(answer.reply.value, (counts.get(answer.reply.value) ?? 0) + 1);
  }
  return counts;
}

/**
 * Formats the answers as a text histogram, the right one marked, and how often it came.
 *
 * @param counts How often each value came back.
 * @param right The right answer.
 * @returns The histogram.
 *
 * @example
 * ```ts
 * import { formatHistogram } from "./schedule_lesson.ts";
 * import assert from "node:assert/strict";
 *
 * const text = formatHistogram(new Map([[38n, 3], [40n, 1]]), 40n);
 * assert.match(text, /40 \| █ +1 +← right/);
 * assert.match(text, /right 1 time of 4 \(25 %\)/);
 * ```
 */
export function formatHistogram(counts: ReadonlyMap<bigint, number>, right: bigint): string {
  // The right answer has its line even when it never came.
  const values = [...new Set([...counts.keys(), right])].sort((
    a,
    b,
  ) => (a < b ? -1 : a > b ? 1 : 0));
  const runs = [...counts.values()].reduce((sum, count) => sum + count, 0);
  const most = Math.max(...counts.values());
  const width = Math.max(...values.map((value) => String(value).length));
  const bars = Math.min(40, most);
  const lines = values.map((value) => {
    const count = counts.get(value) ?? 0;
    const bar = "█".repeat(count && Math.max(1, Math.round(count / most * bars))).padEnd(bars);
    const mark = value === right ? "  ← right" : "";
    return `${String(value).padStart(width)} | ${bar} ${String(count).padStart(3)}${mark}`;
  });
  const hits = counts.get(right) ?? 0;
  lines.push(
    `right ${hits} ${hits === 1 ? "time" : "times"} of ${runs} ` +
      `(${Math.round(hits / runs * 100)} %)`,
  );
  return lines.join("\n");
}

/**
 * The counter model a schedule table is for, from the lessons' `--counter` flag.
 *
 * @param text `racy` or `locked`.
 * @returns The model.
 * @throws {RangeError} For any other.
 */
export function scheduleCounter(text: string): Exclude<CounterModel, "parallel"> {
  if (text === "racy" || text === "locked") return text;
  throw new RangeError(`--counter must be racy or locked for a schedule: received ${text}`);
}
