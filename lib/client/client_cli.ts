/**
 * The client's command line: one-shot (`2 10`), piped (one request per
 * line) and interactive (the original's prompt).
 *
 * @module
 */
import { type CommandSpec, parseCommandLine, stringFlag, UsageError } from "../cli/flags.ts";
import { helpText } from "../cli/flag_docs.ts";
import { integerFlag } from "../cli/number_flags.ts";
import {
  CannotConnectError,
  ConnectionLostError,
  LineClient,
  type ProgressListener,
  type ReplyLine,
  UnexpectedReplyError,
} from "./line_client.ts";
import { describeStats } from "./stats_text.ts";
import { type ByteSource, LineReader } from "../wire/line_reader.ts";
import { serverStopped } from "./server_stopped.ts";
import {
  closesConnection,
  closingErrorCodes,
  type Command,
  isReplyTo,
  parseCommand,
  ProtocolError,
} from "../wire/protocol.ts";
import {
  HOST,
  MAX_INPUT_LINE_BYTES,
  MAX_PORT,
  PORT,
  PROGRESS_MIN_INCREMENTS,
  PROMPT,
} from "../defaults/defaults.ts";

/** Exit codes of the client. */
export const EXIT = {
  /** Done: every request answered, or a session at the prompt ended with STOP or Ctrl-D. */
  ok: 0,
  /** The server answered an error, or ended the session with one. */
  serverError: 1,
  /** Bad usage or input, or a host this process may not connect to. */
  badInput: 2,
  /** The server could not be reached, closed the connection, or is not a threadcount server. */
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

const CLIENT_FLAGS = {
  host: stringFlag({
    value: "HOST",
    description: "server address. `deno task client` reaches only this machine (127.0.0.1, " +
      "`localhost`, ::1); for another host run " +
      "`deno run --allow-net=HOST:PORT client.ts --host HOST --port PORT`",
    default: HOST,
  }),
  port: integerFlag({
    value: "PORT",
    description: "server port",
    default: PORT,
    min: 1,
    max: MAX_PORT,
  }),
  name: stringFlag({
    value: "NAME",
    description: "what the server's log and dashboard call this client instead of its port " +
      "(sends `NAME alice` first): letters, digits, `.`, `_` and `-`",
    defaultText: "none",
  }),
};

/** The client's command line. */
export const CLIENT_COMMAND = {
  name: "threadcount client",
  usage: "deno task client [--host HOST] [--port PORT] [START INCREMENTS | STATS]",
  about: `With START INCREMENTS: sends that one request, prints the result, exits.
With STATS: prints the server's load as one line of JSON, exits.
With input piped in: one request per line, one reply per line (STATS as JSON).
Otherwise: asks for requests at a prompt; STATS shows the server's load, a request of
${PROGRESS_MIN_INCREMENTS} increments or more shows a progress bar (PROGRESS OFF hides it, PROGRESS ON
shows it again); STOP or Ctrl-D ends.`,
  flags: CLIENT_FLAGS,
  positionals: true,
  epilogue: `Exit codes:
  0  done: every request answered; at the prompt, the session ended with STOP or Ctrl-D
     (typos and refused requests on the way are explained, and do not change it)
  1  the server answered an error (one-shot; piped: to any line), or ended the session
     with one of ${closingErrorCodes().join(", ")}
  2  bad usage or input (piped: any line that is not a request), a host the command may
     not reach, or output that cannot be written
  3  cannot connect, the connection was lost, or the server is not a threadcount server
  Piped, the highest code that applies to any line.`,
} satisfies CommandSpec<typeof CLIENT_FLAGS>;

/**
 * Runs the client.
 *
 * @param args The command line, e.g. `Deno.args`.
 * @param io Where to read and write.
 * @returns The exit code (see {@linkcode EXIT}).
 */
export async function runClient(args: string[], io: ClientIo): Promise<number> {
  let address, request: string | undefined, help, name: string | undefined;
  try {
    ({ address, request, help, name } = parseClientArgs(args));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    await io.err(`${CLIENT_COMMAND.name}: ${error.message}\n`);
    return EXIT.badInput;
  }
  if (help) {
    await io.out(`${helpText(CLIENT_COMMAND)}\n`);
    return EXIT.ok;
  }
  let command: Command | undefined;
  if (request !== undefined) {
    try {
      command = parseCommand(request, { maxIncrements: Number.MAX_SAFE_INTEGER });
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      await io.err(`threadcount client: ${error.message}\n`);
      return EXIT.badInput;
    }
  }
  let client: LineClient;
  try {
    client = await LineClient.connect(address);
  } catch (error) {
    if (error instanceof CannotConnectError) {
      await io.err(`threadcount client: ${error.message}\n`);
      return EXIT.cannotConnect;
    }
    if (error instanceof Deno.errors.NotCapable) {
      await io.err(`threadcount client: ${notAllowedMessage(address)}\n`);
      return EXIT.badInput;
    }
    throw error;
  }
  let talking = true;
  try {
    if (name !== undefined) {
      const named = await client.ask(`NAME ${name}`);
      if (named.reply.kind === "error") {
        await io.err(`threadcount client: --name ${name}: the server says ${named.line}\n`);
        return EXIT.badInput;
      }
    }
    if (command !== undefined) return await oneShot(client, request!, command, io);
    return await session(client, io, address);
  } catch (error) {
    if (!(error instanceof ConnectionLostError || error instanceof UnexpectedReplyError)) {
      throw error;
    }
    talking = false;
    await io.err(`threadcount client: ${error.message}\n`);
    return EXIT.cannotConnect;
  } finally {
    // Say goodbye to a server that still listens; just hang up on one that does not.
    if (talking) await client[Symbol.asyncDispose]();
    else client.close();
  }
}

/**
 * The address, and the request of a one-shot run. Numbers are request words,
 * even negative ones (`-5 3`), unless they are a flag's value.
 */
function parseClientArgs(args: string[]) {
  const { flags, positionals, help } = parseCommandLine(CLIENT_COMMAND, args);
  const isStats = positionals.length === 1 && positionals[0].toUpperCase() === "STATS";
  if (!help && positionals.length !== 0 && positionals.length !== 2 && !isStats) {
    throw new UsageError(
      `expected START INCREMENTS (two whole numbers, e.g. "2 10") or STATS, ` +
        `got "${positionals.join(" ")}"; see --help`,
    );
  }
  return {
    address: { hostname: flags.host, port: flags.port },
    name: flags.name,
    request: positionals.length > 0 ? positionals.join(" ") : undefined,
    help,
  };
}

/** Why a host cannot be reached with these permissions, and the command that can. */
function notAllowedMessage({ hostname, port }: { hostname: string; port: number }): string {
  const host = hostname.includes(":") && !hostname.startsWith("[") ? `[${hostname}]` : hostname;
  return `this client may connect only to this machine (127.0.0.1, localhost, ::1), ` +
    `not to ${host}:${port}; to reach it, run: ` +
    `deno run --allow-net=${host}:${port} client.ts --host ${hostname} --port ${port}`;
}

async function oneShot(
  client: LineClient,
  line: string,
  command: Command,
  io: ClientIo,
): Promise<number> {
  const { line: text, reply } = await ask(client, line, command, io, new ProgressChoice());
  if (reply.kind === "error") {
    await io.err(`threadcount client: the server answered: ${text}\n`);
    return EXIT.serverError;
  }
  await io.out(`${text}\n`);
  return EXIT.ok;
}

/**
 * Piped: one reply per line, and the exit code is the highest that applies to
 * any line. At the prompt: the code says how the session ended.
 */
async function session(
  client: LineClient,
  io: ClientIo,
  address: { hostname: string; port: number },
): Promise<number> {
  const interactive = io.stdinIsTerminal;
  const input = new LineReader(io.stdin, { maxLineBytes: MAX_INPUT_LINE_BYTES });
  const progress = new ProgressChoice();
  let worst: number = EXIT.ok;
  const ended = (code: number) => interactive ? code : Math.max(worst, code);
  while (true) {
    if (interactive) await io.out(PROMPT);
    // At the prompt, the server may stop while the user thinks: heard at once.
    const event = interactive
      ? await Promise.race([
        input.next(),
        client.unasked().then((said) => ({ kind: "server" as const, said })),
      ])
      : await input.next();
    if (event.kind === "server") {
      await io.out("\n");
      await io.err(`${await serverStopped(client.address, event.said, address)}\n`);
      return EXIT.cannotConnect;
    }
    if (event.kind === "end") {
      if (interactive) await io.out("\n");
      return ended(EXIT.ok);
    }
    if (event.kind !== "line") {
      const problem = event.kind === "too-long"
        ? `a line longer than ${MAX_INPUT_LINE_BYTES} bytes cannot be a request; stopping`
        : 'that line is not UTF-8 text; type two whole numbers, e.g. "2 10"';
      await io.err(`threadcount client: ${problem}\n`);
      if (event.kind === "too-long") return ended(EXIT.badInput);
      worst = EXIT.badInput;
      continue;
    }
    const line = event.text.trim();
    let command: Command;
    try {
      command = parseCommand(line, { maxIncrements: Number.MAX_SAFE_INTEGER });
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      await io.err(
        interactive
          ? `That is not a request: ${error.message}. ` +
            `Type two whole numbers, e.g. "2 10", STATS, or STOP.\n`
          : `threadcount client: ${error.message}\n`,
      );
      worst = EXIT.badInput;
      continue;
    }
    if (command.kind === "empty") continue;
    if (command.kind === "stop") return ended(EXIT.ok);
    const answer = await ask(client, line, command, io, progress);
    if (answer.reply.kind === "error") {
      const closing = closesConnection(answer.reply.code);
      await io.err(
        (interactive ? `The server says: ${answer.line}` : `threadcount client: ${answer.line}`) +
          (closing ? "; it closed the connection\n" : "\n"),
      );
      worst = Math.max(worst, EXIT.serverError);
      if (closing) return ended(EXIT.serverError);
      continue;
    }
    await io.out(interactive ? shown(answer, command, io) : `${answer.line}\n`);
  }
}

/** What the prompt shows for a reply: what was asked for, in words. */
function shown({ line, reply }: ReplyLine, command: Command, io: ClientIo): string {
  if (reply.kind === "stats") return describeStats(reply.stats);
  if (command.kind === "progress" && !command.on) return "Progress off: no progress bar.\n";
  if (command.kind === "counter") {
    return `Counter ${command.model}: each answer now says how many updates were lost.\n`;
  }
  if (command.kind === "progress") {
    return canDraw(io)
      ? `Progress on: a request of ${PROGRESS_MIN_INCREMENTS} increments or more shows a bar.\n`
      : "Progress on, but the output is not a terminal: no bar is drawn.\n";
  }
  return `Result: ${line}\n`;
}

/** Whether progress lines are on for this connection, and whether the user chose. */
class ProgressChoice {
  /** The server sends progress lines on this connection. */
  on = false;
  /** `PROGRESS ON` or `OFF` was typed: the client no longer decides alone. */
  chosen = false;
  /** The server does not know `PROGRESS` (an older one): never ask again. */
  unknown = false;
}

function canDraw(io: ClientIo): boolean {
  return io.progress !== undefined && io.stdoutIsTerminal;
}

/**
 * Sends one request and checks that the reply is one it can have. On a
 * terminal, a long request is shown with a progress bar, drawn only once the
 * server sends progress lines; progress is turned on for it unless the user
 * turned it off.
 */
async function ask(
  client: LineClient,
  line: string,
  command: Command,
  io: ClientIo,
  progress: ProgressChoice,
): Promise<ReplyLine> {
  const long = command.kind === "count" && command.increments >= PROGRESS_MIN_INCREMENTS;
  const wantsBar = long && canDraw(io);
  if (wantsBar && !progress.on && !progress.chosen && !progress.unknown) {
    const answer = checked(
      client,
      { kind: "progress", on: true },
      await client.ask("PROGRESS ON"),
    );
    // An older server does not know PROGRESS; any other error (busy, shutting down) is the answer.
    const { reply } = answer;
    if (reply.kind === "error" && reply.code !== "bad-request") return answer;
    if (reply.kind === "error") progress.unknown = true;
    else progress.on = true;
  }
  let display: ProgressDisplay | undefined;
  const onProgress = wantsBar && progress.on
    ? (done: number, total: number) => {
      display ??= io.progress!(total);
      display.update(done, total);
    }
    : undefined;
  let answer: ReplyLine;
  try {
    answer = checked(client, command, await client.ask(line, onProgress));
  } finally {
    display?.stop();
  }
  if (command.kind === "progress" && answer.reply.kind !== "error") {
    progress.on = command.on;
    progress.chosen = true;
  }
  return answer;
}

/**
 * Returns the reply if a threadcount server can send it for this command.
 *
 * @throws {UnexpectedReplyError} Otherwise: the address is some other service.
 */
function checked(client: LineClient, command: Command, answer: ReplyLine): ReplyLine {
  if (!isReplyTo(answer.reply, command)) {
    throw new UnexpectedReplyError(client.address, answer.line);
  }
  return answer;
}
