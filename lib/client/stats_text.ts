/**
 * The server's `STATS` reply (one line of JSON) as text a person reads at
 * the client's prompt.
 *
 * @module
 */

/** The lines of the readable form: a label and the fields it shows, in order. */
const LINES: readonly { label: string; parts: readonly [field: string, word: string][] }[] = [
  { label: "clients", parts: [["clients_active", "served"], ["clients_waiting", "waiting"]] },
  { label: "workers", parts: [["workers", "in the pool"], ["workers_busy", "busy"]] },
  {
    label: "increments",
    parts: [["tasks_done", "done"], ["tasks_in_flight", "running"], ["tasks_queued", "queued"]],
  },
  { label: "requests", parts: [["requests", "so far"], ["requests_in_flight", "in flight"]] },
];

/**
 * Formats a `STATS` reply for a person: one labelled line per part of the
 * server, then any fields this client does not know by name.
 *
 * @param stats The parsed JSON object of the reply.
 * @returns The text, each line ending with a newline.
 *
 * @example
 * ```ts
 * import { describeStats } from "./stats_text.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(
 *   describeStats({ clients_active: 1, clients_waiting: 0, uptime_s: 1.5, batches_sent: 4 }),
 *   "Server load, up 1.5 s:\n" +
 *     "  clients     1 served, 0 waiting\n" +
 *     "  also        batches_sent 4\n",
 * );
 * ```
 */
export function describeStats(stats: Readonly<Record<string, unknown>>): string {
  const shown = new Set<string>(["uptime_s"]);
  const uptime = typeof stats.uptime_s === "number" ? `, up ${stats.uptime_s} s` : "";
  let text = `Server load${uptime}:\n`;
  for (const { label, parts } of LINES) {
    const words = parts.filter(([field]) => field in stats).map(([field, word]) => {
      shown.add(field);
      return `${stats[field]} ${word}`;
    });
    if (words.length > 0) text += `  ${label.padEnd(11)} ${words.join(", ")}\n`;
  }
  const others = Object.entries(stats).filter(([field]) => !shown.has(field));
  if (others.length > 0) {
    const values = others.map(([k, v]) => `${k} ${typeof v === "object" ? JSON.stringify(v) : v}`);
    text += `  ${"also".padEnd(11)} ${values.join(", ")}\n`;
  }
  return text;
}
