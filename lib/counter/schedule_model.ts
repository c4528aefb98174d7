/**
 * A stepped request's rules on paper: which step each schedule entry lets its Worker
 * take (a read, a write, or a try at a held lock), with no thread. The server checks a
 * schedule with it before the Workers run it (an entry that names a Worker with no step
 * left would stall them for ever) and knows when every step is taken. The answers
 * themselves come from the Workers, never from here.
 *
 * @module
 */

/** What an entry lets its Worker do next. */
export type ModelAction = "read" | "wrote" | "waits";

type Phase = "read" | "waiting" | "granted" | "write";

/**
 * The steps of a request of `increments` increments over `workers` Workers: increment k
 * is Worker (k − 1) mod `workers`'s, each one a read then a write; with the lock, a read
 * first takes the lock, and a try that finds it held is a step that only waits.
 *
 * @example
 * ```ts
 * import { ScheduleModel } from "./schedule_model.ts";
 * import assert from "node:assert/strict";
 *
 * const model = new ScheduleModel("locked", 2, 2);
 * assert.deepEqual([0, 1, 0, 1].map((w) => model.step(w)), ["read", "waits", "wrote", "read"]);
 * assert.equal(model.canStep(0), false); // worker 0's only increment is done
 * assert.equal(model.finished, false); // worker 1 still writes
 * ```
 */
export class ScheduleModel {
  readonly locked: boolean;
  readonly workers: number;
  #increments: number;
  /** Per Worker: the number (from 1) of its increment under way, and where it stands. */
  #current: number[];
  #phase: Phase[];
  /** Workers waiting for the lock, in the order they tried it; `#holder` holds it (−1: none). */
  #queue: number[] = [];
  #holder = -1;

  /**
   * @param model `racy` or `locked`.
   * @param increments The request's increments.
   * @param workers The Workers the schedule names.
   */
  constructor(model: "racy" | "locked", increments: number, workers: number) {
    this.locked = model === "locked";
    this.workers = workers;
    this.#increments = increments;
    this.#current = Array.from({ length: workers }, (_, worker) => worker + 1);
    this.#phase = Array.from({ length: workers }, () => "read");
  }

  /** Whether every step of every increment is taken. */
  get finished(): boolean {
    return this.#current.every((no) => no > this.#increments);
  }

  /**
   * Whether `worker` has a step left.
   *
   * @param worker The Worker.
   */
  canStep(worker: number): boolean {
    return Number.isInteger(worker) && worker >= 0 && worker < this.workers &&
      this.#current[worker] <= this.#increments;
  }

  /** The Workers that have a step left, in order. */
  stepping(): number[] {
    return this.#current.flatMap((_, worker) => this.canStep(worker) ? [worker] : []);
  }

  /**
   * Lets `worker` take its next step.
   *
   * @param worker The Worker.
   * @returns What it does.
   * @throws {RangeError} When it has no step left.
   */
  step(worker: number): ModelAction {
    if (!this.canStep(worker)) {
      throw new RangeError(`worker ${worker} has no step left`);
    }
    switch (this.#phase[worker]) {
      case "read":
        if (this.locked && (this.#holder !== -1 || this.#queue.length > 0)) {
          this.#queue.push(worker);
          this.#phase[worker] = "waiting";
          return "waits";
        }
        if (this.locked) this.#holder = worker;
        this.#phase[worker] = "write";
        return "read";
      case "waiting":
        return "waits";
      case "granted":
        this.#phase[worker] = "write";
        return "read";
      case "write": {
        if (this.locked) {
          const next = this.#queue.shift();
          this.#holder = next ?? -1;
          if (next !== undefined) this.#phase[next] = "granted";
        }
        this.#current[worker] += this.workers;
        this.#phase[worker] = "read";
        return "wrote";
      }
    }
  }
}
