/**
 * The server's log: one readable line per event, and a summary line per
 * second instead when events come faster than a person can read.
 *
 * @module
 */
import type { ServerEvent } from "../server/server_events.ts";
import { describeWrite } from "../wire/protocol.ts";
import { formatMalformed } from "../fleet/malformed_messages.ts";

/**
 * Counts a thing in words: `1 unit`, `3 units`.
 *
 * @param count How many.
 * @param one The word for one.
 * @param many The word for several; defaults to `one` + "s".
 * @returns The count and the right word.
 *
 * @example
 * ```ts
 * import { plural } from "./event_log.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(plural(1, "increment"), "1 increment");
 * assert.equal(plural(2, "client is", "clients are"), "2 clients are");
 * ```
 */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

/** Characters that would act on a terminal or reorder text instead of showing: C0, DEL, C1, bidi, format, line and paragraph separators. */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu;
const HAS_UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

/**
 * Escapes every character of `text` that a terminal would act on instead of
 * showing (ESC, CSI U+009B, RIGHT-TO-LEFT OVERRIDE U+202E, LINE SEPARATOR
 * U+2028, …) as `\u{…}`, so a client cannot write to the operator's screen.
 *
 * @param text Text that may come from a client.
 * @returns The text, safe to print.
 *
 * @example
 * ```ts
 * import { printable } from "./event_log.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(printable("a\u202Eb\x1b[2J"), "a\\u{202e}b\\u{1b}[2J");
 * ```
 */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`);
}

/** `HH:MM:SS.mmm`, UTC. */
function timeOfDay(at: number): string {
  return new Date(at).toISOString().slice(11, 23);
}

/**
 * Formats one event as a log line: time of day (UTC), connection, task or
 * request, worker, what happened. Characters a client could use to act on the
 * terminal are escaped ({@linkcode printable}).
 *
 * A task's line says only what is true when it is printed: `queued on worker
 * 1` when it is handed to a Worker (it waits there behind the Worker's other
 * tasks), and, when it is done, when that Worker really started it and for how
 * long it ran, by the Worker's own clock.
 *
 * @param event The event.
 * @param laneName Names the Worker of a task event (`worker 1`, or a worker node's
 *   `lab-b/worker 0`); defaults to `worker N`.
 * @returns The line, without a newline.
 *
 * @example
 * ```ts
 * import { formatEvent } from "./event_log.ts";
 * import assert from "node:assert/strict";
 *
 * const line = formatEvent({
 *   type: "task-queued", at: Date.UTC(2026, 0, 1, 8, 0, 0, 5),
 *   conn: "127.0.0.1:53211", task: "R1#4", worker: 1, units: 3,
 * });
 * assert.equal(line, "08:00:00.005 127.0.0.1:53211 R1#4 queued on worker 1 (3 units)");
 * ```
 */
export function formatEvent(
  event: ServerEvent,
  laneName: (worker: number) => string = (worker) => `worker ${worker}`,
): string {
  const line = formatFields(event, laneName);
  return HAS_UNPRINTABLE.test(line) ? printable(line) : line;
}

function formatFields(event: ServerEvent, laneName: (worker: number) => string): string {
  const time = timeOfDay(event.at);
  switch (event.type) {
    case "listening":
      return `${time} listening on ${event.address} with ${plural(event.workers, "worker")}, ` +
        `serving ${plural(event.maxClients, "client")} at once`;
    case "accepted":
      return `${time} ${event.conn} accepted (${event.active} served, ${event.waiting} waiting)`;
    case "waiting":
      return `${time} ${event.conn} waiting for a slot (position ${event.position})`;
    case "served":
      return `${time} ${event.conn} has a slot (${event.active} served, ${event.waiting} waiting)`;
    case "turned-away":
      return `${time} ${event.conn} turned away: ${event.code} ${event.message}`;
    case "counting":
      return `${time} ${event.conn} ${event.request}: counting ` +
        `${plural(event.increments, "increment")} from ${event.start}`;
    case "task-queued":
      return `${time} ${event.conn} ${event.task} queued on ${laneName(event.worker)} ` +
        `(${plural(event.units, "unit")})`;
    case "task-done":
      return `${time} ${event.conn} ${event.task} ran on ${laneName(event.worker)} from ` +
        `${timeOfDay(event.startedAt)} for ${(event.endedAt - event.startedAt).toFixed(1)} ms ` +
        `(${plural(event.units, "unit")}): ${lessonOfTask(event)} (${event.done}/${event.total})` +
        workerStart(event);
    case "result":
      return `${time} ${event.conn} ${event.request}: result ${event.value} sent ` +
        `(${event.ms.toFixed(1)} ms)` + lessonOfResult(event);
    case "request-failed":
      return `${time} ${event.conn} ${event.request}: abandoned (${event.reason})`;
    case "step":
      return `${time} ${event.conn} ${event.task} step ${event.step + 1}: ${event.text}`;
    case "client-error":
      return `${time} ${event.conn} error sent: ${event.code} ${event.message}`;
    case "named":
      return `${time} ${event.conn} is called ${event.name} from now on`;
    case "closed":
      return `${time} ${event.conn} closed (${event.reason})`;
    case "worker-replaced":
      return `${time} worker ${event.worker} died (${event.reason}); replaced, ` +
        `${plural(event.tasksRequeued, "task")} queued again`;
    case "notice":
      return `${time} ${event.message}`;
    case "shutting-down":
      return `${time} shutting down (${event.reason}): ` +
        `${plural(event.inFlight, "request")} in flight, ` +
        `${(event.graceMs / 1000).toFixed(1)} s to finish`;
    case "forced-exit":
      return `${time} exiting at once (${event.reason}): ` +
        `${plural(event.inFlight, "request")} in flight abandoned`;
    case "stopped":
      return `${time} stopped`;
    case "node-joined":
      return `${time} fleet: node ${event.node} joined with ${plural(event.workers, "Worker")}`;
    case "node-lost":
      return `${time} fleet: node ${event.node} lost (${event.reason}); its batches run elsewhere`;
    case "fleet-lost":
      return `${time} fleet lost: ${event.reason}`;
    case "fleet-regained":
      // Also when the first node joins: the fleet is up, whether or not it was lost before.
      return `${time} fleet up: ${plural(event.nodes, "node")}, ` +
        `${plural(event.workers, "remote Worker")}`;
    case "fleet-malformed":
      return `${time} ${formatMalformed("fleet", event)}`;
  }
}

/**
 * What a task did to the counter: `counter 7`, or for `racy`/`locked` what it read and
 * what its write did (`read 5, counter 4 → 6, restoring 1 update erased earlier`).
 */
function lessonOfTask(event: Extract<ServerEvent, { type: "task-done" }>): string {
  if (event.read === undefined) return `counter ${event.value}`;
  const erased = event.erased ?? 0;
  return `read ${event.read}, ${
    describeWrite(event.read + BigInt(erased), event.read + 1n, erased)
  }`;
}

/** How long its own Worker took to start (a Worker per increment). */
function workerStart(event: Extract<ServerEvent, { type: "task-done" }>): string {
  return event.workerStartMs === undefined
    ? ""
    : `, its Worker started in ${event.workerStartMs.toFixed(1)} ms`;
}

/** A request's counter model, lost updates and Worker start-ups. */
function lessonOfResult(event: Extract<ServerEvent, { type: "result" }>): string {
  const parts: string[] = [];
  if (event.counter) parts.push(`counter ${event.counter}`);
  if (event.updatesLost !== undefined) {
    parts.push(`${plural(event.updatesLost, "update")} lost`);
  }
  if (event.workerStarts) {
    parts.push(
      `${plural(event.workerStarts.count, "Worker")} started, ` +
        `${event.workerStarts.ms.toFixed(1)} ms starting them`,
    );
  }
  return parts.length === 0 ? "" : ` [${parts.join("; ")}]`;
}

/** Events printed even with `--quiet`, and never summarised. */
const ALWAYS = new Set<ServerEvent["type"]>([
  "listening",
  "worker-replaced",
  "notice",
  "shutting-down",
  "forced-exit",
  "stopped",
  "node-joined",
  "node-lost",
  "fleet-lost",
  "fleet-regained",
  "fleet-malformed",
]);

/** Options of {@linkcode EventLog}. */
export interface EventLogOptions {
  /** Prints one line. Defaults to `console.log`. */
  write?: (line: string) => void;
  /** Keep only start-up, errors and shutdown. */
  quiet?: boolean;
  /** Print every event, however fast they come. */
  verbose?: boolean;
  /** Lines per second printed before the rest of that second is summarised. Defaults to 100. */
  linesPerSecond?: number;
  /** The clock, in ms. Defaults to `Date.now`. */
  now?: () => number;
  /**
   * Increments done so far, for the summary line when task events are too many to be sent
   * to the log at all (see {@linkcode EventLog.wantsTaskEvents}).
   */
  tasksDone?: () => number;
  /** Names the Worker of a task event; defaults to `worker N` (see {@linkcode formatEvent}). */
  laneName?: (worker: number) => string;
}

/**
 * Prints server events. While events come at a humane rate each gets its
 * line; past `linesPerSecond` in one second, the rest of that second is
 * counted and printed as one summary line when the second is over.
 *
 * @example
 * ```ts
 * import { EventLog } from "./event_log.ts";
 * import assert from "node:assert/strict";
 *
 * const lines: string[] = [];
 * const log = new EventLog({ write: (l) => lines.push(l), linesPerSecond: 1, now: () => 0 });
 * const at = 0;
 * log.print({ type: "closed", at, conn: "a", reason: "STOP" });
 * log.print({ type: "closed", at, conn: "b", reason: "STOP" });
 * log.flush();
 * assert.equal(lines.length, 2);
 * assert.match(lines[1], /1 more event/);
 * ```
 */
export class EventLog {
  #write: (line: string) => void;
  #quiet: boolean;
  #verbose: boolean;
  #linesPerSecond: number;
  #now: () => number;
  #windowStart = 0;
  #printed = 0;
  #summarised = 0;
  #summaryCounts = new Map<string, number>();
  /** Names clients gave themselves, by address, until they close: one a connection at most. */
  #names = new Map<string, string>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #tasksDone?: () => number;
  #tasksDoneAtWindow = 0;
  #laneName?: (worker: number) => string;

  /**
   * @param options Where and how much to print.
   */
  constructor(options: EventLogOptions = {}) {
    this.#write = options.write ?? ((line) => console.log(line));
    this.#quiet = options.quiet ?? false;
    this.#verbose = options.verbose ?? false;
    this.#linesPerSecond = options.linesPerSecond ?? 100;
    this.#now = options.now ?? Date.now;
    this.#tasksDone = options.tasksDone;
    this.#laneName = options.laneName;
  }

  /**
   * Whether the log would print task events now (rather than count them): subscribe with
   * `{ tasks: () => log.wantsTaskEvents() }` so a busy server does not build events that
   * would only be counted.
   */
  wantsTaskEvents(): boolean {
    if (this.#verbose) return true;
    if (this.#quiet) return false;
    return this.#printed < this.#linesPerSecond || this.#now() - this.#windowStart >= 1000;
  }

  /**
   * Prints an event, or counts it into this second's summary.
   *
   * @param event The event.
   */
  print(event: ServerEvent): void {
    // A client that named itself is shown by its name, and its address beside it.
    if ("conn" in event && event.type !== "named") {
      const name = this.#names.get(event.conn);
      if (event.type === "closed") this.#names.delete(event.conn);
      if (name !== undefined) event = { ...event, conn: `${name} (${event.conn})` };
    } else if (event.type === "named") {
      this.#names.set(event.conn, event.name);
    }
    const important = ALWAYS.has(event.type) || event.type === "client-error" ||
      event.type === "request-failed";
    if (this.#quiet && !important) return;
    if (this.#verbose || ALWAYS.has(event.type)) {
      this.#write(formatEvent(event, this.#laneName));
      return;
    }
    const now = this.#now();
    if (now - this.#windowStart >= 1000) {
      this.flush();
      this.#windowStart = now;
      this.#printed = 0;
      this.#tasksDoneAtWindow = this.#tasksDone?.() ?? 0;
    }
    if (this.#printed < this.#linesPerSecond) {
      this.#printed++;
      this.#write(formatEvent(event, this.#laneName));
      return;
    }
    this.#summarised++;
    this.#summaryCounts.set(event.type, (this.#summaryCounts.get(event.type) ?? 0) + 1);
    if (this.#timer === undefined) {
      this.#timer = setTimeout(() => this.flush(), 1000 - (now - this.#windowStart));
      Deno.unrefTimer(this.#timer);
    }
  }

  /** Prints the pending summary line, if any. */
  flush(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#summarised === 0) return;
    const parts = [...this.#summaryCounts].map(([type, count]) => `${count} ${type}`);
    if (this.#tasksDone) {
      parts.push(`${plural(this.#tasksDone() - this.#tasksDoneAtWindow, "increment")} done`);
    }
    const time = timeOfDay(this.#now());
    this.#write(
      `${time} … ${plural(this.#summarised, "more event")} in the last second, too fast to print ` +
        `one per line (${parts.join(", ")}); --verbose prints them all`,
    );
    this.#summarised = 0;
    this.#summaryCounts.clear();
  }
}
