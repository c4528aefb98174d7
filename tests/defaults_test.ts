/**
 * One home for every default and bound: `lib/defaults/defaults.ts`, which imports nothing and
 * which `constCS.ts` re-exports. The source is read as `layers_test.ts` reads it, so a default
 * or bound declared anywhere else in `lib/` (or in an entry point) fails here.
 */
import assert from "node:assert/strict";
import * as constCS from "../constCS.ts";
import * as defaults from "../lib/defaults/defaults.ts";
import type { ServerOptions } from "../lib/server/server_options.ts";
import { SERVER_COMMAND } from "../lib/server/server_cli.ts";
import { NODE_COMMAND } from "../lib/fleet/node_cli.ts";
import { CLIENT_COMMAND } from "../lib/client/client_cli.ts";
import { DEMO_COMMAND } from "../lib/demo/demo_cli.ts";
import { LESSONS_COMMAND } from "../lib/lessons/lessons_cli.ts";

const ROOT = new URL("..", import.meta.url);
const DEFAULTS = "lib/defaults/defaults.ts";

/** How a default's or a bound's name starts: `DEFAULT_…`, `MAX_…`, `MIN_…` (or `…_MAX_…`). */
const BOUND_NAME = /^(?:DEFAULT|MAX|MIN)_|_(?:MAX|MIN)_/;

/**
 * Constants named like bounds that are facts of a format rather than defaults: the wire's
 * largest count (15 digits, as its patterns say), the trace's exact integers, and the PROXY
 * protocol's longest headers (its specification's).
 */
const FORMAT_FACTS = new Set([
  "lib/wire/replies.ts MAX_COUNT",
  "lib/observe/trace/trace_format.ts MAX_EXACT_VALUE",
  "lib/wire/proxy_header.ts PROXY_HEADER_MAX_BYTES",
  "lib/wire/proxy_header.ts V1_MAX_BYTES",
]);

/**
 * The dashboard page's own script runs in the browser, joined as text into the page: it
 * cannot load `lib/`, so its few bounds stay in it.
 */
const BROWSER = "lib/observe/dashboard/browser/";

/** Every module of `lib/` (nested too) and the entry points at the top, as paths from the root. */
function sourceModules(): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of Deno.readDirSync(new URL(dir, ROOT))) {
      if (entry.isDirectory) walk(`${dir}${entry.name}/`);
      else if (/\.[jt]s$/.test(entry.name)) found.push(`${dir}${entry.name}`);
    }
  };
  walk("lib/");
  for (const entry of Deno.readDirSync(ROOT)) {
    if (entry.isFile && entry.name.endsWith(".ts")) found.push(entry.name);
  }
  return found.sort();
}

/** The top-level constants a source declares (`const NAME =`, exported or not). */
export function declaredConstants(source: string): string[] {
  return [...source.matchAll(/^(?:export\s+)?const\s+([A-Z][A-Z0-9_]*)\b/gm)].map((m) => m[1]);
}

Deno.test("declaredConstants() finds top-level constants, exported or not, and nothing nested", () => {
  const source = [
    "export const MAX_A = 1;",
    "const DEFAULT_B = { x: 1 };",
    "  const MAX_NESTED = 2;",
    "export const lower = 3;",
    "// const MAX_COMMENTED = 4; is not at the start of a line",
  ].join("\n");
  assert.deepEqual(declaredConstants(source), ["MAX_A", "DEFAULT_B"]);
  assert.ok(BOUND_NAME.test("DASHBOARD_MAX_BEHIND") && !BOUND_NAME.test("MAXIMUM"));
});

Deno.test("no default or bound is declared outside lib/defaults/defaults.ts", () => {
  const outside = sourceModules()
    .filter((path) => path !== DEFAULTS && !path.startsWith(BROWSER))
    .flatMap((path) =>
      declaredConstants(Deno.readTextFileSync(new URL(path, ROOT)))
        .filter((name) => BOUND_NAME.test(name) && !FORMAT_FACTS.has(`${path} ${name}`))
        .map((name) => `${path} declares ${name}`)
    );
  assert.deepEqual(outside, [], `move them to ${DEFAULTS}, with their JSDoc`);
});

Deno.test("the defaults module imports nothing, and constCS.ts is exactly it", () => {
  const source = Deno.readTextFileSync(new URL(DEFAULTS, ROOT));
  assert.doesNotMatch(source, /^\s*(?:import|export\s.*\sfrom)\b/m);
  assert.deepEqual({ ...constCS }, { ...defaults });
  // The course's names stay.
  assert.equal(constCS.MAX_NUM_CLIENT_CONNECTIONS_TO_SERVER, 10);
  assert.equal(`${constCS.HOST}:${constCS.PORT}`, "127.0.0.1:50073");
  // The server's defaults are a whole set of its options (a type error otherwise).
  const options: ServerOptions = { ...defaults.DEFAULT_SERVER_OPTIONS };
  assert.equal(options.maxClients, defaults.MAX_NUM_CLIENT_CONNECTIONS_TO_SERVER);
});

Deno.test("every flag a default's documentation names is a flag of a command", () => {
  const flags = new Set(
    [SERVER_COMMAND, NODE_COMMAND, CLIENT_COMMAND, DEMO_COMMAND, LESSONS_COMMAND]
      .flatMap((command) => Object.keys(command.flags)),
  );
  const named = Deno.readTextFileSync(new URL(DEFAULTS, ROOT)).matchAll(/`--([a-z-]+)/g);
  const unknown = [...named].map((m) => m[1]).filter((flag) => !flags.has(flag));
  assert.deepEqual(unknown, []);
});
