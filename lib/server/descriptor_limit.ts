/**
 * The process's limit on open file descriptors, and whether an error means
 * it has been reached. Every connection, waiting or served, holds one.
 *
 * @module
 */

/**
 * Reads the soft limit on open descriptors from `/proc/self/limits` (Linux),
 * where it may be read: Deno allows it only with `--allow-all` (granting the
 * file alone is not enough), so a server with narrower permissions learns the
 * limit from `--open-file-limit` or not at all. Deno raises the soft limit to
 * the hard one as it starts, so this is the limit in force.
 *
 * @returns The limit, or `undefined` where it cannot be read (another OS, or
 *   no permission to read `/proc/self/limits`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openFileLimit } from "./descriptor_limit.ts";
 *
 * const limit = openFileLimit(); // 1024, say; undefined where /proc may not be read
 * assert.ok(limit === undefined || limit > 0);
 * ```
 */
export function openFileLimit(): number | undefined {
  const path = "/proc/self/limits";
  // Asked first, so that a server on a terminal never prompts for it.
  if (Deno.permissions.querySync({ name: "read", path }).state !== "granted") return undefined;
  let text;
  try {
    text = Deno.readTextFileSync(path);
  } catch {
    return undefined;
  }
  const match = /^Max open files\s+(\d+|unlimited)/m.exec(text);
  if (!match) return undefined;
  return match[1] === "unlimited" ? Infinity : Number(match[1]);
}

/**
 * Whether an error from `accept` (or `open`) says the process or the system
 * is out of descriptors (EMFILE, ENFILE): the one accept error worth backing
 * off for. Others (a client that reset before it was accepted) concern one
 * connection only.
 *
 * @param error The error.
 * @returns `true` for EMFILE and ENFILE.
 *
 * @example
 * ```ts
 * import { isOutOfDescriptors } from "./descriptor_limit.ts";
 * import assert from "node:assert/strict";
 *
 * assert.ok(isOutOfDescriptors(new Error("Too many open files (os error 24)")));
 * assert.ok(!isOutOfDescriptors(new Deno.errors.NotConnected("os error 107")));
 * ```
 */
export function isOutOfDescriptors(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  return code === "EMFILE" || code === "ENFILE" || /\(os error 2[34]\)/.test(error.message);
}

/** What needs descriptors, for {@linkcode descriptorShortfall}. */
export interface DescriptorNeeds {
  /** The limit on open files; none when unknown. */
  limit?: number;
  maxClients: number;
  maxWaiting: number;
  workers: number;
}

/**
 * Says when the descriptor limit cannot hold every client that may connect: one
 * descriptor each, and some for stdio, the listener, the reserve, the Workers, the
 * dashboard and the trace.
 *
 * @param needs The limit, and what needs descriptors.
 * @returns A notice for the log, or undefined when the limit is enough or unknown.
 *
 * @example
 * ```ts
 * import { descriptorShortfall } from "./descriptor_limit.ts";
 * import assert from "node:assert/strict";
 *
 * const needs = { maxClients: 100, maxWaiting: 1000, workers: 4 };
 * assert.match(descriptorShortfall({ ...needs, limit: 256 })!, /ulimit -n 4096/);
 * assert.equal(descriptorShortfall({ ...needs, limit: 65536 }), undefined);
 * ```
 */
export function descriptorShortfall(needs: DescriptorNeeds): string | undefined {
  const { limit, maxClients, maxWaiting, workers } = needs;
  const needed = maxClients + maxWaiting + workers + 64;
  if (limit === undefined || limit >= needed) return undefined;
  return `the limit on open files is ${limit}, below the about ${needed} that ` +
    `--max-clients ${maxClients} and --max-waiting ${maxWaiting} need: clients past it get ` +
    `ERR busy. Raise it (ulimit -n ${Math.max(needed, 4096)}) or lower --max-waiting.`;
}
