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
      // Whoever read the output is gone (`| head -1`), or it cannot take more (a full disk):
      // nothing more can be shown.
      const why = error instanceof Deno.errors.BrokenPipe
        ? "the output was closed"
        : `the output cannot be written (${(error as Error).message})`;
      if (stream === Deno.stdout) {
        await writeAll(Deno.stderr, `threadcount client: ${why}; stopping\n`).catch(() => {});
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
