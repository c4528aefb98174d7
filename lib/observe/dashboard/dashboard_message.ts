/**
 * One message to the dashboard's pages, as the bytes of a Server-Sent Event,
 * within a byte budget: the panels first, then as many bars as fit, newest
 * kept; the bars left out are summarised by lane, never dropped in silence.
 *
 * @module
 */
import { DASHBOARD_MESSAGE_BYTES, DASHBOARD_SUMMARY_COLOURS } from "../../defaults/defaults.ts";
import { type Bar, type LaneTally, tallyBar } from "./bar_history.ts";
import type { BarSummary } from "./dashboard_views.ts";

/**
 * Room kept for one lane's summary, `[lane, count, fromMs, toMs, busy, colours],`
 * at their longest: 36 characters, and 12 for each colour `[key,percent],`.
 */
const SUMMARY_BYTES = 36 + DASHBOARD_SUMMARY_COLOURS * 12;
/** Room kept for the event's name, the field names and the closing bytes. */
const FRAME_BYTES = 64;

const encoder = new TextEncoder();

/** Options of {@linkcode encodeMessage}. */
export interface MessageOptions {
  /** Most bytes of the message. Defaults to {@linkcode DASHBOARD_MESSAGE_BYTES}. */
  maxBytes?: number;
  /** Bars of the message past their own bound already, by lane: they join its summary. */
  tally?: ReadonlyMap<number, LaneTally>;
}

/** An encoded message, and how its bars were carried. */
export interface Message {
  /** `event: NAME\ndata: JSON\n\n`, at most `maxBytes` long. */
  bytes: Uint8Array;
  /** Bars sent one by one. */
  drawn: number;
  /** Bars sent only in the summary. */
  summarised: number;
}

/**
 * Encodes a message: `panels` whole, then `bars` (oldest first) with times
 * relative to `panels.now`, as many as fit, newest kept, the rest in `summary`.
 *
 * @param event The event's name: `snapshot` or `update`.
 * @param panels Everything else in the message, with its `now`; bounded by
 *   the dashboard's other bounds, well within `maxBytes`.
 * @param bars The bars, oldest first, times in ms since the epoch.
 * @param options The budget, and bars already tallied.
 * @returns The message.
 * @throws {RangeError} When the panels alone do not fit (a bug: the dashboard's bounds keep them small).
 *
 * @example
 * ```ts
 * import { encodeMessage } from "./dashboard_message.ts";
 * import assert from "node:assert/strict";
 *
 * const bars = Array.from({ length: 100 }, (_, i) =>
 *   [`R1#${i}`, 0, 0, 900 + i, 901 + i, 1] as [string, number, number, number, number, number]);
 * const message = encodeMessage("update", { now: 1000 }, bars, { maxBytes: 1000 });
 * assert.ok(message.bytes.length <= 1000);
 * assert.equal(message.drawn + message.summarised, 100);
 * const data = JSON.parse(new TextDecoder().decode(message.bytes).split("data: ")[1]);
 * assert.deepEqual(data.bars.at(-1), ["R1#99", 0, 0, -1, 0, 1]); // the newest is kept
 * const n = message.summarised; // each ran 1 ms, one after the other: busy 1000 ‰, all colour 0
 * assert.deepEqual(data.summary, [[0, n, -100, -100 + n, 1000, [[0, 100]]]]);
 * ```
 */
export function encodeMessage(
  event: "snapshot" | "update",
  panels: { now: number },
  bars: readonly Bar[],
  options: MessageOptions = {},
): Message {
  const { maxBytes = DASHBOARD_MESSAGE_BYTES, tally } = options;
  const now = panels.now;
  const head = `event: ${event}\ndata: ${JSON.stringify(panels).slice(0, -1)}`;
  // Bars not kept yet, by lane: each lane with some left (or tallied already) needs a summary.
  const left = new Map<number, number>();
  for (const bar of bars) left.set(bar[1], (left.get(bar[1]) ?? 0) + 1);
  let summaries = left.size;
  for (const lane of tally?.keys() ?? []) if (!left.has(lane)) summaries++;
  let room = maxBytes - encoder.encode(head).length - FRAME_BYTES;
  // Newest first, while the bar and the summaries still needed fit; every older bar is summarised.
  const kept: string[] = [];
  let first = bars.length;
  while (first > 0) {
    const [task, lane, colour, startedAt, endedAt, units] = bars[first - 1];
    const text = JSON.stringify([
      task,
      lane,
      colour,
      since(startedAt, now),
      since(endedAt, now),
      units,
    ]);
    const laneDone = left.get(lane) === 1 && !tally?.has(lane);
    // Bars are ASCII: a character is a byte.
    if (text.length + 1 + (summaries - (laneDone ? 1 : 0)) * SUMMARY_BYTES > room) break;
    room -= text.length + 1;
    left.set(lane, left.get(lane)! - 1);
    if (laneDone) summaries--;
    kept.push(text);
    first--;
  }
  if (room < summaries * SUMMARY_BYTES) {
    throw new RangeError(`the dashboard's panels alone take more than ${maxBytes} bytes`);
  }
  const lanes = new Map<number, LaneTally>();
  for (const [lane, entry] of tally ?? []) {
    lanes.set(lane, { ...entry, colours: new Map(entry.colours) });
  }
  for (let i = 0; i < first; i++) tallyBar(lanes, bars[i]);
  const summary: BarSummary[] = [];
  let summarised = 0;
  for (const [lane, { count, from, to, busyMs, colours }] of lanes) {
    // A lane runs one task at a time: busy at most the whole span.
    const busy = to > from ? Math.min(1000, Math.round(busyMs / (to - from) * 1000)) : 1000;
    summary.push([lane, count, since(from, now), since(to, now), busy, shares(colours, count)]);
    summarised += count;
  }
  const text = `${head},"bars":[${kept.reverse().join(",")}],"summary":${
    JSON.stringify(summary)
  }}\n\n`;
  return { bytes: encoder.encode(text), drawn: kept.length, summarised };
}

/**
 * The clients' shares of a summary's bars, in percent, most first: at most
 * {@linkcode DASHBOARD_SUMMARY_COLOURS}, the rest together under colour -1.
 */
function shares(colours: ReadonlyMap<number, number>, total: number): [number, number][] {
  const sorted = [...colours].sort((a, b) => b[1] - a[1]);
  const percent = (count: number) => Math.round(count / total * 100);
  if (sorted.length <= DASHBOARD_SUMMARY_COLOURS) {
    return sorted.map(([colour, count]) => [colour, percent(count)]);
  }
  const kept = sorted.slice(0, DASHBOARD_SUMMARY_COLOURS - 1);
  const rest = total - kept.reduce((n, [, count]) => n + count, 0);
  return [...kept.map(([c, n]) => [c, percent(n)] as [number, number]), [-1, percent(rest)]];
}

/** `at` relative to `now`, in ms, to a tenth. */
function since(at: number, now: number): number {
  return Math.round((at - now) * 10) / 10;
}
