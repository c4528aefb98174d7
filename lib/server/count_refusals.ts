/**
 * What a session answers when a count fails, or when a connection may not
 * have the counter it asks for.
 *
 * @module
 */
import type { ErrorCode } from "../wire/protocol.ts";
import type { CounterModel } from "../counter/counter_model.ts";

/**
 * The error a count that failed is answered with.
 *
 * @param request The request's name, `R<n>`.
 * @param failure What went wrong.
 * @param why Whether the server stopped, or no Worker was there to count.
 * @returns The `ERR` code and message.
 *
 * @example
 * ```ts
 * import { countFailure } from "./count_refusals.ts";
 * import assert from "node:assert/strict";
 *
 * const failed = countFailure("R7", "worker died", { stopped: false, noWorkers: false });
 * assert.deepEqual(failed, ["worker-failed", "R7 failed: worker died"]);
 * ```
 */
export function countFailure(
  request: string,
  failure: string,
  why: { stopped: boolean; noWorkers: boolean },
): [ErrorCode, string] {
  if (why.stopped) {
    return ["shutting-down", `the server stopped before ${request} finished; send it again later`];
  }
  return [why.noWorkers ? "no-workers" : "worker-failed", `${request} failed: ${failure}`];
}

/**
 * Why a connection may not take a counter model: `racy` and `locked` need every increment
 * on the server's own machine.
 *
 * @param model The model asked for.
 * @param sharedCounters Whether every increment runs on this machine (no fleet).
 * @returns The refusal's message, or undefined when the model may be used.
 *
 * @example
 * ```ts
 * import { counterRefusal } from "./count_refusals.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(counterRefusal("racy", true), undefined);
 * assert.match(counterRefusal("racy", false)!, /only COUNTER parallel here/);
 * ```
 */
export function counterRefusal(model: CounterModel, sharedCounters: boolean): string | undefined {
  if (model === "parallel" || sharedCounters) return undefined;
  return `COUNTER ${model} needs every increment on the server's own machine (its ` +
    "counter lives in memory shared with the local Workers), and this server counts on " +
    "worker nodes too (--nats): only COUNTER parallel here";
}

/**
 * Why a count failed, in words for the log: its client went, the server stopped, or the
 * error's own message.
 *
 * @param error What the count threw.
 * @param why Why its client has gone, if it has, and whether the server stopped.
 * @returns The reason.
 *
 * @example
 * ```ts
 * import { failureReason } from "./count_refusals.ts";
 * import assert from "node:assert/strict";
 *
 * const why = { stopped: false };
 * assert.equal(failureReason(new Error("worker died"), why), "worker died");
 * assert.equal(failureReason("x", { gone: "client disconnected", stopped: false }), "client disconnected");
 * assert.equal(failureReason("x", { ...why, stopped: true }), "server shut down before it finished");
 * ```
 */
export function failureReason(
  error: unknown,
  why: { gone?: string; stopped: boolean },
): string {
  if (why.gone !== undefined) return why.gone;
  if (why.stopped) return "server shut down before it finished";
  return error instanceof Error ? error.message : String(error);
}
