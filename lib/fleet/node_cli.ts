/**
 * The worker node's command line, and the node's life from start to signal:
 * connect, run, log the broker coming and going, stop cleanly.
 *
 * @module
 */
import {
  FLEET_HEARTBEAT_MS,
  FLEET_MAX_QUEUED_BATCHES,
  ITERATIONS_PER_UNIT,
  MAX_ITERATIONS_PER_UNIT,
  MAX_UNITS,
  MAX_UNITS_PER_TASK,
  MAX_WORKERS,
  NATS_URL,
  WORKERS,
} from "../defaults/defaults.ts";
import {
  type CommandSpec,
  type Flag,
  parseCommandLine,
  stringFlag,
  UsageError,
} from "../cli/flags.ts";
import { helpText } from "../cli/flag_docs.ts";
import { integerFlag } from "../cli/number_flags.ts";
import { FleetNode } from "./fleet_node.ts";
import { nodeName } from "./fleet_wire.ts";
import { connectNats, NATS_URL_VARIABLE } from "./nats_connection.ts";

/** `--name`: made safe as a subject token, as {@linkcode nodeName} does. */
const nameFlag: Flag<string | undefined> = {
  value: "NAME",
  description: "the node's name on dashboards and traces; characters other than letters, " +
    "digits, `_` and `-` become `-`",
  default: undefined,
  defaultText: "`HOSTNAME-PID`",
  parse: (text, flag) => {
    try {
      return nodeName(text);
    } catch (error) {
      throw new UsageError(`${flag}: ${(error as Error).message}`);
    }
  },
};

const NODE_FLAGS = {
  nats: stringFlag({
    value: "URL",
    description: "the NATS broker; a cluster is several URLs separated by commas. Credentials " +
      "may ride in it (`nats://USER:PASSWORD@HOST:4222`), but then they show on the command " +
      `line: put the URL in the environment variable ${NATS_URL_VARIABLE} instead (used when ` +
      "`--nats` is not given), or in a file and pass `--nats file:PATH`",
    default: undefined,
    defaultText: `\`$${NATS_URL_VARIABLE}\`, else \`${NATS_URL}\``,
  }),
  "nats-creds": stringFlag({
    value: "FILE",
    description: "a NATS `.creds` file (JWT + NKey) for brokers that ask for one; add " +
      "`--allow-read=FILE` to the deno command",
  }),
  workers: integerFlag({
    description: "Worker threads",
    default: WORKERS,
    defaultText: "the number of CPUs",
    min: 1,
    max: MAX_WORKERS,
  }),
  name: nameFlag,
  "max-units": integerFlag({
    description: "most work units of one increment this node runs; a batch asking more is " +
      "refused (the server's `--max-units` must not be higher)",
    default: MAX_UNITS,
    min: 0,
    max: MAX_UNITS_PER_TASK,
  }),
  "iterations-per-unit": integerFlag({
    description: "most additions per unit this node runs; a batch asking more is refused " +
      "(the server's `--iterations-per-unit` must not be higher)",
    default: ITERATIONS_PER_UNIT,
    min: 0,
    max: MAX_ITERATIONS_PER_UNIT,
  }),
};

/** The node's command line. */
export const NODE_COMMAND = {
  name: "threadcount node",
  usage: "deno task node [flags]",
  about: "A worker node: runs the server's increments on this machine's cores, reached through " +
    "NATS.\nStart as many as you like, on as many machines, at any time; stop them at any time.",
  flags: NODE_FLAGS,
} satisfies CommandSpec<typeof NODE_FLAGS>;

/** What the node's command line asks for. */
export interface NodeCommandLine {
  /** `--nats`, when given. */
  natsUrl?: string;
  credsFile?: string;
  workers: number;
  /** Its name, made safe; `HOSTNAME-PID` unless given. */
  name?: string;
  /** Most units of one increment it runs. */
  maxUnits: number;
  /** Most additions per unit it runs. */
  maxIterationsPerUnit: number;
  help: boolean;
}

/**
 * Parses the node's flags.
 *
 * @param args The arguments, e.g. `Deno.args`.
 * @returns The settings.
 * @throws {UsageError} For an unknown flag or a bad value; the message says what to type.
 *
 * @example
 * ```ts
 * import { parseNodeArgs } from "./node_cli.ts";
 * import assert from "node:assert/strict";
 *
 * const line = parseNodeArgs(["--nats", "nats://10.0.0.5:4222", "--workers", "4"]);
 * assert.equal(line.workers, 4);
 * assert.equal(line.natsUrl, "nats://10.0.0.5:4222");
 * ```
 */
export function parseNodeArgs(args: string[]): NodeCommandLine {
  const { flags, help } = parseCommandLine(NODE_COMMAND, args);
  return {
    natsUrl: flags.nats,
    credsFile: flags["nats-creds"],
    workers: flags.workers,
    name: flags.name,
    maxUnits: flags["max-units"],
    maxIterationsPerUnit: flags["iterations-per-unit"],
    help,
  };
}

/** Streams and the stop signal of {@linkcode runNode}. */
export interface NodeIo {
  /** Where log lines go. */
  log: (line: string) => void;
  /** Where the `--help` text goes: asked for, not logged, so it can be piped (stdout). */
  out: (text: string) => void;
  /** Aborting it stops the node. */
  signal: AbortSignal;
  /** The default name's host part. */
  hostname: () => string;
  /** Reads an environment variable (undefined when unset or not allowed). */
  env?: (name: string) => string | undefined;
}

/**
 * Runs a node until the signal aborts.
 *
 * @param args The command line.
 * @param io Log, stop signal, host name.
 * @returns The exit code: 0 after a clean stop, 1 when the broker cannot be reached, 2 for bad usage.
 */
export async function runNode(args: string[], io: NodeIo): Promise<number> {
  let line: NodeCommandLine;
  try {
    line = parseNodeArgs(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.log(`${NODE_COMMAND.name}: ${error.message}`);
    return 2;
  }
  if (line.help) {
    io.out(helpText(NODE_COMMAND));
    return 0;
  }
  // The process id has digits: the name always keeps a letter or digit.
  const name = line.name ?? nodeName(`${io.hostname()}-${Deno.pid}`);
  let nc;
  try {
    const url = line.natsUrl ?? io.env?.(NATS_URL_VARIABLE) ?? NATS_URL;
    nc = await connectNats(url, { credsFile: line.credsFile, name: `node ${name}` });
  } catch (error) {
    io.log(`threadcount node: ${(error as Error).message}`);
    return 1;
  }
  const broken = new AbortController();
  const node = new FleetNode(nc, {
    name,
    workers: line.workers,
    heartbeatMs: FLEET_HEARTBEAT_MS,
    maxQueuedBatches: FLEET_MAX_QUEUED_BATCHES,
    maxUnits: line.maxUnits,
    maxIterationsPerUnit: line.maxIterationsPerUnit,
    log: io.log,
    onBroken: (reason) => broken.abort(reason),
  });
  io.log(
    `threadcount node: ${name} ready with ${line.workers} ${
      line.workers === 1 ? "Worker" : "Workers"
    } at ${nc.getServer()}`,
  );
  const watching = (async () => {
    for await (const status of nc.status()) {
      if (status.type === "disconnect") {
        io.log(`threadcount node: lost the broker ${status.server}; reconnecting`);
      } else if (status.type === "reconnect") {
        io.log(`threadcount node: back on the broker ${status.server}`);
      }
    }
  })();
  const stop = AbortSignal.any([io.signal, broken.signal]);
  await new Promise((resolve) => {
    if (stop.aborted) resolve(undefined);
    stop.addEventListener("abort", resolve, { once: true });
  });
  await node.close();
  await nc.close();
  await watching;
  const stats = node.stats;
  io.log(
    `threadcount node: ${name} stopped after ${stats.tasksRun} increments in ` +
      `${stats.batchesRun} batches (${stats.malformed} malformed messages dropped)`,
  );
  return broken.signal.aborted ? 1 : 0;
}
