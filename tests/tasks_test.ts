/**
 * The tasks of `deno.json` run on every platform `deno task` runs on: none needs a POSIX shell.
 * The server's task cannot ask `ulimit -n` then, so the descriptor check at start-up runs when
 * `--open-file-limit` is given, and the server says nothing it does not know otherwise.
 */
import assert from "node:assert/strict";
import { LineReader, streamSource } from "../lib/wire/line_reader.ts";
import { Child, denoTaskFlags, ROOT } from "./_child.ts";

/** What `deno task`'s own shell does not need `sh` for, but a task must not lean on. */
const SHELL_CONSTRUCTS = [
  { name: "command substitution", pattern: /\$\(|`/ },
  { name: "a pipe", pattern: /(?<!\|)\|(?!\|)/ },
  { name: "a shell", pattern: /\b(?:sh|bash|zsh|cmd|powershell)\b/ },
];

/** Every task's command line, by name. */
function tasks(): [string, string][] {
  const config = JSON.parse(Deno.readTextFileSync(new URL("deno.json", ROOT)));
  return Object.entries(config.tasks).map(([name, task]) => [
    name,
    typeof task === "string" ? task : (task as { command: string }).command,
  ]);
}

Deno.test("no task of deno.json runs a shell, substitutes a command or pipes", () => {
  const found = tasks().flatMap(([name, command]) =>
    SHELL_CONSTRUCTS.filter(({ pattern }) => pattern.test(command)).map((construct) =>
      `${name}: ${construct.name} in ${command}`
    )
  );
  assert.deepEqual(found, []);
  // The patterns see what they are meant to see.
  const old = 'deno run server.ts --open-file-limit $(sh -c "ulimit -n")';
  assert.ok(SHELL_CONSTRUCTS.every(({ pattern }) => !pattern.test("deno install && deno test")));
  assert.ok(SHELL_CONSTRUCTS.some(({ pattern }) => pattern.test(old)));
  assert.ok(SHELL_CONSTRUCTS.some(({ pattern }) => pattern.test("deno run x.ts | tee log")));
});

/** Starts `server.ts` as its task does, with `args`; stops it once listening; returns its log. */
async function serverLog(args: string[]): Promise<string[]> {
  await using child = new Child(Deno.execPath(), {
    name: `the server task ${args.join(" ")}`,
    args: ["run", ...denoTaskFlags("server", "server.ts"), "server.ts", ...args],
  });
  const log = new LineReader(streamSource(child.process.stdout), { maxLineBytes: 1 << 16 });
  const stderr = new Response(child.process.stderr).text();
  const lines: string[] = [];
  for (let event = await log.next(); event.kind === "line"; event = await log.next()) {
    lines.push(event.text);
    if (/ listening on /.test(event.text)) child.kill("SIGTERM");
  }
  assert.equal((await child.status).code, 0, await stderr);
  return lines;
}

Deno.test("the server task checks the descriptor limit it is given, and claims none it is not", async () => {
  const args = ["--port", "0", "--workers", "1", "--max-clients", "400"];
  const notice = /the limit on open files is 200, below the about \d+ that --max-clients 400/;
  const given = await serverLog([...args, "--open-file-limit", "200"]);
  assert.ok(given.some((line) => notice.test(line)), given.join("\n"));
  const unknown = await serverLog(args);
  assert.ok(unknown.some((line) => / stopped$/.test(line)), unknown.join("\n"));
  assert.deepEqual(unknown.filter((line) => /limit on open files/.test(line)), []);
});
