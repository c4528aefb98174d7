/**
 * `deno task demo`: a server and three clients at once, their output
 * interleaved as it happens. `deno task demo --hold` keeps the server and
 * its live dashboard running afterwards, until Ctrl-C, and says how to join.
 *
 * @module
 */
import { DASHBOARD_PORT } from "./constCS.ts";
import { readCommandLine } from "./lib/cli/flags.ts";
import { listenForStopSignals } from "./lib/cli/stop_signals.ts";
import { runDemo } from "./lib/demo/demo.ts";
import { DEMO_COMMAND } from "./lib/demo/demo_cli.ts";
import { serverOptions } from "./lib/server/server_cli.ts";

if (import.meta.main) {
  const { flags } = readCommandLine(DEMO_COMMAND, Deno.args);
  const server = serverOptions(flags);
  if (flags.hold) {
    // Ctrl-C stops the demo cleanly (its copies are the same request); pressed again, at once.
    const stop = new AbortController();
    using _signals = listenForStopSignals({ onStop: (signal) => stop.abort(signal) });
    await runDemo({
      server,
      dashboard: { port: flags.dashboard ?? DASHBOARD_PORT },
      holdUntil: stop.signal,
    });
  } else {
    await runDemo({ server });
    console.log(
      "[demo]     to keep the server and its live dashboard running, and join them from " +
        "other terminals: deno task demo --hold",
    );
  }
}
