/**
 * A threadcount worker node: runs a server's increments on this machine's
 * cores, reached through NATS. `deno task node --help` lists its flags.
 *
 * @module
 */
import { listenForStopSignals } from "./lib/cli/stop_signals.ts";
import { runNode } from "./lib/fleet/node_cli.ts";

if (import.meta.main) {
  const stop = new AbortController();
  // As the server does: the copies of one Ctrl-C (terminal and deno task) are one stop, so the
  // node says goodbye and its batches go elsewhere at once; pressing again exits at once.
  using _signals = listenForStopSignals({
    onStop: (name) => {
      console.error(`threadcount node: ${name}, stopping (press Ctrl-C again to exit at once)`);
      stop.abort(name);
    },
  });
  const code = await runNode(Deno.args, {
    log: (line) => console.error(line),
    out: (text) => console.log(text),
    signal: stop.signal,
    hostname: () => Deno.hostname(),
    env: (name) => {
      try {
        return Deno.env.get(name);
      } catch {
        return undefined; // not allowed: deno task node allows THREADCOUNT_NATS_URL
      }
    },
  });
  Deno.exit(code);
}
