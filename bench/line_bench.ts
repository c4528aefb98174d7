/**
 * The cost of one request line of `--max-line-bytes` through framing and
 * parsing, best case (digits) against hostile shapes (blanks between two
 * words, a line arriving a byte at a time): every per-line step is linear, so
 * the worst costs no more than a few times the best. `deno task bench:micro`.
 */
import { LineReader } from "../lib/wire/line_reader.ts";
import { parseCommand, ProtocolError } from "../lib/wire/protocol.ts";
import { MAX_LINE_BYTES } from "../lib/defaults/defaults.ts";

const encoder = new TextEncoder();
const limit = MAX_LINE_BYTES;
const lines: Record<string, string> = {
  "digits (best)": `${"7".repeat(limit - 2)} 1`,
  "x, blanks, x": `x${" ".repeat(limit - 2)}x`,
  "blanks, then digits": `${" ".repeat(limit - 4)}1 1`,
  "digits, blanks, x": `1${" ".repeat(limit - 2)}x`,
  "tabs and spaces": `1${" \t".repeat((limit - 2) / 2)}1`,
};

/** Frames and parses one line, read in pieces of `piece` bytes. */
async function frameAndParse(line: Uint8Array, piece: number): Promise<void> {
  let at = 0;
  const reader = new LineReader({
    read(p) {
      if (at >= line.length) return Promise.resolve(null);
      const n = Math.min(piece, p.length, line.length - at);
      p.set(line.subarray(at, at + n));
      at += n;
      return Promise.resolve(n);
    },
  }, { maxLineBytes: limit });
  const event = await reader.next();
  if (event.kind !== "line") throw new Error(`expected a line, got ${event.kind}`);
  try {
    parseCommand(event.text, { maxIncrements: 1_000_000 });
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
  }
}

for (const [name, text] of Object.entries(lines)) {
  const bytes = encoder.encode(`${text}\n`);
  Deno.bench({
    name: `one ${limit}-byte line: ${name}`,
    group: "line of --max-line-bytes, one read",
    baseline: name === "digits (best)",
    fn: () => frameAndParse(bytes, bytes.length),
  });
  Deno.bench({
    name: `one ${limit}-byte line, 64 bytes a read: ${name}`,
    group: "line of --max-line-bytes, 64 bytes a read",
    baseline: name === "digits (best)",
    fn: () => frameAndParse(bytes, 64),
  });
}
