/**
 * The lessons, measured: the same request counted under each counter model and
 * each Worker model, on a real server with real Workers, and the table a
 * teacher shows (`deno task lessons`).
 *
 * @module
 */
import { LineClient } from "../client/line_client.ts";
import { ServerEvents } from "../server/server_events.ts";
import { ThreadcountServer } from "../server/threadcount_server.ts";
import type { ServerOptions } from "../server/server_options.ts";
import {
  COUNTER_MODELS,
  type CounterModel,
  WORKER_MODELS,
  type WorkerModel,
} from "../counter/counter_model.ts";
import { LESSON_INCREMENTS, LESSON_WORKERS } from "../defaults/defaults.ts";

/** What one run gave. */
export interface LessonRow {
  counter: CounterModel;
  workerModel: WorkerModel;
  /** The answer line, as the client got it, e.g. `27 (13 updates lost)`. */
  answer: string;
  /** The counter's final value. */
  value: bigint;
  /** What a right counter answers: start + increments. */
  expected: bigint;
  /** Updates lost (0 for `locked` and `parallel`). */
  updatesLost: number;
  /** From sending the request to its answer, in ms. */
  wallMs: number;
  /** Time the Workers spent spinning increments over `wallMs × workers`: 1 is every Worker busy throughout. */
  utilisation: number;
  /** Workers started: per increment, for this request; for the pool, once, before it. */
  workersStarted: number;
  /** Their start-up: per increment, summed; for the pool, until every Worker was ready. */
  workerStartMs: number;
}

/** Options of {@linkcode runLessons}. */
export interface LessonOptions {
  /** Increments of the request. Defaults to {@linkcode LESSON_INCREMENTS}. */
  increments?: number;
  /** Where counting starts. Defaults to 0. */
  start?: bigint;
  /**
   * Server options for every run (`workers` defaults to {@linkcode LESSON_WORKERS}, `seed` to 1,
   * so every run draws the same work).
   */
  server?: Partial<ServerOptions>;
  /** Hears each row as soon as it is measured. */
  onRow?: (row: LessonRow) => void;
}

/**
 * Counts one request under one counter model and one Worker model, on a server of its own.
 *
 * @param counter The counter model, sent as `COUNTER` by the client.
 * @param workerModel The server's Worker model.
 * @param options The request and the server.
 * @returns The row.
 * @throws {Error} When the server answers an error.
 */
export async function runLesson(
  counter: CounterModel,
  workerModel: WorkerModel,
  options: LessonOptions = {},
): Promise<LessonRow> {
  const { increments = LESSON_INCREMENTS, start = 0n } = options;
  const events = new ServerEvents();
  let spinMs = 0;
  using _spins = events.subscribe((event) => {
    if (event.type === "task-done") spinMs += event.endedAt - event.startedAt;
  });
  const serverOptions = {
    workers: LESSON_WORKERS,
    seed: 1,
    ...options.server,
    port: 0,
    workerModel,
  };
  await using server = new ThreadcountServer(serverOptions, events);
  await server.workersReady;
  await using client = await LineClient.connect(server.addr);
  const said = await client.ask(`COUNTER ${counter}`);
  if (said.reply.kind !== "ok") {
    throw new Error(`the server refused COUNTER ${counter}: ${said.line}`);
  }
  const sentAt = performance.now();
  const answer = await client.ask(`${start} ${increments}`);
  const wallMs = performance.now() - sentAt;
  const { reply } = answer;
  if (reply.kind === "error") throw new Error(`the server answered ${answer.line}`);
  // After COUNTER, every answer says how many updates were lost.
  if (reply.kind !== "value" || reply.updatesLost === undefined) {
    throw new Error(`unexpected answer ${JSON.stringify(answer.line)}`);
  }
  const stats = await client.ask("STATS");
  if (stats.reply.kind !== "stats") throw new Error(`the server answered ${stats.line}`);
  const { workers_started: started, worker_start_ms: startMs } = stats.reply.stats;
  if (typeof started !== "number" || typeof startMs !== "number") {
    throw new Error(`STATS without workers_started and worker_start_ms: ${stats.line}`);
  }
  return {
    counter,
    workerModel,
    answer: answer.line,
    value: reply.value,
    expected: start + BigInt(increments),
    updatesLost: reply.updatesLost,
    wallMs,
    utilisation: spinMs / (wallMs * server.options.workers),
    workersStarted: started,
    workerStartMs: startMs,
  };
}

/**
 * Runs the request under every counter model and every Worker model, one after another.
 *
 * @param options The request and the server.
 * @returns One row per pair, counter model first.
 */
export async function runLessons(options: LessonOptions = {}): Promise<LessonRow[]> {
  const rows: LessonRow[] = [];
  for (const counter of COUNTER_MODELS) {
    for (const workerModel of WORKER_MODELS) {
      const row = await runLesson(counter, workerModel, options);
      options.onRow?.(row);
      rows.push(row);
    }
  }
  return rows;
}

/** The table's columns, each with the line that says what it means. */
const COLUMNS: readonly [string, string][] = [
  [
    "counter",
    "how the count is kept: racy (no lock), locked (one lock around each increment's " +
    "read-spin-write), parallel (the work in parallel, only the add guarded)",
  ],
  ["Workers", "pool (started once, reused) or per-increment (a new Worker for each increment)"],
  ["answer", "the counter at the end, of what a right counter says"],
  ["lost", "updates erased by another Worker's write: the race"],
  ["wall", "from the request to its answer"],
  [
    "busy",
    "the Workers' spinning time over wall time × Workers: the lock shows here as 1 ÷ Workers",
  ],
  ["starting Workers", "how many Workers started, and how long that took"],
];

/**
 * Formats rows as an aligned table, then one line per column saying what it means.
 *
 * @param rows The rows.
 * @returns The table, its header, its rows, and the columns' meanings.
 *
 * @example
 * ```ts
 * import { formatLessonsTable } from "./lessons_table.ts";
 * import assert from "node:assert/strict";
 *
 * const table = formatLessonsTable([{
 *   counter: "racy", workerModel: "pool", answer: "27 (13 updates lost)", value: 27n,
 *   expected: 40n, updatesLost: 13, wallMs: 950, utilisation: 0.97, workersStarted: 2,
 *   workerStartMs: 45,
 * }]);
 * assert.match(table, /^racy +pool +27 of 40 +13 +0.95 s +97 % +2, once: 45 ms$/m);
 * assert.match(table, /^lost: updates erased by another Worker's write/m);
 * ```
 */
export function formatLessonsTable(rows: readonly LessonRow[]): string {
  const cells = rows.map((row) => [
    row.counter,
    row.workerModel,
    `${row.value} of ${row.expected}`,
    String(row.updatesLost),
    `${(row.wallMs / 1000).toFixed(2)} s`,
    `${Math.round(row.utilisation * 100)} %`,
    row.workerModel === "pool"
      ? `${row.workersStarted}, once: ${Math.round(row.workerStartMs)} ms`
      : `${row.workersStarted}: ${Math.round(row.workerStartMs)} ms`,
  ]);
  const header = COLUMNS.map(([name]) => name);
  const widths = header.map((name, i) =>
    Math.max(name.length, ...cells.map((row) => row[i].length))
  );
  // Numbers right-aligned (answer, lost, wall, busy); words left.
  const right = [false, false, true, true, true, true, false];
  const line = (row: string[]) =>
    row.map((cell, i) => right[i] ? cell.padStart(widths[i]) : cell.padEnd(widths[i]))
      .join("  ").trimEnd();
  const legend = COLUMNS.map(([name, meaning]) => `${name}: ${meaning}`);
  return [line(header), ...cells.map(line), "", ...legend].join("\n");
}

/**
 * Says when the machine's other load makes the wall times unreliable: when its load
 * average leaves the Workers less than a core each, or when the lock did not show in
 * wall time (locked, pool, not clearly slower than parallel, pool).
 *
 * @param rows The rows.
 * @param load The machine's one-minute load average before the lessons ran, if known.
 * @param cores The machine's cores.
 * @returns The note, or undefined when the wall times can be trusted.
 *
 * @example
 * ```ts
 * import { loadNote } from "./lessons_table.ts";
 * import assert from "node:assert/strict";
 *
 * assert.match(loadNote([], 3.5, 2)!, /load 3.5 on 2 cores/);
 * assert.equal(loadNote([], 0.1, 8), undefined);
 * ```
 */
export function loadNote(rows: readonly LessonRow[], load: number | undefined, cores: number) {
  const wall = (counter: CounterModel) =>
    rows.find((row) => row.counter === counter && row.workerModel === "pool")?.wallMs;
  const locked = wall("locked");
  const parallel = wall("parallel");
  const busy = load !== undefined && load > cores / 2;
  const hidden = locked !== undefined && parallel !== undefined && locked < 1.3 * parallel;
  if (!busy && !hidden) return undefined;
  const why = busy
    ? `this machine is busy with other work (load ${load!.toFixed(1)} on ${cores} cores)`
    : "the locked row was barely slower than the parallel one";
  return `Note: ${why}, so the Workers did not each get a core and wall times are unreliable; ` +
    "the busy column still shows the lock (locked keeps about 1 ÷ Workers of them busy).";
}
