/**
 * The floor for the TCP benchmarks: a bare Deno line server that answers
 * `<start> <increments>` with the sum at once, with no Workers, limits or log.
 * Usage: deno run --allow-net=127.0.0.1 bench/bare_line_server.ts PORT
 */
import { serveLineFloor } from "./line_floor.ts";

await serveLineFloor((start, increments) => `${BigInt(start) + BigInt(increments)}`);
