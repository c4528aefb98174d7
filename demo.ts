/**
 * `deno task demo`: a server and three clients at once, their output
 * interleaved as it happens, with the live dashboard on.
 *
 * @module
 */
import { runDemo } from "./lib/demo.ts";
import { parseServerArgs, SERVER_USAGE, UsageError } from "./lib/server_cli.ts";

if (import.meta.main) {
  let commandLine;
  try {
    commandLine = parseServerArgs(Deno.args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`threadcount demo: ${error.message}`);
    Deno.exit(2);
  }
  if (commandLine.help) {
    console.log(
      "deno task demo [--hold] [server flags]\n\n" +
        "  --hold   keep the server and dashboard running after the demo, until Ctrl-C\n\n" +
        SERVER_USAGE,
    );
    Deno.exit(0);
  }
  if (commandLine.tracePath) {
    console.error(
      "threadcount demo: --trace is the server's: deno task server --trace traces/run.json",
    );
    Deno.exit(2);
  }
  const hold = new AbortController();
  if (commandLine.hold) Deno.addSignalListener("SIGINT", () => hold.abort());
  await runDemo({
    server: { port: 0, ...commandLine.options },
    dashboard: { port: commandLine.dashboardPort ?? 8080 },
    holdUntil: commandLine.hold ? hold.signal : undefined,
  });
  Deno.exit(0);
}
