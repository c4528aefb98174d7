/**
 * The client's command line: one-shot (`2 10`), piped (one request per
 * line) and interactive (the original's prompt).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { HOST, PORT, PROMPT } from "../../constCS.ts";
import {
  CannotConnectError,
  ConnectionLostError,
  LineClient,
  type ProgressListener,
  type Reply,
} from "./line_client.ts";
import { type ByteSource, LineReader } from "../wire/line_reader.ts";
import { parseCommand, ProtocolError } from "../wire/protocol.ts";

/** Exit codes of the client. */
export const EXIT = {
  /** Every request answered. */
  ok: 0,
  /** The server answered an error. */
  serverError: 1,
  /** Bad usage or input. */
  badInput: 2,
  /** The server could not be reached, or closed the connection. */
  cannotConnect: 3,
} as const;

/** The client's terminals and streams, so tests can run it in memory. */
export interface ClientIo {
  stdin: ByteSource;
  stdinIsTerminal: boolean;
  stdoutIsTerminal: boolean;
  out: (text: string) => void | Promise<void>;
  err: (text: string) => void | Promise<void>;
  /** Makes a progress display for a long request on a terminal (optional). */
  progress?: (total: number) => ProgressDisplay;
}

/** A progress display for one request. */
export interface ProgressDisplay {
  update: ProgressListener;
  stop(): void;
}

/** The `--help` text. */
export const CLIENT_USAGE =
  `Usage: deno task client [--host HOST] [--port PORT] [START INCREMENTS | STATS]

  With START INCREMENTS: sends that one request, prints the result, exits.
  With STATS: prints the server's load as one line of JSON, exits.
  With input piped in: one request per line, one result per line.
  Otherwise: asks for requests at a prompt; STOP or Ctrl-D ends.

  --host HOST   server address (default ${HOST})
  --port PORT   server port (default ${PORT})

Exit codes: 0 done, 1 the server answered an error, 2 bad usage or input, 3 cannot connect.
`;

/**
 * Runs the client.
 *
 * @param args The command line, e.g. `Deno.args`.
 * @param io Where to read and write.
 * @returns The exit code (see {@linkcode EXIT}).
 */
export async function runClient(args: string[], io: ClientIo): Promise<number> {
  let address, request: string | undefined, help;
  try {
    ({ address, request, help } = parseClientArgs(args));
  } catch (error) {
    await io.err(`threadcount client: ${(error as Error).message}\n`);
    return EXIT.badInput;
  }
  if (help) {
    await io.out(CLIENT_USAGE);
    return EXIT.ok;
  }
  const problem = request === undefined ? undefined : checkRequest(request);
  if (problem) {
    await io.err(`threadcount client: ${problem}\n`);
    return EXIT.badInput;
  }
  let client: LineClient;
  try {
    client = await LineClient.connect(address);
  } catch (error) {
    if (!(error instanceof CannotConnectError)) throw error;
    await io.err(`threadcount client: ${error.message}\n`);
    return EXIT.cannotConnect;
  }
  try {
    if (request !== undefined) return await oneShot(client, request, io);
    return await session(client, io);
  } catch (error) {
    if (!(error instanceof ConnectionLostError)) throw error;
    await io.err(`threadcount client: ${error.message}\n`);
    return EXIT.cannotConnect;
  } finally {
    await client[Symbol.asyncDispose]();
  }
}

function parseClientArgs(args: string[]) {
  // Numbers are request words, even negative ones, unless they are a flag's value.
  const flagArgs: string[] = [];
  const requestWords: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if ((args[i] === "--host" || args[i] === "--port") && i + 1 < args.length) {
      flagArgs.push(args[i], args[++i]);
    } else if (/^[+-]?\d+$/.test(args[i])) {
      requestWords.push(args[i]);
    } else {
      flagArgs.push(args[i]);
    }
  }
  const { values, positionals } = parseArgs({
    args: flagArgs,
    strict: true,
    allowPositionals: true,
    options: {
      host: { type: "string", default: HOST },
      port: { type: "string", default: String(PORT) },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  const port = Number(values.port);
  if (!/^\d+$/.test(values.port) || port < 1 || port > 65535) {
    throw new Error(`--port must be a whole number from 1 to 65535: received "${values.port}"`);
  }
  requestWords.push(...positionals);
  const isStats = requestWords.length === 1 && requestWords[0].toUpperCase() === "STATS";
  if (requestWords.length !== 0 && requestWords.length !== 2 && !isStats) {
    throw new Error(
      `expected START INCREMENTS (two whole numbers, e.g. "2 10") or STATS, ` +
        `got "${requestWords.join(" ")}"`,
    );
  }
  return {
    address: { hostname: values.host, port },
    request: requestWords.length > 0 ? requestWords.join(" ") : undefined,
    help: values.help,
  };
}

/** Checks a request locally, so bad input is explained before it is sent. */
function checkRequest(line: string): string | undefined {
  try {
    const command = parseCommand(line, { maxIncrements: Number.MAX_SAFE_INTEGER });
    if (command.kind === "count" || command.kind === "stop") return undefined;
    if (command.kind === "empty") return "empty";
    return undefined; // STATS and PROGRESS go to the server as they are
  } catch (error) {
    if (error instanceof ProtocolError) return error.message;
    throw error;
  }
}

async function oneShot(client: LineClient, request: string, io: ClientIo): Promise<number> {
  const reply = await ask(client, request, io);
  if (reply.kind === "error") {
    await io.err(`threadcount client: the server answered: ${reply.line}\n`);
    return EXIT.serverError;
  }
  await io.out(`${reply.text}\n`);
  return EXIT.ok;
}

async function session(client: LineClient, io: ClientIo): Promise<number> {
  const interactive = io.stdinIsTerminal;
  const input = new LineReader(io.stdin, { maxLineBytes: 64 * 1024 });
  let exitCode: number = EXIT.ok;
  while (true) {
    if (interactive) await io.out(PROMPT);
    const event = await input.next();
    if (event.kind === "end") {
      if (interactive) await io.out("\n");
      return exitCode;
    }
    if (event.kind !== "line") {
      await io.err(`threadcount client: that line cannot be read (${event.kind}); try again\n`);
      exitCode = Math.max(exitCode, EXIT.badInput);
      if (event.kind === "too-long") return exitCode;
      continue;
    }
    const line = event.text.trim();
    const problem = checkRequest(line);
    if (problem === "empty") continue;
    if (problem) {
      await io.err(
        interactive
          ? `That is not a request: ${problem}. Type two whole numbers, e.g. "2 10", or STOP.\n`
          : `threadcount client: ${problem}\n`,
      );
      exitCode = Math.max(exitCode, EXIT.badInput);
      continue;
    }
    if (line.toUpperCase() === "STOP") return exitCode;
    const reply = await ask(client, line, io);
    if (reply.kind === "error") {
      await io.err(
        interactive ? `The server says: ${reply.line}\n` : `threadcount client: ${reply.line}\n`,
      );
      exitCode = Math.max(exitCode, EXIT.serverError);
      continue;
    }
    await io.out(interactive ? `Result: ${reply.text}\n` : `${reply.text}\n`);
  }
}

/** Requests smaller than this show no progress display. */
const PROGRESS_MIN_INCREMENTS = 20;
const progressEnabled = new WeakSet<LineClient>();

/** Sends one request, with a progress display when the client runs on a terminal. */
async function ask(client: LineClient, line: string, io: ClientIo): Promise<Reply> {
  const command = parseCommand(line, { maxIncrements: Number.MAX_SAFE_INTEGER });
  const wantsProgress = io.progress !== undefined && io.stdoutIsTerminal &&
    command.kind === "count" && command.increments >= PROGRESS_MIN_INCREMENTS;
  if (!wantsProgress) return await client.request(line);
  if (!progressEnabled.has(client)) {
    const reply = await client.request("PROGRESS ON");
    if (reply.kind === "error") return await client.request(line); // an older server: no bar
    progressEnabled.add(client);
  }
  const display = io.progress!(command.increments);
  try {
    return await client.request(line, display.update);
  } finally {
    display.stop();
  }
}
