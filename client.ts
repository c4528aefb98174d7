/**
 * The threadcount client. `deno task client --help` shows how to use it.
 *
 * @module
 */
import { runClient } from "./lib/client/client_cli.ts";
import { terminalProgress } from "./lib/client/progress_bar.ts";
import { writeAll } from "./lib/wire/write_all.ts";

if (import.meta.main) {
  const write = (stream: typeof Deno.stdout) => (text: string) => writeAll(stream, text);
  const code = await runClient(Deno.args, {
    stdin: Deno.stdin,
    stdinIsTerminal: Deno.stdin.isTerminal(),
    stdoutIsTerminal: Deno.stdout.isTerminal(),
    out: write(Deno.stdout),
    err: write(Deno.stderr),
    progress: terminalProgress,
  });
  Deno.exit(code);
}
