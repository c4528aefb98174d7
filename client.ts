/**
 * The threadcount client. `deno task client --help` shows how to use it.
 *
 * @module
 */
import { EXIT, runClient } from "./lib/client/client_cli.ts";
import { terminalProgress } from "./lib/client/progress_bar.ts";
import { writeAll } from "./lib/wire/write_all.ts";

if (import.meta.main) {
  const write = (stream: typeof Deno.stdout) => async (text: string) => {
    try {
      await writeAll(stream, text);
    } catch (error) {
      if (!(error instanceof Deno.errors.BrokenPipe)) throw error;
      // Whoever read the output is gone (`| head -1`): nothing more can be shown.
      if (stream === Deno.stdout) {
        await writeAll(Deno.stderr, "threadcount client: the output was closed; stopping\n")
          .catch(() => {});
      }
      Deno.exit(EXIT.badInput);
    }
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
