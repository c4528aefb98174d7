import assert from "node:assert/strict";
import { uniformInt } from "pure-rand/distribution/uniformInt";
import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus";
import { RawClient, startServer } from "./_helpers.ts";

const SEED = 20261124;
const LINES = 3000;
const MAX_LINE_BYTES = 256;
const encoder = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** Random request lines: random bytes, random tokens, huge and negative numbers, broken UTF-8. */
function* randomLines(seed: number): Generator<Uint8Array> {
  const rng = xoroshiro128plus(seed);
  const int = (min: number, max: number) => uniformInt(rng, min, max);
  const digits = (n: number) => Array.from({ length: n }, () => String(int(0, 9))).join("");
  const tokens = [
    () => digits(int(1, 3)),
    () => `-${digits(int(1, 80))}`,
    () => digits(int(1, 120)),
    () => ["x", "2.5", "0x1f", "1e3", "+", "-", "--1", "NaN", "∞", "١٢", "٣"][int(0, 10)],
    () => ["\t", "  ", "\r", "\v", "\0"][int(0, 4)],
  ];
  for (let i = 0; i < LINES; i++) {
    const shape = int(0, 9);
    let bytes: Uint8Array;
    if (shape === 0) {
      bytes = Uint8Array.from({ length: int(1, 40) }, () => int(0, 255));
    } else if (shape === 1) {
      bytes = encoder.encode(`${digits(int(1, 4))} ${digits(1)}é`).slice(0, -1); // cut inside a character
    } else if (shape <= 4) {
      bytes = encoder.encode(`${int(-99, 99)} ${int(0, 12)}`); // a good request
    } else if (shape === 5) {
      bytes = encoder.encode(`${tokens[1]()} ${int(0, 3)}`); // huge negative start
    } else {
      const parts = Array.from({ length: int(1, 4) }, () => tokens[int(0, tokens.length - 1)]());
      bytes = encoder.encode(parts.join(int(0, 1) ? " " : "\t"));
    }
    // One line each: no newline inside, and within the limit.
    yield bytes.map((b) => b === 0x0a ? 0x20 : b).slice(0, MAX_LINE_BYTES);
  }
}

/** What a correct server must answer: the exact sum, an error, or nothing (empty line). */
function expectation(bytes: Uint8Array): { sum?: bigint; silent?: boolean } {
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    return {}; // an error
  }
  text = text.replace(/\r$/, "").replace(/^[ \t]+|[ \t]+$/g, "");
  if (text === "") return { silent: true };
  const match = /^([+-]?\d+)[ \t]+\+?(\d+)$/.exec(text);
  if (match && Number(match[2]) <= 1000) return { sum: BigInt(match[1]) + BigInt(match[2]) };
  return {};
}

Deno.test(`fuzz (seed ${SEED}): ${LINES} random lines never crash the server; every reply exact or ERR`, async () => {
  await using server = startServer({ maxIncrements: 1000, maxLineBytes: MAX_LINE_BYTES });
  await using raw = await RawClient.connect(server);
  let exact = 0;
  let errors = 0;
  for (const bytes of randomLines(SEED)) {
    const { sum, silent } = expectation(bytes);
    if (silent) continue;
    await raw.writeBytes(Uint8Array.from([...bytes, 0x0a]));
    const reply = await raw.readLine();
    assert.ok(reply !== null, `the server closed after ${JSON.stringify([...bytes])}`);
    if (sum !== undefined) {
      assert.equal(reply, String(sum), `for ${JSON.stringify(new TextDecoder().decode(bytes))}`);
      exact++;
    } else {
      assert.match(reply, /^ERR [a-z-]+ \S/, `for ${JSON.stringify([...bytes])}`);
      errors++;
    }
  }
  assert.ok(exact > 500 && errors > 500, `exact ${exact}, errors ${errors}`);
  await raw.write("2 10\n");
  assert.equal(await raw.readLine(), "12");
});
