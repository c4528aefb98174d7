/**
 * The threadcount server. `deno task server --help` lists its flags.
 *
 * @module
 */
import { HOST, PORT, WORKERS } from "./constCS.ts";
import { serveDashboard } from "./lib/observe/dashboard/dashboard_server.ts";
import { EventLog } from "./lib/observe/event_log.ts";
import { SERVER_COMMAND, serverCommandLine } from "./lib/server/server_cli.ts";
import { ServerEvents } from "./lib/server/server_events.ts";
import { ThreadcountServer } from "./lib/server/threadcount_server.ts";
import { TraceWriter } from "./lib/observe/trace/trace_writer.ts";
import { readCommandLine } from "./lib/cli/flags.ts";
import { exitCodeFor, listenForStopSignals, type StopSignal } from "./lib/cli/stop_signals.ts";

/** Explains an error the user can fix, and exits. */
function fail(message: string): never {
  console.error(`${SERVER_COMMAND.name}: ${message}`);
  Deno.exit(1);
}

/** Says what to do about an error from listening on an address. */
function explainListenError(error: unknown, what: string, host: string, port: number): string {
  if (error instanceof Deno.errors.AddrInUse) {
    const flag = what === "dashboard" ? "--dashboard PORT" : "--port PORT";
    return `${host}:${port} is in use, for the ${what}: is another one running? Stop it, or ` +
      `pick another port with ${flag} (0: any free one). (If you just stopped one, its closed ` +
      "connections may hold the port for up to a minute.)";
  }
  if (error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied) {
    return `not allowed to listen on ${host} for the ${what}. deno task server allows ` +
      `127.0.0.1 only; to listen on ${host} run: deno run -q -P=worker --allow-net=${host} ` +
      `server.ts --host ${host}`;
  }
  return `cannot start the ${what}: ${(error as Error).message}`;
}

if (import.meta.main) {
  const commandLine = serverCommandLine(readCommandLine(SERVER_COMMAND, Deno.args).flags);
  const shutdown = new AbortController();
  let forcedExit: (signal: StopSignal) => void = (signal) => Deno.exit(exitCodeFor(signal));
  const signals = listenForStopSignals({
    onStop: (signal) => {
      console.error(
        `threadcount server: ${signal}, shutting down (press Ctrl-C again to exit at once)`,
      );
      shutdown.abort(signal);
    },
    onForce: (signal) => forcedExit(signal),
  });

  const events = new ServerEvents();
  let server: ThreadcountServer | undefined;
  const log = new EventLog({
    quiet: commandLine.quiet,
    verbose: commandLine.verbose,
    tasksDone: () => server?.stats().tasks_done ?? 0,
    laneName: (worker) => server?.laneNames()[worker] ?? `worker ${worker}`,
  });
  const logging = events.subscribe((event) => log.print(event), {
    tasks: () => log.wantsTaskEvents(),
  });
  const { hostname = HOST, port = PORT, workers = WORKERS } = commandLine.options;

  let trace: TraceWriter | undefined;
  if (commandLine.tracePath) {
    try {
      const say = (message: string) => events.emit({ type: "notice", at: Date.now(), message });
      trace = await TraceWriter.open(commandLine.tracePath, {
        workers,
        // Remote Workers of the fleet are lanes too: one thread each, named `node/worker k`.
        laneName: (index) => server?.laneNames()[index] ?? `worker ${index}`,
        maxBytes: commandLine.traceMaxBytes,
        onDropped: (count) => say(`trace: ${count} increments dropped, the disk could not keep up`),
        onStopped: (reason) => say(`trace: ${reason}`),
      });
    } catch (error) {
      fail(
        `cannot write the trace to ${commandLine.tracePath}: ${(error as Error).message}. ` +
          "deno task server may write under traces/ (e.g. --trace traces/run.json); elsewhere, " +
          `run it with --allow-write=${commandLine.tracePath}`,
      );
    }
    events.subscribe((event) => trace!.hear(event), { tasks: () => trace!.active });
  }

  let nats;
  let remoteWorkers;
  if (commandLine.natsUrl !== undefined) {
    try {
      // Loaded only for a fleet: the NATS client would cost every server about 10 MB.
      const { connectNats } = await import("./lib/fleet/nats_connection.ts");
      const { fleetWorkers } = await import("./lib/fleet/server_fleet.ts");
      nats = await connectNats(commandLine.natsUrl, {
        credsFile: commandLine.natsCreds,
        name: "threadcount server",
      });
      remoteWorkers = fleetWorkers(nats, { waitMs: commandLine.fleetWaitMs });
    } catch (error) {
      fail((error as Error).message);
    }
  }
  try {
    server = new ThreadcountServer(
      { ...commandLine.options, remoteWorkers, signal: shutdown.signal },
      events,
    );
  } catch (error) {
    fail(explainListenError(error, "server", hostname, port));
  }
  // A second signal: say so, keep what the log and the trace hold, and go.
  forcedExit = (signal) => {
    const inFlight = server!.stats().requests_in_flight;
    events.emit({ type: "forced-exit", at: Date.now(), reason: `second ${signal}`, inFlight });
    // The log's last word is the line above: what happens while the trace completes is not shown.
    logging[Symbol.dispose]();
    log.flush();
    try {
      trace?.closeNow(); // what it holds, and the closing bracket: the file stays valid JSON
    } catch { /* the disk failed; the file is readable up to its last whole line */ }
    Deno.exit(exitCodeFor(signal));
  };
  if (commandLine.dashboardPort !== undefined) {
    try {
      const dashboard = serveDashboard(server, { port: commandLine.dashboardPort });
      console.log(`dashboard: ${dashboard.url}`);
    } catch (error) {
      shutdown.abort("the dashboard could not start");
      await server.finished;
      fail(explainListenError(error, "dashboard", HOST, commandLine.dashboardPort));
    }
  }
  await server.finished;
  await nats?.close();
  log.flush();
  if (trace) {
    const count = await trace.close();
    console.log(`trace: ${count} increments written to ${commandLine.tracePath}`);
  }
  // Nothing is left to keep the process alive: it ends, with exit code 0.
  signals[Symbol.dispose]();
}
