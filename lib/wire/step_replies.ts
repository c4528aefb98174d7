/**
 * The lines of a stepped count (`STEP <worker>`), both ways, and the words a write's
 * effect on the counter is told in, for the replies and the log. Exported again by
 * `replies.ts`, which reads these lines as the `step` reply.
 *
 * @module
 */

/**
 * What one Worker just did in a stepped count: `read` (the value it read), `wrote` (the
 * value it wrote, and how many updates that erased: negative when it restored ones erased
 * earlier), or `waits` (it tried the lock, which `holder` holds).
 */
export interface StepReply {
  worker: number;
  action: "read" | "wrote" | "waits";
  /** The value read or written; none for `waits`. */
  value?: bigint;
  erased?: number;
  holder?: number;
}

/**
 * Formats what a Worker just did in a stepped count, newline included.
 *
 * @param step The step.
 * @returns `worker 1 read 0`, `worker 1 wrote 1, erasing 1 update`, `worker 1 waits for
 *   the lock (worker 0 holds it)`.
 *
 * @example
 * ```ts
 * import { formatStep } from "./step_replies.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatStep({ worker: 0, action: "read", value: 0n }), "worker 0 read 0\n");
 * assert.equal(
 *   formatStep({ worker: 1, action: "wrote", value: 1n, erased: 1 }),
 *   "worker 1 wrote 1, erasing 1 update\n",
 * );
 * ```
 */
export function formatStep(step: StepReply): string {
  const who = `worker ${step.worker}`;
  if (step.action === "waits") {
    const holder = step.holder === undefined ? "" : ` (worker ${step.holder} holds it)`;
    return `${who} waits for the lock${holder}\n`;
  }
  const erased = step.action === "wrote" ? erasedWords(step.erased ?? 0, "ing") : "";
  return `${who} ${step.action} ${step.value}${erased}\n`;
}

/**
 * What a write did to the counter, in a student's words: `counter 4 → 6`, then what it
 * erased or restored (never a negative count).
 *
 * @param before What the counter held just before the write.
 * @param written What the write put there.
 * @param erased Updates of others it erased (`before − read`); negative: it restored some.
 * @returns The words.
 *
 * @example
 * ```ts
 * import { describeWrite } from "./step_replies.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(describeWrite(6n, 5n, 2), "counter 6 → 5, erased 2 updates");
 * assert.equal(describeWrite(4n, 6n, -1), "counter 4 → 6, restoring 1 update erased earlier");
 * ```
 */
export function describeWrite(before: bigint, written: bigint, erased: number): string {
  return `counter ${before} → ${written}${erasedWords(erased, "ed")}`;
}

/** `, erasing 2 updates` / `, erased 2 updates` / `, restoring 1 update erased earlier`. */
function erasedWords(erased: number, tense: "ing" | "ed"): string {
  if (erased === 0) return "";
  const count = `${Math.abs(erased)} ${Math.abs(erased) === 1 ? "update" : "updates"}`;
  return erased > 0
    ? `, eras${tense === "ing" ? "ing" : "ed"} ${count}`
    : `, restoring ${count} erased earlier`;
}

const STEP =
  /^worker (\d+) (?:(read) (-?\d+)|(wrote) (-?\d+)(?:, (erasing|restoring) (\d+) (updates?)( erased earlier)?)?|(waits) for the lock(?: \(worker (\d+) holds it\))?)$/;

/**
 * Reads a step line (`worker 1 read 0`).
 *
 * @param line The line, without its ending.
 * @returns The step, or undefined when it is no step line.
 *
 * @example
 * ```ts
 * import { parseStepLine } from "./step_replies.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(parseStepLine("worker 1 read 0"), { worker: 1, action: "read", value: 0n });
 * ```
 */
export function parseStepLine(line: string): StepReply | undefined {
  const match = STEP.exec(line);
  if (!match) return undefined;
  const [, worker, read, readValue, wrote, wroteValue, how, count, word, earlier, waits, holder] =
    match;
  // As formatStep writes it: `1 update`, `2 updates`; `erased earlier` after restoring only.
  if (how !== undefined && ((count === "1") !== (word === "update"))) return undefined;
  if (how !== undefined && (how === "restoring") !== (earlier !== undefined)) return undefined;
  if (read) return { worker: Number(worker), action: "read", value: BigInt(readValue) };
  if (wrote) {
    const erased = how === undefined ? 0 : how === "erasing" ? Number(count) : -Number(count);
    return { worker: Number(worker), action: "wrote", value: BigInt(wroteValue), erased };
  }
  const step: StepReply = { worker: Number(worker), action: "waits" };
  if (waits && holder !== undefined) step.holder = Number(holder);
  return step;
}
