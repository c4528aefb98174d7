/**
 * Writing to a connection, a file or a standard stream until every byte is
 * out, and closing a resource that may already be gone.
 *
 * @module
 */

/** Something bytes can be written to: `Deno.Conn`, `Deno.FsFile`, `Deno.stdout`. */
export interface ByteSink {
  /** Writes some of `p`; resolves to how many bytes were written. */
  write(p: Uint8Array): Promise<number>;
}

const encoder = new TextEncoder();

/**
 * Writes all of `data` (text is encoded as UTF-8), looping over short writes.
 *
 * @param sink Where to write.
 * @param data The bytes or text.
 * @returns A promise that resolves when every byte is written.
 * @throws Whatever the sink's `write` throws (a reset connection, a full disk).
 *
 * @example
 * ```ts
 * import { writeAll } from "./write_all.ts";
 * import assert from "node:assert/strict";
 *
 * const chunks: number[] = [];
 * // A sink that takes at most 2 bytes a write.
 * const sink = { write: (p: Uint8Array) => Promise.resolve(chunks.push(Math.min(2, p.length)) && Math.min(2, p.length)) };
 * await writeAll(sink, "12\n");
 * assert.deepEqual(chunks, [2, 1]);
 * ```
 */
export async function writeAll(sink: ByteSink, data: Uint8Array | string): Promise<void> {
  let bytes = typeof data === "string" ? encoder.encode(data) : data;
  while (bytes.length > 0) bytes = bytes.subarray(await sink.write(bytes));
}

/**
 * Closes a resource, ignoring that it is closed already.
 *
 * @param resource A connection, listener or file.
 *
 * @example
 * ```ts
 * import { closeQuietly } from "./write_all.ts";
 *
 * const closable = { close() { throw new Deno.errors.BadResource("closed"); } };
 * closeQuietly(closable); // no throw
 * ```
 */
export function closeQuietly(resource: { close(): void }): void {
  try {
    resource.close();
  } catch { /* already closed */ }
}
