/**
 * `deno task demo`: a server and three clients at once, their output
 * interleaved as it happens.
 *
 * @module
 */
import { runDemo } from "./lib/demo.ts";
import { parseServerArgs, SERVER_USAGE, UsageError } from "./lib/server_cli.ts";

if (import.meta.main) {
  try {
    const { options, help } = parseServerArgs(Deno.args);
    if (help) {
      console.log(`deno task demo takes the server's flags:\n\n${SERVER_USAGE}`);
      Deno.exit(0);
    }
    await runDemo({ server: { port: 0, ...options } });
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`threadcount demo: ${error.message}`);
    Deno.exit(2);
  }
}
