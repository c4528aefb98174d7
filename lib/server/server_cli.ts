/**
 * The server's command line: its flags, from which `--help` and the docs'
 * table come, and what they ask for, as {@linkcode ServerOptions} and the
 * parts `server.ts` plugs in (dashboard, trace, fleet, log).
 *
 * @module
 */
import {
  booleanFlag,
  choiceFlag,
  type CommandSpec,
  type Flag,
  type FlagValues,
  stringFlag,
  UsageError,
} from "../cli/flags.ts";
import { integerFlag, megabytesFlag, secondsFlag } from "../cli/number_flags.ts";
import { COUNTER_MODELS, WORKER_MODELS } from "../counter/counter_model.ts";
import { dropUndefined, type ServerOptions } from "./server_options.ts";
import {
  DASHBOARD_PORT,
  DEFAULT_SERVER_OPTIONS,
  FLEET_WAIT_SECONDS,
  HOST,
  MAX_LINE_BYTES_LIMIT,
  MAX_PORT,
  MAX_READ_AHEAD_BYTES,
  MAX_WORKERS,
  TRACE_MAX_MB,
} from "../defaults/defaults.ts";
import { isIpAddress } from "../wire/proxy_header.ts";

/** The seed is a 32-bit integer. */
const SEED_RANGE = { min: -(2 ** 31), max: 2 ** 31 - 1 };

const defaults = DEFAULT_SERVER_OPTIONS;

const openFiles = integerFlag({
  description: "the limit on open files (`ulimit -n`), checked at start-up against " +
    "`--max-clients` + `--max-waiting`. Deno reads `/proc/self/limits` only with " +
    "`--allow-all`, so the server knows it only from this flag: `--open-file-limit " +
    '"$(ulimit -n)"` in a POSIX shell',
  min: 1,
});
/** `ulimit -n` prints a number or `unlimited`. */
const openFileLimit: Flag<number | undefined> = {
  ...openFiles,
  accepts: "a number, or `unlimited`",
  parse: (text, flag) => text === "unlimited" ? Infinity : openFiles.parse(text, flag),
};

/** The flags that set {@linkcode ServerOptions}: the server's, and the demo's server's. */
export const SERVER_OPTION_FLAGS = {
  host: stringFlag({
    value: "HOST",
    description: "address to listen on. `0.0.0.0` lets every machine that can reach yours " +
      "connect; `deno task server` allows only 127.0.0.1, so that takes, on purpose, " +
      "`deno run -q -P=worker --allow-net=0.0.0.0 server.ts --host 0.0.0.0`, where `-P=worker` " +
      "is the Worker's read permissions from `deno.json`",
    default: defaults.hostname,
  }),
  port: integerFlag({
    value: "PORT",
    description: "TCP port; 0 picks any free one",
    default: defaults.port,
    max: MAX_PORT,
  }),
  "max-clients": integerFlag({
    description: "clients served at once; the rest wait in line",
    default: defaults.maxClients,
    min: 1,
  }),
  "max-waiting": integerFlag({
    description: "clients that may wait; one more gets `ERR busy` and is closed",
    default: defaults.maxWaiting,
  }),
  workers: integerFlag({
    description: "Worker threads in the pool; 0, with `--nats`, leaves the counting to the " +
      "fleet's nodes",
    default: defaults.workers,
    defaultText: "the number of CPUs",
    max: MAX_WORKERS,
  }),
  "min-units": integerFlag({
    description: "fewest work units drawn per increment",
    default: defaults.minUnits,
  }),
  "max-units": integerFlag({
    description: "most work units drawn per increment, at least `--min-units`",
    default: defaults.maxUnits,
  }),
  "iterations-per-unit": integerFlag({
    description: "additions per work unit",
    default: defaults.iterationsPerUnit,
  }),
  "max-increments": integerFlag({
    description: "largest `<increments>` of a request",
    default: defaults.maxIncrements,
  }),
  "max-line-bytes": integerFlag({
    description: "longest request line, in bytes",
    default: defaults.maxLineBytes,
    min: 16,
    max: MAX_LINE_BYTES_LIMIT,
  }),
  "read-ahead-bytes": integerFlag({
    description: "most input read ahead of the request being served, so that a client that " +
      "pipelines and hangs up is seen at once",
    default: defaults.readAheadBytes,
    max: MAX_READ_AHEAD_BYTES,
  }),
  "idle-timeout": secondsFlag({
    description: "while others wait: how long a served client may go without a request with " +
      "work (`STATS`, `PROGRESS`, empty lines and `0 0` do not count), or leave a reply unread",
    default: defaults.idleTimeoutMs,
  }),
  "slot-hold": secondsFlag({
    description: "while someone in line has a request ready: how long a served client's turn " +
      "lasts; once its request in hand is answered after that, it goes back to the end of the " +
      "line, keeping its connection, and its next request waits its turn",
    default: defaults.slotHoldMs,
  }),
  "max-clients-per-address": integerFlag({
    description: "most connections, waiting or served, one address may have open; one more " +
      "gets `ERR busy` and is closed. 0: no cap (many clients may share an address behind " +
      "NAT or a balancer); a class server might set 8",
    default: defaults.maxClientsPerAddress,
    defaultText: "0, no cap",
  }),
  "proxy-protocol-from": stringFlag({
    value: "ADDRESSES",
    description: "IP addresses of load balancers, separated by commas, whose connections start " +
      "with a PROXY protocol header (v1 or v2; HAProxy's `send-proxy`) naming the client: the " +
      "log, the dashboard and `--max-clients-per-address` then see the client's address. " +
      "Their connections must send one; no one else's is believed",
    default: "",
    defaultText: "none",
  }),
  "step-idle": secondsFlag({
    description: "how long a `STEP ON` count waits for the client's next `STEP` before its " +
      "other steps run freely and its Workers go",
    default: defaults.stepIdleMs,
  }),
  "step-hold": secondsFlag({
    description: "longest a `STEP ON` count may hold the Workers in all, however often its " +
      "client steps (other clients' counts wait for them meanwhile); then its other steps run " +
      "freely",
    default: defaults.stepHoldMs,
  }),
  "max-request-seconds": secondsFlag({
    description: "most work one request may ask for, in seconds of the whole pool's time, " +
      "estimated before it starts; more is answered `ERR too-much-work`",
    default: defaults.maxRequestMs,
  }),
  grace: secondsFlag({
    description: "time requests in flight get to finish on shutdown",
    default: defaults.graceMs,
  }),
  seed: integerFlag({
    description: "seed of the work-unit generator: runs repeat exactly",
    ...SEED_RANGE,
  }),
  counter: choiceFlag({
    choices: COUNTER_MODELS,
    description: "each request's counter: `racy` is the original's race (updates are lost), " +
      "`locked` is right but the Workers take turns, `parallel` is right and parallel; a " +
      "client may choose its own with `COUNTER`",
    default: defaults.counterModel,
  }),
  model: choiceFlag({
    choices: WORKER_MODELS,
    description: "a `pool` of Workers started once, or a new Worker `per-increment`, as the " +
      "original did",
    default: defaults.workerModel,
  }),
  "open-file-limit": openFileLimit,
};

/** The options flags: each {@linkcode SERVER_OPTION_FLAGS}' value. */
export type ServerOptionFlags = FlagValues<typeof SERVER_OPTION_FLAGS>;

const SERVER_FLAGS = {
  ...SERVER_OPTION_FLAGS,
  dashboard: integerFlag({
    value: "PORT",
    description: `serve the live dashboard at http://${HOST}:PORT/`,
    defaultText: "off",
    bare: String(DASHBOARD_PORT),
    max: MAX_PORT,
  }),
  trace: stringFlag({
    value: "FILE",
    description: "write a Chrome/Perfetto trace of every increment to FILE, at least every " +
      "250 ms; `deno task server` may write under `traces/`",
    defaultText: "off",
  }),
  "trace-max-mb": megabytesFlag({
    description: "stop tracing, with one log line, when the trace file reaches this size",
    default: TRACE_MAX_MB * 2 ** 20,
    min: 1,
  }),
  nats: stringFlag({
    value: "URL",
    description: "also count on the worker nodes of this NATS broker (`deno task node`); " +
      "credentials may ride in it: `nats://USER:PASSWORD@HOST:4222` or " +
      "`nats://TOKEN@HOST:4222`, best kept off the command line with `env:NAME` or " +
      "`file:PATH` (the URL is read from there); see docs/fleet.md",
    defaultText: "off",
  }),
  "nats-creds": stringFlag({
    value: "FILE",
    description: "a NATS `.creds` file, for brokers that ask for one",
  }),
  "fleet-wait": secondsFlag({
    description: "with `--workers 0`, how long a request waits for a node before " +
      "`ERR no-workers`",
    default: FLEET_WAIT_SECONDS * 1000,
  }),
  quiet: booleanFlag("log only start-up, errors and shutdown"),
  verbose: booleanFlag("log every event, however fast they come"),
};

/** `deno task server`'s command line. */
export const SERVER_COMMAND = {
  name: "threadcount server",
  usage: "deno task server [flags]",
  flags: SERVER_FLAGS,
  check(flags) {
    checkServerOptionFlags(flags);
    if (flags.workers === 0 && flags.nats === undefined) {
      throw new UsageError(
        "--workers 0 (no Worker of its own) needs --nats URL, whose worker nodes count instead",
      );
    }
    if (flags.quiet && flags.verbose) {
      throw new UsageError("--quiet and --verbose cannot go together; choose one");
    }
  },
} satisfies CommandSpec<typeof SERVER_FLAGS>;

/** What the server's command line asks for. */
export interface ServerCommandLine {
  options: Partial<ServerOptions>;
  /** Port of the live dashboard, when `--dashboard` is given. */
  dashboardPort?: number;
  /** Where to write a trace, when `--trace` is given. */
  tracePath?: string;
  /** Most bytes of trace before tracing stops. */
  traceMaxBytes: number;
  /** The fleet's NATS broker, when `--nats` is given. */
  natsUrl?: string;
  /** A NATS `.creds` file, when `--nats-creds` is given. */
  natsCreds?: string;
  /** With `--workers 0`, how long a request waits for a worker node, in ms (`--fleet-wait`). */
  fleetWaitMs: number;
  quiet: boolean;
  verbose: boolean;
}

/**
 * Checks the rules between the options flags: `--max-units` is at least `--min-units`, and
 * `--proxy-protocol-from` holds IP addresses.
 *
 * @param flags The options flags' values.
 * @throws {UsageError} When they do not go together.
 *
 * @example
 * ```ts
 * import { checkServerOptionFlags, SERVER_OPTION_FLAGS } from "./server_cli.ts";
 * import { parseCommandLine, UsageError } from "../cli/flags.ts";
 * import assert from "node:assert/strict";
 *
 * const command = { name: "t", usage: "t", flags: SERVER_OPTION_FLAGS };
 * const { flags } = parseCommandLine(command, ["--min-units", "5", "--max-units", "2"]);
 * assert.throws(() => checkServerOptionFlags(flags), UsageError);
 * ```
 */
export function checkServerOptionFlags(flags: ServerOptionFlags): void {
  const notAddress = addressList(flags["proxy-protocol-from"]).find((a) => !isIpAddress(a));
  if (notAddress !== undefined) {
    throw new UsageError(
      `--proxy-protocol-from takes IP addresses separated by commas (127.0.0.1,::1): ` +
        `received ${JSON.stringify(notAddress)}`,
    );
  }
  if (flags["max-units"] < flags["min-units"]) {
    throw new UsageError(
      `--max-units (${flags["max-units"]}) must be at least --min-units ` +
        `(${flags["min-units"]}); see --help`,
    );
  }
}

/**
 * The server options the options flags set.
 *
 * @param flags The options flags' values.
 * @returns The options; those with no value (`seed`, `openFileLimit`) left out.
 *
 * @example
 * ```ts
 * import { SERVER_COMMAND, serverOptions } from "./server_cli.ts";
 * import { parseCommandLine } from "../cli/flags.ts";
 * import assert from "node:assert/strict";
 *
 * const { flags } = parseCommandLine(SERVER_COMMAND, ["--idle-timeout", "1.5", "--seed", "-5"]);
 * assert.equal(serverOptions(flags).idleTimeoutMs, 1500);
 * assert.equal(serverOptions(flags).seed, -5);
 * ```
 */
export function serverOptions(flags: ServerOptionFlags): Partial<ServerOptions> {
  return dropUndefined({
    hostname: flags.host,
    port: flags.port,
    maxClients: flags["max-clients"],
    maxWaiting: flags["max-waiting"],
    workers: flags.workers,
    minUnits: flags["min-units"],
    maxUnits: flags["max-units"],
    iterationsPerUnit: flags["iterations-per-unit"],
    maxIncrements: flags["max-increments"],
    maxLineBytes: flags["max-line-bytes"],
    readAheadBytes: flags["read-ahead-bytes"],
    idleTimeoutMs: flags["idle-timeout"],
    slotHoldMs: flags["slot-hold"],
    maxClientsPerAddress: flags["max-clients-per-address"],
    proxyProtocolFrom: addressList(flags["proxy-protocol-from"]),
    stepIdleMs: flags["step-idle"],
    stepHoldMs: flags["step-hold"],
    graceMs: flags.grace,
    maxRequestMs: flags["max-request-seconds"],
    seed: flags.seed,
    openFileLimit: flags["open-file-limit"],
    counterModel: flags.counter,
    workerModel: flags.model,
  });
}

/**
 * What the server's flags ask for.
 *
 * @param flags The values of {@linkcode SERVER_COMMAND}'s flags.
 * @returns The server's options and the parts around it.
 *
 * @example
 * ```ts
 * import { SERVER_COMMAND, serverCommandLine } from "./server_cli.ts";
 * import { parseCommandLine } from "../cli/flags.ts";
 * import assert from "node:assert/strict";
 *
 * const { flags } = parseCommandLine(SERVER_COMMAND, ["--port", "0", "--workers", "2"]);
 * const { options } = serverCommandLine(flags);
 * assert.equal(options.port, 0);
 * assert.equal(options.workers, 2);
 * ```
 */
export function serverCommandLine(flags: FlagValues<typeof SERVER_FLAGS>): ServerCommandLine {
  return {
    options: serverOptions(flags),
    dashboardPort: flags.dashboard,
    tracePath: flags.trace,
    traceMaxBytes: flags["trace-max-mb"],
    natsUrl: flags.nats,
    natsCreds: flags["nats-creds"],
    fleetWaitMs: flags["fleet-wait"],
    quiet: flags.quiet,
    verbose: flags.verbose,
  };
}

/** The addresses of a list separated by commas; none in an empty one. */
function addressList(text: string): string[] {
  return text.split(",").map((address) => address.trim()).filter((address) => address !== "");
}
