/**
 * A client connection to a threadcount server: send a request line, read its
 * reply, with progress lines handed to a callback.
 *
 * @module
 */
import { type LineEvent, LineReader } from "../wire/line_reader.ts";
import { parseReply, type Reply } from "../wire/protocol.ts";
import { closeQuietly, writeAll } from "../wire/write_all.ts";
import { MAX_REPLY_BYTES, PORT } from "../defaults/defaults.ts";

/** The answer to one request, as text: the reply line, or an error's parts. */
export type Answer =
  | { kind: "value"; text: string }
  | { kind: "error"; code: string; message: string; line: string };

/** The answer to one request, read: the reply line and what it says. */
export interface ReplyLine {
  /** The line, without its newline. */
  line: string;
  /** What it says; never a progress line (those go to the listener), never malformed. */
  reply: Exclude<Reply, { kind: "progress" | "malformed" }>;
}

/** Thrown when the server cannot be reached; the message says how to start it. */
export class CannotConnectError extends Error {
  /**
   * @param address The address as given, e.g. `localhost:50073`.
   * @param port The port, named in the command that starts a server there.
   * @param cause Why the connection failed.
   */
  constructor(address: string, port: number, cause: unknown) {
    const command = port === PORT ? "deno task server" : `deno task server --port ${port}`;
    super(
      `cannot connect to ${address}: is the server running? start it with \`${command}\`` +
        ` (${cause instanceof Error ? cause.message : cause})`,
      { cause },
    );
    this.name = "CannotConnectError";
  }
}

/** Thrown when the server closes the connection before it answers. */
export class ConnectionLostError extends Error {
  constructor(address: string, cause?: unknown) {
    super(
      `the server at ${address} closed the connection before it answered` +
        (cause instanceof Error ? ` (${cause.message})` : ""),
      { cause },
    );
    this.name = "ConnectionLostError";
  }
}

/**
 * Thrown when a reply cannot be a threadcount server's: the address is some
 * other service (the dashboard's HTTP port, say), or the reply cannot be read.
 */
export class UnexpectedReplyError extends Error {
  /**
   * @param address The server's address.
   * @param reply The reply line, or `null` when it could not be read at all.
   */
  constructor(address: string, reply: string | null) {
    const shown = reply === null
      ? "a line that is not UTF-8 text, or too long"
      : JSON.stringify(reply.length > 60 ? `${reply.slice(0, 57)}...` : reply);
    super(
      `the server at ${address} answered ${shown}, which is not a threadcount reply: ` +
        `is ${address} a threadcount server (\`deno task server\`)?`,
    );
    this.name = "UnexpectedReplyError";
  }
}

/**
 * The addresses tried for a host name, in order. `localhost` is the loopback
 * interface by definition (RFC 6761), but resolves to `::1` first on many
 * machines, and `Deno.connect` tries only the first address it resolves: the
 * server listens on 127.0.0.1 by default, so that is tried first, then `::1`.
 *
 * @param hostname The host as given, e.g. `localhost` or `127.0.0.1`.
 * @returns The hosts to try.
 *
 * @example
 * ```ts
 * import { hostsToTry } from "./line_client.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(hostsToTry("localhost"), ["127.0.0.1", "::1"]);
 * assert.deepEqual(hostsToTry("127.0.0.1"), ["127.0.0.1"]);
 * ```
 */
export function hostsToTry(hostname: string): string[] {
  const name = hostname.toLowerCase().replace(/\.$/, "");
  if (name === "localhost") return ["127.0.0.1", "::1"];
  // `[::1]` as written in a URL is `::1` to Deno.connect.
  return [hostname.replace(/^\[(.*)\]$/, "$1")];
}

/** `host:port`, with an IPv6 host in brackets. */
function formatAddress(hostname: string, port: number): string {
  return hostname.includes(":") && !hostname.startsWith("[")
    ? `[${hostname}]:${port}`
    : `${hostname}:${port}`;
}

/** Hears `PROGRESS <done> <total>` lines while a request runs. */
export type ProgressListener = (done: number, total: number) => void;

/**
 * One connection to a server.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LineClient } from "./line_client.ts";
 *
 * // A stand-in for the server: it answers one request with 12 and closes.
 * using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const served = listener.accept().then(async (conn) => {
 *   await conn.read(new Uint8Array(64));
 *   await conn.write(new TextEncoder().encode("12\n"));
 *   conn.close();
 * });
 * await using client = await LineClient.connect(listener.addr);
 * assert.deepEqual(await client.request("2 10"), { kind: "value", text: "12" });
 * await served;
 * ```
 */
export class LineClient {
  #conn: Deno.TcpConn;
  #reader: LineReader;
  #address: string;
  /** A read begun while nothing was asked (see {@linkcode LineClient.unasked}): the next line's. */
  #pending?: Promise<LineEvent>;

  private constructor(conn: Deno.TcpConn, address: string) {
    this.#conn = conn;
    this.#address = address;
    this.#reader = new LineReader(conn, { maxLineBytes: MAX_REPLY_BYTES });
  }

  /**
   * Connects to a server.
   *
   * @param address Where the server listens.
   * @returns The connected client.
   * @throws {CannotConnectError} When nothing answers there.
   * @throws {Deno.errors.NotCapable} When this process may not connect there.
   */
  static async connect(address: { hostname: string; port: number }): Promise<LineClient> {
    const text = formatAddress(address.hostname, address.port);
    const hosts = hostsToTry(address.hostname);
    let failed: unknown; // the first host that was tried and did not answer
    let notAllowed: unknown;
    const tried: string[] = [];
    for (const hostname of hosts) {
      try {
        const conn = await Deno.connect({ hostname, port: address.port });
        conn.setNoDelay(true);
        return new LineClient(conn, text);
      } catch (error) {
        if (error instanceof Deno.errors.NotCapable) {
          notAllowed ??= error;
        } else {
          failed ??= error;
          tried.push(hostname);
        }
      }
    }
    if (failed === undefined) throw notAllowed;
    throw new CannotConnectError(
      hosts.length > 1 ? `${text} (tried ${tried.join(" and ")})` : text,
      address.port,
      failed,
    );
  }

  /**
   * Sends one line (a newline is added).
   *
   * @param line The line.
   */
  async send(line: string): Promise<void> {
    try {
      await writeAll(this.#conn, `${line}\n`);
    } catch (error) {
      throw new ConnectionLostError(this.#address, error);
    }
  }

  /**
   * Reads the next line from the server.
   *
   * @returns The line, or `null` when the server closed the connection.
   * @throws {UnexpectedReplyError} When the line is not UTF-8 or longer than any reply.
   */
  async readLine(): Promise<string | null> {
    const pending = this.#pending;
    this.#pending = undefined;
    const event = await (pending ?? this.#reader.next());
    if (event.kind === "line") return event.text;
    if (event.kind === "end") return null;
    throw new UnexpectedReplyError(this.#address, null);
  }

  /**
   * Sends a request and reads its reply, with progress lines handed to `onProgress`.
   *
   * @param line The request, e.g. `2 10`.
   * @param onProgress Hears progress lines, if the session asked for them.
   * @returns The reply line and what it says.
   * @throws {ConnectionLostError} When the server closes before it answers.
   * @throws {UnexpectedReplyError} When the reply cannot be read, or is no threadcount reply.
   */
  async ask(line: string, onProgress?: ProgressListener): Promise<ReplyLine> {
    await this.send(line);
    while (true) {
      const text = await this.readLine();
      if (text === null) throw new ConnectionLostError(this.#address);
      const reply = parseReply(text);
      if (reply.kind === "progress") {
        onProgress?.(reply.done, reply.total);
        continue;
      }
      if (reply.kind === "malformed") throw new UnexpectedReplyError(this.#address, text);
      return { line: text, reply };
    }
  }

  /**
   * Sends a request and waits for its reply, as text.
   *
   * @param line The request, e.g. `2 10`.
   * @param onProgress Hears progress lines, if the session asked for them.
   * @returns The reply line, or an error's parts.
   * @throws {ConnectionLostError} When the server closes before it answers.
   * @throws {UnexpectedReplyError} When the reply cannot be read, or is no threadcount reply.
   */
  async request(line: string, onProgress?: ProgressListener): Promise<Answer> {
    const { line: text, reply } = await this.ask(line, onProgress);
    if (reply.kind !== "error") return { kind: "value", text };
    return { kind: "error", code: reply.code, message: reply.message, line: text };
  }

  /**
   * Resolves when the server says something unasked, or closes: a client at its prompt
   * hears a server that stops at once, not when the user next types. The line it waits
   * for is not lost: the next {@linkcode LineClient.readLine} returns it.
   *
   * @returns The line, or `null` when the server closed the connection.
   */
  async unasked(): Promise<string | null> {
    this.#pending ??= this.#reader.next();
    const event = await this.#pending;
    if (event.kind === "line") return event.text;
    return null;
  }

  /** The server's address as given, e.g. `localhost:50073`. */
  get address(): string {
    return this.#address;
  }

  /** Closes the connection. */
  close(): void {
    closeQuietly(this.#conn);
  }

  /** Sends `STOP`, waits for the server to close, and closes. */
  async [Symbol.asyncDispose](): Promise<void> {
    try {
      await this.send("STOP");
      while (await this.readLine() !== null) { /* BYE, then the end */ }
    } catch { /* the server is gone already */ }
    this.close();
  }
}
