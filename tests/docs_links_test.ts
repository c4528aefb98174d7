/**
 * README.md and docs/*.md lead somewhere: every relative link names a file that exists (and a
 * heading of it, after `#`), and every path of the repository they name exists.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);

/** README.md and every page under docs/, as paths from the root. */
function pages(): string[] {
  const docs = [...Deno.readDirSync(new URL("docs/", ROOT))]
    .filter((entry) => entry.isFile && entry.name.endsWith(".md"))
    .map((entry) => `docs/${entry.name}`);
  return ["README.md", "BENCHMARKS.md", ...docs.sort()];
}

/** The anchors of a Markdown page's headings, as GitHub makes them (`## Step 2: the race` → `step-2-the-race`). */
export function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  let fenced = false;
  for (const line of markdown.split("\n")) {
    if (line.startsWith("```")) fenced = !fenced;
    const heading = !fenced && /^#{1,6} +(.*)$/.exec(line);
    if (!heading) continue;
    const base = heading[1].trim().toLowerCase()
      .replace(/[^\p{L}\p{N} _-]/gu, "")
      .replace(/ /g, "-");
    let anchor = base;
    for (let n = 1; anchors.has(anchor); n++) anchor = `${base}-${n}`;
    anchors.add(anchor);
  }
  return anchors;
}

/** The targets of a page's links and images that point inside the repository. */
export function relativeLinks(markdown: string): string[] {
  const outside = markdown.replace(/^```[\s\S]*?^```/gm, "");
  return [...outside.matchAll(/!?\[[^\]]*\]\(([^)\s]+)\)/g)]
    .map((match) => match[1])
    .filter((target) => !/^[a-z]+:/i.test(target));
}

/** Paths of the repository a page names (`lib/wire/replies.ts`, `deploy/haproxy.cfg`, …). */
export function repositoryPaths(markdown: string): string[] {
  const pattern = /(?<=^|[\s`(=])((?:lib|tests|bench|deploy|docs|\.ci)\/[\w./*-]*)/gm;
  return [...markdown.matchAll(pattern)]
    .map((match) => match[1].replace(/[.:,]+$/, ""))
    .filter((path) => !path.includes("*"));
}

function exists(url: URL): boolean {
  try {
    Deno.statSync(url);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

Deno.test("headingAnchors() and relativeLinks() read Markdown as GitHub does", () => {
  assert.deepEqual(
    [...headingAnchors(
      "# A page\n## Step 2: the race\n```\n# not a heading\n```\n## `--bench` flags\n## Step 2: the race",
    )],
    ["a-page", "step-2-the-race", "--bench-flags", "step-2-the-race-1"],
  );
  assert.deepEqual(
    relativeLinks("[a](b.md#c) ![x\ny](d.png) [e](https://f) [g](#h)\n```\n[i](j.md)\n```"),
    ["b.md#c", "d.png", "#h"],
  );
  assert.deepEqual(
    repositoryPaths("see `lib/wire/replies.ts`, and\ndeploy/haproxy.cfg. /tmp/lib/x bench/*.ts"),
    ["lib/wire/replies.ts", "deploy/haproxy.cfg"],
  );
});

Deno.test("every relative link and anchor in README.md and docs/*.md leads somewhere", async (t) => {
  for (const page of pages()) {
    const pageUrl = new URL(page, ROOT);
    const markdown = await Deno.readTextFile(pageUrl);
    await t.step(page, () => {
      const broken: string[] = [];
      for (const link of relativeLinks(markdown)) {
        const [file, anchor] = link.split("#", 2);
        const target = file === "" ? pageUrl : new URL(file, pageUrl);
        if (!exists(target)) {
          broken.push(`${link}: no such file`);
        } else if (anchor !== undefined) {
          if (!target.pathname.endsWith(".md")) {
            broken.push(`${link}: an anchor in a file that is not Markdown`);
          } else if (!headingAnchors(Deno.readTextFileSync(target)).has(anchor)) {
            broken.push(`${link}: no heading makes #${anchor}`);
          }
        }
      }
      assert.deepEqual(broken, [], `${page} has broken links`);
    });
  }
});

Deno.test("every path of the repository that README.md and docs/*.md name exists", async (t) => {
  for (const page of pages()) {
    const markdown = await Deno.readTextFile(new URL(page, ROOT));
    await t.step(page, () => {
      const missing = repositoryPaths(markdown).filter((path) => !exists(new URL(path, ROOT)));
      assert.deepEqual(missing, [], `${page} names paths that do not exist`);
    });
  }
});
