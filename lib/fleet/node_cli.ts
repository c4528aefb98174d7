/**
 * The worker node's command line, and the node's life from start to signal:
 * connect, run, log the broker coming and going, stop cleanly.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { FLEET_HEARTBEAT_MS, FLEET_MAX_QUEUED_BATCHES, NATS_URL, WORKERS } from "../../constCS.ts";
import { FleetNode } from "./fleet_node.ts";
import { nodeName } from "./fleet_wire.ts";
import { connectNats } from "./nats_connection.ts";

/** The `--help` text. */
export const NODE_USAGE = `Usage: deno task node [flags]

A worker node: runs the server's increments on this machine's cores, reached through NATS.
Start as many as you like, on as many machines, at any time; stop them at any time.

  --nats URL          the NATS broker (default ${NATS_URL}); credentials may ride in it:
                      nats://USER:PASSWORD@HOST:4222 or nats://TOKEN@HOST:4222; a cluster is
                      several URLs separated by commas
  --nats-creds FILE   a NATS .creds file (JWT + NKey) for brokers that ask for one
                      (add --allow-read=FILE to the deno command)
  --workers N         Worker threads (default: the number of CPUs, ${WORKERS} here)
  --name NAME         the node's name on dashboards and traces (default: HOSTNAME-PID)
  --help              show this text
`;

/** What the node's command line asks for. */
export interface NodeCommandLine {
  natsUrl: string;
  credsFile?: string;
  workers: number;
  name?: string;
  help: boolean;
}

/**
 * Parses the node's flags.
 *
 * @param args The arguments, e.g. `Deno.args`.
 * @returns The settings.
 * @throws {TypeError} For an unknown flag or a bad value; the message says what to type.
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
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        nats: { type: "string", default: NATS_URL },
        "nats-creds": { type: "string" },
        workers: { type: "string" },
        name: { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (error) {
    throw new TypeError(`${(error as Error).message}; see --help`);
  }
  let workers = WORKERS;
  if (values.workers !== undefined) {
    workers = Number(values.workers);
    if (!/^\d+$/.test(values.workers) || workers < 1 || workers > 1024) {
      throw new TypeError(
        `--workers must be a whole number from 1 to 1024: received ${
          JSON.stringify(values.workers)
        }`,
      );
    }
  }
  return {
    natsUrl: values.nats,
    credsFile: values["nats-creds"],
    workers,
    name: values.name,
    help: values.help,
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
  let name: string;
  try {
    line = parseNodeArgs(args);
    name = nodeName(line.name ?? `${io.hostname()}-${Deno.pid}`);
  } catch (error) {
    io.log(`threadcount node: ${(error as Error).message}`);
    return 2;
  }
  if (line.help) {
    io.out(NODE_USAGE);
    return 0;
  }
  let nc;
  try {
    nc = await connectNats(line.natsUrl, { credsFile: line.credsFile, name: `node ${name}` });
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
    log: io.log,
    onBroken: (reason) => broken.abort(reason),
  });
  io.log(
    `threadcount node: ${name} ready with ${line.workers} Workers at ${nc.getServer()}`,
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
