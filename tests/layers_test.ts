/**
 * The layers of `lib/`: each folder may import only the folders below it, as
 * listed here, so that the folders form no cycle and a module never loads
 * what sits above it (the wire never loads the server; the server never loads
 * the fleet: the composition root, `server.ts`, plugs the fleet in).
 */
import assert from "node:assert/strict";

/** Each folder of `lib/`, lowest first, with the folders it may import. */
const LAYERS: Record<string, string[]> = {
  defaults: [],
  cli: ["defaults"],
  counter: ["defaults"],
  wire: ["defaults", "counter"],
  client: ["defaults", "cli", "wire"],
  pool: ["defaults"],
  server: ["defaults", "cli", "counter", "wire", "pool"],
  fleet: ["defaults", "cli", "wire", "pool", "server"],
  observe: ["defaults", "wire", "server", "fleet"],
  lessons: ["defaults", "cli", "counter", "client", "server"],
  demo: ["defaults", "cli", "client", "server", "observe"],
};

/**
 * Modules at the top of the repository that `lib/` may load: the Worker. (`constCS.ts`
 * re-exports `lib/defaults/`, so `lib/` imports its defaults from there.)
 */
const ROOT_MODULES = ["worker.ts"];

const LIB = new URL("../lib/", import.meta.url);

/** Every module under `lib/`, nested ones too, as `folder/…/name.ts` (or `.js`). */
function libModules(): string[] {
  const modules: string[] = [];
  const walk = (dir: string) => {
    for (const entry of Deno.readDirSync(new URL(dir, LIB))) {
      if (entry.isDirectory) walk(`${dir}${entry.name}/`);
      else if (entry.isFile && /\.[jt]s$/.test(entry.name)) modules.push(`${dir}${entry.name}`);
    }
  };
  for (const folder of Deno.readDirSync(LIB)) {
    if (folder.isDirectory) walk(`${folder.name}/`);
  }
  return modules.sort();
}

/** The relative modules a source loads: static and dynamic imports, and module URLs. */
export function relativeImports(source: string): string[] {
  const pattern =
    /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\bnew\s+URL\s*\(\s*)["'](\.{1,2}\/[^"'?#]*)/g;
  return [...source.matchAll(pattern)].map((match) => match[1]);
}

/** Where each module's relative imports land: `lib` folders, or files at the top. */
function importsByModule(): { from: string; folder: string; to: string }[] {
  const found = [];
  for (const module of libModules()) {
    const url = new URL(module, LIB);
    for (const specifier of relativeImports(Deno.readTextFileSync(url))) {
      const target = new URL(specifier, url);
      const path = target.pathname.slice(new URL("..", LIB).pathname.length);
      // A module's layer is its top folder under lib/, however deep it sits.
      found.push({ from: module, folder: module.split("/")[0], to: path });
    }
  }
  return found;
}

Deno.test("relativeImports() finds static and dynamic imports and module URLs", () => {
  const source = [
    'import { a } from "./a.ts";',
    'import type { B } from "../b/b.ts";',
    'export { c } from "./c.ts";',
    'import "./side.ts";',
    'const d = await import("../d/d.ts");',
    'new Worker(new URL("../../worker.ts?x=1", import.meta.url));',
    'import assert from "node:assert/strict";',
    '// a comment that says from "./nothing" is still read: keep such text out of lib',
  ].join("\n");
  assert.deepEqual(relativeImports(source), [
    "./a.ts",
    "../b/b.ts",
    "./c.ts",
    "./side.ts",
    "../d/d.ts",
    "../../worker.ts",
    "./nothing",
  ]);
});

Deno.test("the layers of lib/ form no cycle, and every folder is placed in them", () => {
  const folders = [...Deno.readDirSync(LIB)].filter((e) => e.isDirectory).map((e) => e.name);
  assert.deepEqual(folders.toSorted(), Object.keys(LAYERS).toSorted(), "a folder has no layer");
  const order = Object.keys(LAYERS);
  for (const [folder, allowed] of Object.entries(LAYERS)) {
    for (const below of allowed) {
      assert.ok(order.indexOf(below) < order.indexOf(folder), `${folder} may import ${below}`);
    }
  }
});

Deno.test("every module of lib/ imports only its own folder, the layers below it, and the root's Worker", () => {
  const forbidden = importsByModule().filter(({ folder, to }) => {
    const [top, target] = to.split("/");
    if (top !== "lib") return !ROOT_MODULES.includes(to);
    return target !== folder && !LAYERS[folder].includes(target);
  });
  assert.deepEqual(
    forbidden.map(({ from, to }) => `${from} imports ${to}`),
    [],
    "imports that go up or sideways through the layers",
  );
});
