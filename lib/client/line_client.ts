/**
 * A client connection to a threadcount server: send a request line, read its
 * reply, with progress lines handed to a callback.
 *
 * @module
 */
import { LineReader } from "../wire/line_reader.ts";
import { closeQuietly, writeAll } from "../wire/write_all.ts";

/** The answer to one request. */
export type Reply =
  | { kind: "value"; text: string }
  | { kind: "error"; code: string; message: string; line: string };

/** Thrown when the server cannot be reached; the message says how to start it. */
export class CannotConnectError extends Error {
  constructor(address: string, cause: unknown) {
    super(
      `cannot connect to ${address}: is the server running? start it with \`deno task server\`` +
        ` (${cause instanceof Error ? cause.message : cause})`,
      { cause },
    );
    this.name = "CannotConnectError";
  }
}

/** Thrown when the server closes the connection before it answers. */
export class ConnectionLostError extends Error {
  constructor(address: string) {
    super(`the server at ${address} closed the connection before it answered`);
    this.name = "ConnectionLostError";
  }
}

/** Hears `PROGRESS <done> <total>` lines while a request runs. */
export type ProgressListener = (done: number, total: number) => void;

/**
 * Splits a reply line into a value or an error.
 *
 * @param line The reply line, without its newline.
 * @returns The reply.
 *
 * @example
 * ```ts
 * import { parseReply } from "./line_client.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(parseReply("12"), { kind: "value", text: "12" });
 * assert.equal(parseReply("ERR busy try later").kind, "error");
 * ```
 */
export function parseReply(line: string): Reply {
  const match = /^ERR (\S+) ?(.*)$/.exec(line);
  if (match) return { kind: "error", code: match[1], message: match[2], line };
  return { kind: "value", text: line };
}

/**
 * One connection to a server.
 *
 * @example
 * ```ts ignore
 * import { LineClient } from "./line_client.ts";
 *
 * await using client = await LineClient.connect({ hostname: "127.0.0.1", port: 50073 });
 * console.log(await client.request("2 10")); // { kind: "value", text: "12" }
 * ```
 */
export class LineClient {
  #conn: Deno.TcpConn;
  #reader: LineReader;
  #address: string;

  private constructor(conn: Deno.TcpConn, address: string) {
    this.#conn = conn;
    this.#address = address;
    this.#reader = new LineReader(conn, { maxLineBytes: 1024 * 1024 });
  }

  /**
   * Connects to a server.
   *
   * @param address Where the server listens.
   * @returns The connected client.
   * @throws {CannotConnectError} When nothing answers there.
   */
  static async connect(address: { hostname: string; port: number }): Promise<LineClient> {
    const text = `${address.hostname}:${address.port}`;
    try {
      const conn = await Deno.connect({ hostname: address.hostname, port: address.port });
      conn.setNoDelay(true);
      return new LineClient(conn, text);
    } catch (error) {
      if (error instanceof Deno.errors.NotCapable) throw error;
      throw new CannotConnectError(text, error);
    }
  }

  /**
   * Sends one line (a newline is added).
   *
   * @param line The line.
   */
  async send(line: string): Promise<void> {
    await writeAll(this.#conn, `${line}\n`);
  }

  /**
   * Reads the next line from the server.
   *
   * @returns The line, or `null` when the server closed the connection.
   */
  async readLine(): Promise<string | null> {
    const event = await this.#reader.next();
    if (event.kind === "line") return event.text;
    if (event.kind === "end") return null;
    throw new Error(`unreadable reply from ${this.#address} (${event.kind})`);
  }

  /**
   * Sends a request and waits for its reply.
   *
   * @param line The request, e.g. `2 10`.
   * @param onProgress Hears progress lines, if the session asked for them.
   * @returns The reply.
   * @throws {ConnectionLostError} When the server closes before it answers.
   */
  async request(line: string, onProgress?: ProgressListener): Promise<Reply> {
    await this.send(line);
    while (true) {
      const reply = await this.readLine();
      if (reply === null) throw new ConnectionLostError(this.#address);
      const progress = /^PROGRESS (\d+) (\d+)$/.exec(reply);
      if (progress) {
        onProgress?.(Number(progress[1]), Number(progress[2]));
        continue;
      }
      return parseReply(reply);
    }
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
