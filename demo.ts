/**
 * `deno task demo`: a server and three clients at once, their output
 * interleaved as it happens. `deno task demo --hold` keeps the server and
 * its live dashboard running afterwards, until Ctrl-C, and says how to join.
 *
 * @module
 */
import { DASHBOARD_PORT, PORT } from "./constCS.ts";
import { runDemo } from "./lib/demo/demo.ts";
import { parseServerArgs, SERVER_USAGE, UsageError } from "./lib/server/server_cli.ts";
import { exitCodeFor, listenForStopSignals } from "./lib/cli/stop_signals.ts";

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
      "Usage: deno task demo [--hold] [server flags]\n\n" +
        "  --hold   keep the server and its live dashboard running after the demo, until\n" +
        "           Ctrl-C, and print the commands that join them from other terminals.\n" +
        `           The server prefers port ${PORT} and the dashboard ${DASHBOARD_PORT};\n` +
        "           a taken port is replaced by a free one.\n\n" +
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
  if (commandLine.dashboardPort !== undefined && !hold) {
    console.error(
      "threadcount demo: --dashboard goes with --hold (the demo alone ends in about a second): " +
        `deno task demo --hold --dashboard ${commandLine.dashboardPort}`,
    );
    Deno.exit(2);
  }
  if (hold) {
    // Ctrl-C stops the demo cleanly (its copies are the same request); pressed again, at once.
    const stop = new AbortController();
    using _signals = listenForStopSignals({
      onStop: (signal) => stop.abort(signal),
      onForce: (signal) => Deno.exit(exitCodeFor(signal)),
    });
    await runDemo({
      server: commandLine.options,
      dashboard: { port: commandLine.dashboardPort ?? DASHBOARD_PORT },
      holdUntil: stop.signal,
    });
  } else {
    // The demo lives about a second: a dashboard would be gone before a browser opened it.
    await runDemo({ server: commandLine.options });
    console.log(
      "[demo]     to keep the server and its live dashboard running, and join them from " +
        "other terminals: deno task demo --hold",
    );
  }
}
