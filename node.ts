/**
 * A threadcount worker node: runs a server's increments on this machine's
 * cores, reached through NATS. `deno task node --help` lists its flags.
 *
 * @module
 */
import { runNode } from "./lib/fleet/node_cli.ts";

if (import.meta.main) {
  const stop = new AbortController();
  let signals = 0;
  const onSignal = (name: string) => {
    if (++signals > 1) Deno.exit(130);
    console.error(`threadcount node: ${name}, stopping (press Ctrl-C again to exit at once)`);
    stop.abort(name);
  };
  Deno.addSignalListener("SIGINT", () => onSignal("SIGINT"));
  Deno.addSignalListener("SIGTERM", () => onSignal("SIGTERM"));
  const code = await runNode(Deno.args, {
    log: (line) => console.error(line),
    signal: stop.signal,
    hostname: () => Deno.hostname(),
  });
  Deno.exit(code);
}
