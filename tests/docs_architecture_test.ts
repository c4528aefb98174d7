/**
 * docs/architecture.md's table of layers is the one `tests/layers_test.ts` enforces: a folder
 * and the folders it may import, row for row.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);

/** `folder: ["a", "b"],` lines of the `LAYERS` table in layers_test.ts's source. */
function enforcedLayers(source: string): Record<string, string[]> {
  const block = /const LAYERS[^{]*\{([^}]*)\}/.exec(source);
  if (!block) throw new Error("tests/layers_test.ts has no LAYERS table");
  const layers: Record<string, string[]> = {};
  for (const [, folder, imports] of block[1].matchAll(/(\w+): \[([^\]]*)\]/g)) {
    layers[folder] = [...imports.matchAll(/"(\w+)"/g)].map((match) => match[1]);
  }
  return layers;
}

/** The `| \`folder\` | \`a\`, \`b\` |` rows of the page's table of layers. */
function documentedLayers(markdown: string): Record<string, string[]> {
  const layers: Record<string, string[]> = {};
  for (const line of markdown.split("\n")) {
    const row = /^\| `(\w+)` +\| (.*?) +\|$/.exec(line);
    if (!row) continue;
    layers[row[1]] = row[2] === "nothing" ? [] : [...row[2].matchAll(/`(\w+)`/g)].map((m) => m[1]);
  }
  return layers;
}

Deno.test("docs/architecture.md's layers are the ones tests/layers_test.ts enforces", async () => {
  const enforced = enforcedLayers(
    await Deno.readTextFile(new URL("tests/layers_test.ts", ROOT)),
  );
  assert.ok(Object.keys(enforced).length >= 5, "read the LAYERS table");
  assert.deepEqual(
    documentedLayers(await Deno.readTextFile(new URL("docs/architecture.md", ROOT))),
    enforced,
  );
});
