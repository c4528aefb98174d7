/**
 * The threadcount client. `deno task client --help` shows how to use it.
 *
 * @module
 */
import { runClient } from "./lib/client_cli.ts";
import { terminalProgress } from "./lib/progress_bar.ts";

if (import.meta.main) {
  const encoder = new TextEncoder();
  const write = (stream: typeof Deno.stdout) => async (text: string) => {
    let bytes = encoder.encode(text);
    while (bytes.length > 0) bytes = bytes.subarray(await stream.write(bytes));
  };
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
