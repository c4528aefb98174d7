/**
 * `deno task demo`: a server and three clients at once, their output
 * interleaved as it happens, with the live dashboard on.
 *
 * @module
 */
import { DASHBOARD_PORT } from "./constCS.ts";
import { runDemo } from "./lib/demo/demo.ts";
import { parseServerArgs, SERVER_USAGE, UsageError } from "./lib/server/server_cli.ts";

if (import.meta.main) {
  // --hold is the demo's own flag; every other flag is the server's.
  const hold = Deno.args.includes("--hold");
  let commandLine;
  try {
    commandLine = parseServerArgs(Deno.args.filter((arg) => arg !== "--hold"));
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
  const holding = new AbortController();
  if (hold) Deno.addSignalListener("SIGINT", () => holding.abort());
  await runDemo({
    server: { port: 0, ...commandLine.options },
    dashboard: { port: commandLine.dashboardPort ?? DASHBOARD_PORT },
    holdUntil: hold ? holding.signal : undefined,
  });
  Deno.exit(0);
}
