/**
 * The threadcount server. `deno task server --help` lists its flags.
 *
 * @module
 */
import { EventLog } from "./lib/event_log.ts";
import { parseServerArgs, SERVER_USAGE, UsageError } from "./lib/server_cli.ts";
import { ServerEvents } from "./lib/server_events.ts";
import { ThreadcountServer } from "./lib/threadcount_server.ts";

if (import.meta.main) {
  let commandLine;
  try {
    commandLine = parseServerArgs(Deno.args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`threadcount server: ${error.message}`);
    Deno.exit(2);
  }
  if (commandLine.help) {
    console.log(SERVER_USAGE);
    Deno.exit(0);
  }
  const shutdown = new AbortController();
  let signals = 0;
  const onSignal = (name: string) => {
    if (++signals > 1) {
      console.error(`threadcount server: second ${name}, exiting at once`);
      Deno.exit(130);
    }
    console.error(
      `threadcount server: ${name}, shutting down (press Ctrl-C again to exit at once)`,
    );
    shutdown.abort(name);
  };
  Deno.addSignalListener("SIGINT", () => onSignal("SIGINT"));
  Deno.addSignalListener("SIGTERM", () => onSignal("SIGTERM"));

  const events = new ServerEvents();
  const log = new EventLog({ quiet: commandLine.quiet, verbose: commandLine.verbose });
  events.subscribe((event) => log.print(event));
  let server;
  try {
    server = new ThreadcountServer({ ...commandLine.options, signal: shutdown.signal }, events);
  } catch (error) {
    const { hostname = "127.0.0.1", port = 50073 } = commandLine.options;
    if (error instanceof Deno.errors.AddrInUse) {
      console.error(
        `threadcount server: ${hostname}:${port} is in use: is another server running? ` +
          "stop it, or pick another port with --port",
      );
    } else if (
      error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied
    ) {
      console.error(
        `threadcount server: not allowed to listen on ${hostname}: ${(error as Error).message}\n` +
          `  deno task server allows 127.0.0.1 only; to listen elsewhere run ` +
          `deno run --allow-net=${hostname} --allow-read=. server.ts --host ${hostname}`,
      );
    } else {
      console.error(`threadcount server: cannot start: ${(error as Error).message}`);
    }
    Deno.exit(1);
  }
  await server.finished;
  log.flush();
  Deno.exit(0);
}
