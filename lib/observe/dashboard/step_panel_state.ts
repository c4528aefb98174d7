/**
 * The step panel's picture of one stepped count, built only from the server's answers
 * (`worker 1 read 0`, `worker 0 wrote 1`, the result): per Worker its next step and the
 * value it read, the shared counter, the schedule so far. The Workers' steps themselves
 * happen on the server; this follows them, as a student reading the replies would.
 *
 * @module
 */
import type { StepReply } from "../../wire/protocol.ts";
import { shortNumber } from "./short_number.ts";
import type { StepPanelView, StepWorkerView } from "./dashboard_views.ts";

/** Where one Worker stands: before its read, before its write, waiting for the lock, done. */
type Stage = "read" | "write" | "waits" | "done";

interface WorkerStand {
  /** Increments of its own still to finish. */
  left: number;
  stage: Stage;
  /** What it read for the increment under way. */
  read?: bigint;
  /** Whether it finished by running freely (`STEP RUN`, or the server's step idle time). */
  free?: boolean;
}

/**
 * One stepped count as the panel shows it.
 *
 * @example
 * ```ts
 * import { StepPanelState } from "./step_panel_state.ts";
 * import assert from "node:assert/strict";
 *
 * const state = new StepPanelState({ counter: "racy", request: "0 2", start: 0n, workers: 2 });
 * state.stepping();
 * state.step({ worker: 0, action: "read", value: 0n });
 * state.step({ worker: 1, action: "read", value: 0n });
 * const view = state.view(1);
 * assert.deepEqual(view.workers.map((w) => [w.next, w.read]), [["write 1", "0"], ["write 1", "0"]]);
 * assert.deepEqual(view.steps, [0, 1]);
 * ```
 */
export class StepPanelState {
  /** The count: its counter model, its text (`0 2`) and its start. */
  readonly count: { counter: "racy" | "locked"; request: string; start: bigint };
  #phase: StepPanelView["phase"] = "starting";
  #stands: WorkerStand[];
  #value: bigint;
  /** The lock's holder (−1: free), and who waits for it, in the order they tried. */
  #holder = -1;
  #queue: number[] = [];
  #steps: number[] = [];
  #said: string[] = [];
  #result?: string;
  #error?: string;
  #waiting?: string;

  /**
   * @param count The count: its counter model, its text (`0 2`), its start, and the
   *   server's Workers (increment k runs on Worker (k − 1) mod `workers`).
   */
  constructor(
    count: { counter: "racy" | "locked"; request: string; start: bigint; workers: number },
  ) {
    const increments = Number(count.request.trim().split(/\s+/)[1]);
    this.count = { counter: count.counter, request: count.request, start: count.start };
    this.#value = count.start;
    const shown = Math.min(increments, count.workers);
    this.#stands = Array.from({ length: shown }, (_, worker) => ({
      left: Math.ceil((increments - worker) / count.workers),
      stage: "read" as Stage,
    }));
  }

  /** The Workers the count runs on: 0 to this − 1 (fewer than the server's, for a short count). */
  get workers(): number {
    return this.#stands.length;
  }

  /** The steps taken, in order: the schedule so far. */
  get steps(): readonly number[] {
    return this.#steps;
  }

  /** Whether every step is taken (the count's answer may still be on its way). */
  get stepped(): boolean {
    return this.#stands.every((stand) => stand.stage === "done");
  }

  /** Whether some Worker finished its steps by running freely (`STEP RUN`, the idle time). */
  get ranFreely(): boolean {
    return this.#stands.some((stand) => stand.free);
  }

  /** The count's answer, once it came. */
  get result(): string | undefined {
    return this.#result;
  }

  /** Whether the count is over: answered, or ended without an answer. */
  get over(): boolean {
    return this.#phase === "done" || this.#phase === "ended";
  }

  /**
   * Whether a step of `worker` would do something now.
   *
   * @param worker The Worker.
   */
  steppable(worker: number): boolean {
    const stage = this.#stands[worker]?.stage;
    return this.#phase === "stepping" && (stage === "read" || stage === "write");
  }

  /** The count was accepted (`OK step on` and the count sent): the Workers wait for steps. */
  stepping(): void {
    if (this.#phase === "starting") this.#phase = "stepping";
  }

  /**
   * Takes in one step the server answered.
   *
   * @param step What the Worker did.
   * @param text The server's line, as shown (`worker 1 read 0`).
   */
  step(step: StepReply, text = ""): void {
    const stand = this.#stands[step.worker];
    if (!stand) return;
    this.#steps.push(step.worker);
    this.#said.push(text);
    this.#error = undefined;
    if (step.action === "read") {
      stand.stage = "write";
      stand.read = step.value;
      if (this.count.counter === "locked") {
        this.#holder = step.worker;
        this.#queue = this.#queue.filter((worker) => worker !== step.worker);
      }
    } else if (step.action === "wrote") {
      if (step.value !== undefined) this.#value = step.value;
      stand.left--;
      stand.stage = stand.left > 0 ? "read" : "done";
      stand.read = undefined;
      if (this.count.counter === "locked") {
        // The lock goes to the Worker that tried it first: its next step reads.
        this.#holder = this.#queue.shift() ?? -1;
        if (this.#holder !== -1) this.#stands[this.#holder].stage = "read";
      }
    } else {
      stand.stage = "waits";
      if (!this.#queue.includes(step.worker)) this.#queue.push(step.worker);
    }
  }

  /**
   * The count's answer: the counter's final value; Workers with steps left ran them freely.
   *
   * @param value The value answered.
   * @param text The server's line (`1 (1 update lost)`).
   */
  finish(value: bigint, text: string): void {
    this.#value = value;
    this.#result = text;
    this.#phase = "done";
    this.#waiting = undefined;
    for (const stand of this.#stands) {
      if (stand.stage === "done") continue;
      Object.assign(stand, { stage: "done", read: undefined, free: true, left: 0 });
    }
  }

  /**
   * Something went wrong: the server's error, or the connection's end. Once the count has
   * ended, its first error stays: what follows is its consequence.
   *
   * @param words What, in words a teacher can act on; none: what was said already.
   * @param ended Whether the count is over for it.
   */
  fail(words: string | undefined, ended: boolean): void {
    this.#waiting = undefined;
    if (this.over) return;
    if (words !== undefined) this.#error = words;
    if (ended) this.#phase = "ended";
  }

  /**
   * Says what the control waits for now, or nothing.
   *
   * @param words What it waits for.
   */
  wait(words: string | undefined): void {
    this.#waiting = words;
  }

  /**
   * The panel as sent to the pages.
   *
   * @param version The view's version.
   * @returns The view.
   */
  view(version: number): StepPanelView {
    return {
      version,
      phase: this.#phase,
      counter: this.count.counter,
      request: this.count.request,
      workers: this.#stands.map((stand, worker) => this.#workerView(stand, worker)),
      value: shortNumber(this.#value),
      steps: [...this.#steps],
      said: [...this.#said],
      ...(this.#result === undefined ? {} : { result: this.#result }),
      ...(this.#error === undefined ? {} : { error: this.#error }),
      ...(this.#waiting === undefined ? {} : { waiting: this.#waiting }),
    };
  }

  #workerView(stand: WorkerStand, worker: number): StepWorkerView {
    const locked = this.count.counter === "locked";
    const next = stand.stage === "done"
      ? stand.free ? "done (ran freely)" : "done"
      : stand.stage === "waits"
      ? `waits for the lock (held by worker ${this.#holder})`
      : stand.stage === "read"
      ? locked ? "take the lock, read" : "read"
      : `write ${shortNumber((stand.read ?? 0n) + 1n)}${locked ? ", release the lock" : ""}`;
    return {
      worker,
      next,
      read: stand.read === undefined ? "" : shortNumber(stand.read),
      steppable: this.steppable(worker),
    };
  }
}

/**
 * The panel before the teacher starts a count.
 *
 * @param version The view's version.
 * @returns The view: nothing started.
 */
export function idleStepView(version: number): StepPanelView {
  return {
    version,
    phase: "off",
    counter: "racy",
    request: "",
    workers: [],
    value: "",
    steps: [],
    said: [],
  };
}
