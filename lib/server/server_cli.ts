/**
 * The server's command line: flags to {@linkcode ServerOptions}, with
 * messages that say what was expected.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { DASHBOARD_PORT, FLEET_WAIT_SECONDS, HOST, TRACE_MAX_MB } from "../../constCS.ts";
import { DEFAULT_SERVER_OPTIONS, type ServerOptions } from "./server_options.ts";
import { parseCounterModel, parseWorkerModel } from "../counter/counter_model.ts";

/** What the command line asks for. */
export interface ServerCommandLine {
  options: Partial<ServerOptions>;
  /** Port of the live dashboard, when `--dashboard` is given. */
  dashboardPort?: number;
  /** Where to write a trace, when `--trace` is given. */
  tracePath?: string;
  /** Most megabytes of trace before tracing stops. */
  traceMaxMb: number;
  /** The fleet's NATS broker, when `--nats` is given. */
  natsUrl?: string;
  /** A NATS `.creds` file, when `--nats-creds` is given. */
  natsCreds?: string;
  /** With `--workers 0`, how long a request waits for a worker node, in ms (`--fleet-wait`). */
  fleetWaitMs?: number;
  quiet: boolean;
  verbose: boolean;
  help: boolean;
}

/** Thrown for a command line that cannot be used; the message says what to type instead. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** The `--help` text. */
export const SERVER_USAGE = `Usage: deno task server [flags]

  --host HOST                 address to listen on (default ${DEFAULT_SERVER_OPTIONS.hostname};
                              0.0.0.0 lets every machine that can reach this one connect)
  --port PORT                 TCP port, 0 for any free one (default ${DEFAULT_SERVER_OPTIONS.port})
  --max-clients N             clients served at once; others wait in line (default ${DEFAULT_SERVER_OPTIONS.maxClients})
  --max-waiting N             clients that may wait; more get ERR busy (default ${DEFAULT_SERVER_OPTIONS.maxWaiting})
  --workers N                 Worker threads (default: the number of CPUs, ${DEFAULT_SERVER_OPTIONS.workers} here)
  --min-units N               fewest work units per increment (default ${DEFAULT_SERVER_OPTIONS.minUnits})
  --max-units N               most work units per increment (default ${DEFAULT_SERVER_OPTIONS.maxUnits})
  --iterations-per-unit N     additions per work unit (default ${DEFAULT_SERVER_OPTIONS.iterationsPerUnit})
  --max-increments N          largest <increments> of a request (default ${DEFAULT_SERVER_OPTIONS.maxIncrements})
  --max-line-bytes N          longest request line (default ${DEFAULT_SERVER_OPTIONS.maxLineBytes})
  --read-ahead-bytes N        most input read ahead of the request being served, so that a
                              client that pipelines and hangs up is seen at once (default ${DEFAULT_SERVER_OPTIONS.readAheadBytes})
  --idle-timeout SECONDS      while others wait, close a client that sends no request with work
                              (STATS, PROGRESS, empty lines and 0 0 do not count) or leaves a
                              reply unread this long (default ${
  DEFAULT_SERVER_OPTIONS.idleTimeoutMs / 1000
})
  --max-request-seconds N     refuse a request whose work would keep every Worker busy longer,
                              estimated before it starts: ERR too-much-work (default ${DEFAULT_SERVER_OPTIONS.maxRequestSeconds})
  --grace SECONDS             time requests get to finish on shutdown (default ${
  DEFAULT_SERVER_OPTIONS.graceMs / 1000
})
  --seed N                    seed the work-unit generator: runs repeat exactly
  --counter MODEL             the counter of each request (a client may send COUNTER MODEL):
                              parallel (right and parallel), racy (the original's race: updates
                              are lost) or locked (right, but the Workers take turns)
                              (default ${DEFAULT_SERVER_OPTIONS.counterModel})
  --model pool|per-increment  a pool of Workers started once, or a new Worker per increment
                              as the original did (default ${DEFAULT_SERVER_OPTIONS.workerModel})
  --open-file-limit N         the limit on open files (ulimit -n) to check --max-clients and
                              --max-waiting against at start-up; deno task server passes it
  --dashboard [PORT]          serve a live dashboard at http://${HOST}:PORT/ (default ${DASHBOARD_PORT})
  --trace FILE                write a Chrome/Perfetto trace of every increment to FILE, at
                              least every 250 ms (deno task server may write under traces/)
  --trace-max-mb N            stop tracing, with one log line, when the file reaches N MB
                              (default ${TRACE_MAX_MB})
  --nats URL                  also count on the worker nodes of this NATS broker (deno task
                              node); credentials may ride in it: nats://USER:PASSWORD@HOST:4222
                              or nats://TOKEN@HOST:4222 (see the README, "Many machines")
  --nats-creds FILE           a NATS .creds file, for brokers that ask for one
  --fleet-wait SECONDS        with --workers 0, how long a request waits for a node before
                              ERR no-workers (default ${FLEET_WAIT_SECONDS})
  --quiet                     log only start-up, errors and shutdown
  --verbose                   log every event, however fast they come
  --help                      show this text
`;

/**
 * Parses the server's flags.
 *
 * @param args The arguments, e.g. `Deno.args`.
 * @returns The options and switches.
 * @throws {UsageError} For an unknown flag or a value out of range.
 *
 * @example
 * ```ts
 * import { parseServerArgs } from "./server_cli.ts";
 * import assert from "node:assert/strict";
 *
 * const { options } = parseServerArgs(["--port", "0", "--workers", "2"]);
 * assert.equal(options.port, 0);
 * assert.equal(options.workers, 2);
 * ```
 */
export function parseServerArgs(args: string[]): ServerCommandLine {
  let values;
  try {
    ({ values } = parseArgs({
      args: withDashboardPort(args),
      strict: true,
      allowPositionals: false,
      options: {
        host: { type: "string" },
        port: { type: "string" },
        "max-clients": { type: "string" },
        "max-waiting": { type: "string" },
        workers: { type: "string" },
        "min-units": { type: "string" },
        "max-units": { type: "string" },
        "iterations-per-unit": { type: "string" },
        "max-increments": { type: "string" },
        "max-line-bytes": { type: "string" },
        "idle-timeout": { type: "string" },
        grace: { type: "string" },
        "max-request-seconds": { type: "string" },
        "read-ahead-bytes": { type: "string" },
        "open-file-limit": { type: "string" },
        seed: { type: "string" },
        counter: { type: "string" },
        model: { type: "string" },
        dashboard: { type: "string" },
        trace: { type: "string" },
        "trace-max-mb": { type: "string" },
        nats: { type: "string" },
        "nats-creds": { type: "string" },
        "fleet-wait": { type: "string" },
        quiet: { type: "boolean", default: false },
        verbose: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (error) {
    throw new UsageError(`${(error as Error).message}; see --help`);
  }
  if (values.workers?.trim() === "0" && values.nats === undefined) {
    throw new UsageError(
      "--workers 0 (no Worker of its own) needs --nats URL, whose worker nodes count instead",
    );
  }
  const options: Partial<ServerOptions> = {
    hostname: values.host,
    port: integer(values.port, "--port", 0, 65535),
    maxClients: integer(values["max-clients"], "--max-clients", 1),
    maxWaiting: integer(values["max-waiting"], "--max-waiting", 0),
    // 0: no Worker of its own, only the fleet's; that needs --nats.
    workers: integer(values.workers, "--workers", values.nats === undefined ? 1 : 0, 1024),
    minUnits: integer(values["min-units"], "--min-units", 0),
    maxUnits: integer(values["max-units"], "--max-units", 0),
    iterationsPerUnit: integer(values["iterations-per-unit"], "--iterations-per-unit", 0),
    maxIncrements: integer(values["max-increments"], "--max-increments", 0),
    maxLineBytes: integer(values["max-line-bytes"], "--max-line-bytes", 16, 64 * 1024 * 1024),
    readAheadBytes: integer(values["read-ahead-bytes"], "--read-ahead-bytes", 0, 1024 ** 3),
    idleTimeoutMs: seconds(values["idle-timeout"], "--idle-timeout"),
    graceMs: seconds(values.grace, "--grace"),
    maxRequestSeconds: maybeMs(seconds(values["max-request-seconds"], "--max-request-seconds")),
    seed: integer(values.seed, "--seed", -(2 ** 31), 2 ** 31 - 1),
    openFileLimit: openFiles(values["open-file-limit"]),
    counterModel: model(values.counter, "--counter", parseCounterModel),
    workerModel: model(values.model, "--model", parseWorkerModel),
  };
  const minUnits = options.minUnits ?? DEFAULT_SERVER_OPTIONS.minUnits;
  const maxUnits = options.maxUnits ?? DEFAULT_SERVER_OPTIONS.maxUnits;
  if (maxUnits < minUnits) {
    throw new UsageError(
      `--max-units (${maxUnits}) must be at least --min-units (${minUnits}); see --help`,
    );
  }
  if (values.quiet && values.verbose) {
    throw new UsageError("--quiet and --verbose cannot go together; choose one");
  }
  if (values.trace === "") throw new UsageError("--trace needs a file name, e.g. traces/run.json");
  for (const key of Object.keys(options) as (keyof ServerOptions)[]) {
    if (options[key] === undefined) delete options[key];
  }
  return {
    options,
    dashboardPort: integer(values.dashboard, "--dashboard", 0, 65535),
    tracePath: values.trace,
    traceMaxMb: integer(values["trace-max-mb"], "--trace-max-mb", 1, 1024 * 1024) ?? TRACE_MAX_MB,
    natsUrl: values.nats,
    natsCreds: values["nats-creds"],
    fleetWaitMs: seconds(values["fleet-wait"], "--fleet-wait"),
    quiet: values.quiet,
    verbose: values.verbose,
    help: values.help,
  };
}

/** `--dashboard` takes an optional port: give it one explicitly, so parseArgs can read it. */
function withDashboardPort(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] !== "--dashboard") {
      out.push(args[i]);
    } else if (/^\d+$/.test(args[i + 1] ?? "")) {
      out.push(`--dashboard=${args[++i]}`);
    } else {
      out.push(`--dashboard=${DASHBOARD_PORT}`);
    }
  }
  return out;
}

function integer(
  text: string | undefined,
  flag: string,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^-?\d+$/.test(text.trim()) || value < min || value > max) {
    throw new UsageError(
      `${flag} must be a whole number from ${min} to ${max}: received ${JSON.stringify(text)}`,
    );
  }
  return value;
}

function model<T>(
  text: string | undefined,
  flag: string,
  parse: (text: string) => T,
): T | undefined {
  if (text === undefined) return undefined;
  try {
    return parse(text);
  } catch (error) {
    throw new UsageError(`${flag}: ${(error as Error).message}; see --help`);
  }
}

/** `ulimit -n` prints a number or "unlimited". */
function openFiles(text: string | undefined): number | undefined {
  if (text === "unlimited") return Infinity;
  return integer(text, "--open-file-limit", 1);
}

function maybeMs(ms: number | undefined): number | undefined {
  return ms === undefined ? undefined : ms / 1000;
}

function seconds(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value) || value < 0 || value > 2 ** 31 / 1000) {
    throw new UsageError(
      `${flag} must be a number of seconds, 0 or more: received ${JSON.stringify(text)}`,
    );
  }
  return Math.round(value * 1000);
}
