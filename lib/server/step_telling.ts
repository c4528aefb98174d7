/**
 * How a stepped count's steps are told: in the client's words (values from the
 * request's start, the updates a write erased), as `step` events for the log and the
 * dashboard, and as notices when its steps stop being stepped.
 *
 * @module
 */
import type { StepReply } from "../wire/protocol.ts";
import { formatStep } from "../wire/protocol.ts";
import type { StepRecord } from "../counter/step_gate.ts";
import type { ServerEvents } from "./server_events.ts";
import type { CountRequest } from "./count_request.ts";

/**
 * A step as the client is told it: values from the request's start, and what a write
 * erased (negative: restored).
 *
 * @param record The step, as its Worker logged it (values relative to the start).
 * @param start The request's start.
 * @param workers The pool's Workers, to name the holder a `waits` found.
 * @returns The step's words, for {@linkcode formatStep}.
 *
 * @example
 * ```ts
 * import { stepWords } from "./step_telling.ts";
 * import assert from "node:assert/strict";
 *
 * const record = { step: 3, slot: 1, worker: 1, action: "wrote" as const, value: 1, before: 1 };
 * assert.deepEqual(stepWords(record, 10n, 2), { worker: 1, action: "wrote", value: 11n, erased: 1 });
 * ```
 */
export function stepWords(record: StepRecord, start: bigint, workers: number): StepReply {
  const { worker, action, value } = record;
  if (action === "waits") {
    return value < 0 ? { worker, action } : { worker, action, holder: value % workers };
  }
  const absolute = start + BigInt(value);
  if (action === "read") return { worker, action, value: absolute };
  return { worker, action, value: absolute, erased: (record.before ?? 0) - (value - 1) };
}

/**
 * Tells the server's listeners of one connection's steps.
 *
 * @example
 * ```ts
 * import { StepTeller } from "./step_telling.ts";
 * import { ServerEvents } from "./server_events.ts";
 * import assert from "node:assert/strict";
 *
 * const events = new ServerEvents();
 * const notices: string[] = [];
 * events.subscribe((event) => event.type === "notice" && notices.push(event.message));
 * const teller = new StepTeller(events, "127.0.0.1:5000", () => 2);
 * teller.notice("R1", "no STEP for 60 s");
 * assert.deepEqual(notices, ["127.0.0.1:5000 R1: no STEP for 60 s; its other steps run freely"]);
 * ```
 */
export class StepTeller {
  #events: ServerEvents;
  #peer: string;
  #workers: () => number;

  /**
   * @param events The server's events.
   * @param peer The client's address.
   * @param workers The pool's Workers now.
   */
  constructor(events: ServerEvents, peer: string, workers: () => number) {
    this.#events = events;
    this.#peer = peer;
    this.#workers = workers;
  }

  /** A step in the client's words: {@linkcode stepWords}. */
  words(record: StepRecord, count: Pick<CountRequest, "start">): StepReply {
    return stepWords(record, count.start, this.#workers());
  }

  /** Emits a `step` event for one step of `count`. */
  tell(record: StepRecord, count: Pick<CountRequest, "start" | "request">): void {
    const words = this.words(record, count);
    this.#events.emit({
      type: "step",
      at: Date.now(),
      conn: this.#peer,
      request: count.request,
      step: record.step,
      task: `${count.request}#${record.slot + 1}`,
      worker: record.worker,
      action: record.action,
      ...(words.value === undefined ? {} : { value: words.value }),
      ...(record.before === undefined ? {} : { before: count.start + BigInt(record.before) }),
      ...(words.erased === undefined ? {} : { erased: words.erased }),
      ...(words.holder === undefined ? {} : { holder: words.holder }),
      text: formatStep(words).trimEnd(),
    });
  }

  /** Emits a notice: the count's other steps run freely, and why. */
  notice(request: string, why: string): void {
    const message = `${this.#peer} ${request}: ${why}; its other steps run freely`;
    this.#events.emit({ type: "notice", at: Date.now(), message });
  }

  /** Emits a notice: the count waits for another stepped count to let the pool's Workers go. */
  waitsForStepper(request: string): void {
    const message = `${this.#peer} ${request}: waits for another client's stepped count to ` +
      "let the Workers go (at most the step hold)";
    this.#events.emit({ type: "notice", at: Date.now(), message });
  }
}
