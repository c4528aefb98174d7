/**
 * A connection's stepped counts: `SCHEDULE 0 1 0 1` (the Workers' steps of its next
 * `racy` or `locked` count, in order, the rest free) and `STEP ON` (each step waits for a
 * `STEP <worker>` from the client, answered with what that Worker did). The Workers
 * really stop between steps, on the schedule in shared memory (`counter/step_gate.ts`);
 * this module checks schedules on paper first (`counter/schedule_model.ts`), drives an
 * interactive count from the client's lines, tells each step (`step` events) and lets
 * the Workers go when the client stops stepping, leaves or the server shuts down.
 *
 * One stepped count runs at a time on a pool: two schedules on the same Workers could
 * each wait for a Worker the other holds.
 *
 * @module
 */
import {
  type Command,
  type CountCommand,
  type ErrorCode,
  formatError,
  formatOk,
  formatStep,
  parseCommand,
  ProtocolError,
  type SteppingCommand,
} from "../wire/protocol.ts";
import type { LineReader } from "../wire/line_reader.ts";
import type { CounterModel, WorkerModel } from "../counter/counter_model.ts";
import { StepGate } from "../counter/step_gate.ts";
import { ScheduleModel } from "../counter/schedule_model.ts";
import {
  MAX_SCHEDULE_STEPS,
  MAX_STEPPED_INCREMENTS,
  STEP_HOLD_SECONDS,
  STEP_IDLE_SECONDS,
} from "../defaults/defaults.ts";
import type { SessionContext } from "./session_context.ts";
import type { CountRequest } from "./count_request.ts";
import { StepTeller } from "./step_telling.ts";
import { steppingOn, takeStepTurn } from "./stepper_lock.ts";

/** What a command's handler returns: why the session ends, or nothing to go on. */
type Outcome = string | undefined;

/** The bounds of stepped counts (each defaults to the constant of `lib/defaults`). */
export interface SteppingLimits {
  /** Most entries in a schedule, and most steps of a `STEP ON` count (`MAX_SCHEDULE_STEPS`). */
  maxScheduleSteps?: number;
  /** Most increments of a stepped count (`MAX_STEPPED_INCREMENTS`). */
  maxSteppedIncrements?: number;
  /** How long a `STEP ON` count waits for the next `STEP`, in ms (`STEP_IDLE_SECONDS`). */
  stepIdleMs?: number;
  /** Longest a `STEP ON` count may hold the pool, in ms (`STEP_HOLD_SECONDS`). */
  stepHoldMs?: number;
  /** The server's Worker model: a Worker per increment has no Worker to step twice. */
  workerModel?: WorkerModel;
}

/** What the stepping of one connection holds of its session. */
interface SteppingSession {
  /** The client's lines: read here while an interactive count runs. */
  reader: LineReader;
  /** Sends a reply line (after any held ones). */
  send(text: string): Promise<void>;
  /** The client's address, for events. */
  peer: string;
  /** The server's parts. */
  context: SessionContext;
}

/** The refusal of a Worker number that names none of the server's `workers`. */
function noSuchWorker(workers: number, worker: number): string {
  return `this server has ${workers} Workers, numbered 0 to ${workers - 1}: no worker ${worker}`;
}

/** A stepped count in the making: its schedule, and its rules on paper. */
interface Stepped {
  gate: StepGate;
  model: ScheduleModel;
  interactive: boolean;
}

/**
 * The stepped counts of one connection.
 *
 * @example
 * ```ts
 * import { Stepping } from "./stepping.ts";
 * import type { SessionContext } from "./session_context.ts";
 * import type { LineReader } from "../wire/line_reader.ts";
 * import assert from "node:assert/strict";
 *
 * const sent: string[] = [];
 * const send = (text: string) => Promise.resolve(void sent.push(text));
 * const context = { stats: () => ({ workers: 2 }), sharedCounters: true, limits: {} };
 * const connection = { reader: {} as LineReader, peer: "127.0.0.1:5000" };
 * const stepping = new Stepping(connection, context as SessionContext, send);
 * await stepping.command({ kind: "schedule", steps: [0, 1, 0, 1] }, "racy");
 * assert.deepEqual(sent, ["OK schedule 0 1 0 1\n"]);
 * ```
 */
export class Stepping {
  #session: SteppingSession;
  /** The entries of `SCHEDULE`, for the next count. */
  #schedule: number[] | undefined;
  /** Whether `STEP ON` is on. */
  #interactive = false;
  /** The next count's schedule, once checked. */
  #next: Stepped | undefined;
  #teller: StepTeller;

  /**
   * @param connection The session's connection: its reader and its client's address.
   * @param context The server's parts.
   * @param send Sends a reply line (after any held ones).
   */
  constructor(
    connection: Pick<SteppingSession, "reader" | "peer">,
    context: SessionContext,
    send: (text: string) => Promise<void>,
  ) {
    this.#session = { reader: connection.reader, peer: connection.peer, context, send };
    this.#teller = new StepTeller(context.events, connection.peer, () => this.#workers());
  }

  /**
   * Answers `SCHEDULE …`, `STEP ON|OFF`, and a `STEP <worker>` sent with no count to step.
   *
   * @param command The command.
   * @param counter The connection's counter model now.
   * @returns Nothing: the session goes on.
   */
  command(command: SteppingCommand, counter: CounterModel): Promise<Outcome> {
    if (command.kind === "step-take") {
      return this.#error(
        "bad-request",
        "no stepped count is running: send STEP ON, then a count such as 0 2, then STEP 0",
      );
    }
    const on = command.kind === "step" ? command.on : command.steps.length > 0;
    if (on && (counter === "parallel" || this.#session.context.sharedCounters === false)) {
      return this.#error(
        "bad-request",
        `${command.kind.toUpperCase()} steps the Workers through a shared counter: send ` +
          "COUNTER racy (or COUNTER locked) first, on a server without worker nodes",
      );
    }
    if (on && this.#session.context.limits.workerModel === "per-increment") {
      return this.#error(
        "bad-request",
        `${command.kind.toUpperCase()} steps the pool's Workers, each through its increments in ` +
          "turn; this server starts a Worker per increment (--model per-increment): use a " +
          "server with the pool",
      );
    }
    if (command.kind === "schedule") {
      const workers = this.#workers();
      const wrong = command.steps.find((worker) => worker >= workers);
      if (wrong !== undefined) return this.#error("bad-request", noSuchWorker(workers, wrong));
      this.#schedule = on ? command.steps : undefined;
    } else this.#interactive = command.on;
    return this.#ok(formatOk(command));
  }

  /**
   * Checks a count against the connection's schedule before it runs: refused (and told)
   * when it is too long to step, or when an entry names a Worker with no step left.
   *
   * @param command The count.
   * @param counter The connection's counter model now.
   * @returns The refusal being sent, or undefined: go on with the count.
   */
  refuse(command: CountCommand, counter: CounterModel): Promise<Outcome> | undefined {
    const steps = this.#schedule;
    this.#schedule = undefined; // a schedule is for the next count only
    this.#next = undefined;
    if (!steps && !this.#interactive) return undefined;
    if (counter === "parallel" || command.increments === 0) return undefined;
    const limits = this.#session.context.limits;
    const most = limits.maxSteppedIncrements ?? MAX_STEPPED_INCREMENTS;
    if (command.increments > most) {
      return this.#error(
        "too-many-increments",
        `a stepped count may have at most ${most} increments, got ${command.increments}: ` +
          "ask for fewer, or send SCHEDULE OFF and STEP OFF",
      );
    }
    const workers = this.#workers();
    const model = new ScheduleModel(counter, command.increments, workers);
    for (const [index, worker] of (steps ?? []).entries()) {
      if (model.canStep(worker)) {
        model.step(worker);
        continue;
      }
      return this.#error(
        "bad-request",
        `step ${index + 1} of the schedule names worker ${worker}, which has no step left ` +
          `(increment k runs on worker (k − 1) mod ${workers}, a read then a write): ` +
          "send a schedule that fits the count",
      );
    }
    const gate = StepGate.create({
      mode: this.#interactive ? "interactive" : "scheduled",
      workers,
      capacity: limits.maxScheduleSteps ?? MAX_SCHEDULE_STEPS,
      steps: steps ?? [],
    });
    // The model goes on from the schedule's steps: with STEP ON, the client steps after them.
    this.#next = { gate, model, interactive: this.#interactive };
    return undefined;
  }

  /** The schedule of the count about to start (after {@linkcode Stepping.refuse}), if stepped. */
  gate(): StepGate | undefined {
    return this.#next?.gate;
  }

  /**
   * Runs a count: at once when it is not stepped; otherwise alone on the pool, and for
   * `STEP ON`, one step per `STEP <worker>` line until every step is taken or the client
   * sends `STEP RUN`, stops stepping for the step idle time, or the server drains.
   *
   * @param count The count (made with {@linkcode Stepping.gate}'s schedule).
   * @returns A promise that settles as the count's own `run()` does.
   */
  async drive(count: CountRequest): Promise<void> {
    const stepped = this.#next;
    this.#next = undefined;
    if (!stepped) return count.run();
    const pool = this.#session.context.pool;
    if (steppingOn(pool)) this.#teller.waitsForStepper(count.request);
    const release = await takeStepTurn(pool, count.signal);
    try {
      const done = count.run();
      if (stepped.interactive) return await this.#interact(stepped, count, done);
      await done;
      for (const record of stepped.gate.log()) this.#teller.tell(record, count);
    } finally {
      release();
    }
  }

  /** The steps of a `STEP ON` count, one per `STEP <worker>` line. */
  async #interact(stepped: Stepped, count: CountRequest, done: Promise<void>): Promise<void> {
    const { reader, context } = this.#session;
    const { gate, model } = stepped;
    const idleMs = context.limits.stepIdleMs ?? STEP_IDLE_SECONDS * 1000;
    const holdMs = context.limits.stepHoldMs ?? STEP_HOLD_SECONDS * 1000;
    const holdEnds = performance.now() + holdMs; // one student holds the class up so long at most
    // Whether the wait in hand ends with the hold: decided when set (a timer may fire early).
    let cutByHold = false;
    const waitMs = () => {
      const left = holdEnds - performance.now();
      cutByHold = left <= idleMs;
      return Math.max(0, Math.min(idleMs, left));
    };
    const held = (otherwise: string) =>
      cutByHold ? `it held the Workers for ${holdMs / 1000} s` : otherwise;
    let settled = false;
    // A count that fails (its client went, the server stops) ends the wait for a line.
    done.then(() => {}, () => {}).finally(() => {
      settled = true;
      reader.interrupt();
      gate.wake();
    });
    // A SCHEDULE sent with STEP ON takes its steps first; the client steps after them.
    const scheduled = gate.length;
    const stepping = scheduled === 0 || await gate.taken(scheduled - 1, waitMs(), () => settled);
    if (stepping) {
      for (const record of gate.log().slice(0, scheduled)) this.#teller.tell(record, count);
    } else if (!settled) {
      gate.runFreely();
      this.#teller.notice(
        count.request,
        held(`its schedule's steps were not taken in ${idleMs / 1000} s`),
      );
    }
    while (stepping && !model.finished && !settled) {
      const event = await this.#nextLine(reader, waitMs());
      if (event === "idle" || context.draining.aborted) {
        gate.runFreely();
        this.#teller.notice(
          count.request,
          event === "idle" ? held(`no STEP for ${idleMs / 1000} s`) : "draining",
        );
        break;
      }
      if (event.kind === "end") {
        count.cancel(new Error("client disconnected")); // its end lets the Workers go
        break;
      }
      if (event.kind === "too-long") {
        // The reader can find no more lines: the count ends freely, is answered, and the
        // session then reads the end of input, as after any line over the limit.
        gate.runFreely();
        await this.#error(
          "line-too-long",
          `a request line may be at most ${event.limit} bytes: the rest of ${count.request} ` +
            "runs freely and is answered, then the connection closes",
        );
        break;
      }
      if (event.kind === "bad-encoding") {
        await this.#error("bad-encoding", `the line (${event.bytes} bytes) is not valid UTF-8`);
        continue;
      }
      if (event.kind !== "line") continue;
      const parsed = this.#parse(event.text);
      const command = parsed?.kind === "stepping" ? parsed.command : undefined;
      if (command?.kind !== "step-take") {
        await this.#error(
          "bad-request",
          `${count.request} is stepped: send STEP <worker> (a Worker with a step left: ` +
            `${model.stepping().join(", ")}) or STEP RUN to let the rest run freely`,
        );
        continue;
      }
      if (command.worker === "run") {
        gate.runFreely();
        break;
      }
      const refusal = this.#cannotStep(command.worker, stepped, count);
      if (refusal) {
        await this.#error("bad-request", refusal);
        continue;
      }
      model.step(command.worker);
      const step = gate.length;
      gate.append(command.worker);
      if (!await gate.taken(step, waitMs(), () => settled)) {
        if (settled) break;
        gate.runFreely();
        this.#teller.notice(
          count.request,
          held(`worker ${command.worker} did not take its step in ${idleMs / 1000} s`),
        );
        break;
      }
      const record = gate.log()[step];
      await this.#session.send(formatStep(this.#teller.words(record, count)));
      this.#teller.tell(record, count);
    }
    await done;
  }

  /** Why `worker` may not take a step of the count now, or undefined: it may. */
  #cannotStep(worker: number, { gate, model }: Stepped, count: CountRequest): string | undefined {
    if (worker >= this.#workers()) return noSuchWorker(this.#workers(), worker);
    const { capacity } = gate;
    if (gate.length >= capacity) {
      return `${count.request} took its ${capacity} steps: send STEP RUN`;
    }
    if (model.canStep(worker)) return undefined;
    return `worker ${worker} has no step left: step one of ${model.stepping().join(", ")}`;
  }

  /** The next event of the reader, or `idle` after `ms` without one. */
  async #nextLine(reader: LineReader, ms: number) {
    let idle = false;
    const timer = setTimeout(() => {
      idle = true;
      reader.interrupt();
    }, ms);
    try {
      const event = await reader.next();
      return idle && event.kind === "interrupted" ? "idle" : event;
    } finally {
      clearTimeout(timer);
    }
  }

  #parse(line: string): Command | undefined {
    try {
      return parseCommand(line, { maxIncrements: this.#session.context.limits.maxIncrements });
    } catch (error) {
      if (error instanceof ProtocolError) return undefined;
      throw error;
    }
  }

  #workers(): number {
    return this.#session.context.stats().workers;
  }

  async #ok(text: string): Promise<Outcome> {
    await this.#session.send(text);
    return undefined;
  }

  async #error(code: ErrorCode, message: string): Promise<Outcome> {
    const { context, peer: conn } = this.#session;
    context.events.emit({ type: "client-error", at: Date.now(), conn, code, message });
    await this.#session.send(formatError(code, message));
    return undefined;
  }
}
