/**
 * What the server checks in a remote Worker's report before it believes it: the
 * wire's decoder checks the shape (`decodeReport`), this checks the report against
 * the batch it answers. A node's report is a claim made over the network, so every
 * number in it is checked against what the server knows: which tasks it sent, with
 * how many units each, and when it sent them and heard back.
 *
 * @module
 */
import { REPORT_STRIDE } from "../pool/worker_messages.ts";
import { MalformedMessageError } from "./fleet_wire.ts";

/**
 * How much longer, in ms, a node's run may seem than the time its batch was out: the two
 * clocks may round differently.
 */
export const CLOCK_TOLERANCE_MS = 1;

/** What the server knows of a batch it sent. */
export interface SentBatch {
  /** The units of each task sent, by task id. */
  units: ReadonlyMap<number, number>;
  /** When it was sent, in ms on the clock of `performance.timeOrigin + performance.now()`. */
  sentAt: number;
  /** When its reply came, on the same clock. */
  receivedAt: number;
}

/**
 * Checks a report against its batch and puts its times on the server's clock.
 *
 * The rules: each task at most once, each one of the batch, with the units it was
 * sent with; each task's times ordered, and each task starting after the one before
 * it ended (a Worker runs a batch in order); the whole run no longer than the time
 * between sending and hearing back. The node's clock may differ from the server's:
 * when its times fall outside that window, they are shifted, all by the same amount,
 * so that the run ends when the reply came. The times handed on therefore always lie
 * within the batch's time out, whatever the node's clock says.
 *
 * @param report The decoded report, `[id, units, startedAt, endedAt]` rows (see `decodeReport`).
 * @param batch What was sent.
 * @returns The report's rows, on the server's clock (a new array).
 * @throws {MalformedMessageError} When a rule is broken.
 *
 * @example
 * ```ts
 * import { checkReport } from "./report_check.ts";
 * import assert from "node:assert/strict";
 *
 * const batch = { units: new Map([[7, 2]]), sentAt: 1000, receivedAt: 1010 };
 * // A node whose clock is an hour ahead: the run is moved to end when the reply came.
 * const report = new Float64Array([7, 2, 3_600_001_002, 3_600_001_006]);
 * assert.deepEqual([...checkReport(report, batch)], [7, 2, 1006, 1010]);
 * assert.throws(() => checkReport(new Float64Array([7, 2, -1e306, 1e306]), batch));
 * assert.throws(() => checkReport(new Float64Array([7, 3, 1002, 1006]), batch));
 * ```
 */
export function checkReport(report: Float64Array, batch: SentBatch): Float64Array {
  const seen = new Set<number>();
  const rows = report.length / REPORT_STRIDE;
  let previousEnd = -Infinity;
  for (let row = 0; row < rows; row++) {
    const at = row * REPORT_STRIDE;
    const id = report[at];
    const units = report[at + 1];
    const startedAt = report[at + 2];
    const endedAt = report[at + 3];
    if (seen.has(id)) throw new MalformedMessageError(`report: task ${id} twice`);
    seen.add(id);
    const sent = batch.units.get(id);
    if (sent === undefined) throw new MalformedMessageError(`report: task ${id} was not sent`);
    if (units !== sent) {
      throw new MalformedMessageError(`report: task ${id} was sent ${sent} units, not ${units}`);
    }
    if (!(startedAt <= endedAt) || startedAt < previousEnd) {
      throw new MalformedMessageError(`report: task ${id}'s times are out of order`);
    }
    previousEnd = endedAt;
  }
  const out = new Float64Array(report);
  if (rows === 0) return out;
  const first = report[2];
  const last = report[report.length - 1];
  const window = batch.receivedAt - batch.sentAt;
  if (!(last - first <= window + CLOCK_TOLERANCE_MS)) {
    throw new MalformedMessageError(
      `report: a run of ${last - first} ms in a reply that came ${window} ms after its batch`,
    );
  }
  if (first < batch.sentAt || last > batch.receivedAt) {
    const shift = batch.receivedAt - last;
    for (let at = 0; at < out.length; at += REPORT_STRIDE) {
      out[at + 2] += shift;
      out[at + 3] += shift;
    }
  }
  return out;
}
