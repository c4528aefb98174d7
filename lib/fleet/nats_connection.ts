/**
 * One way to reach the NATS broker, for the server and the nodes alike: the URL
 * may carry a user and password (`nats://user:secret@host:4222`) or a token
 * (`nats://s3cret@host:4222`), a `.creds` file may carry a JWT and key, and the
 * connection reconnects by itself, forever, whenever the broker goes away.
 *
 * Credentials need not appear on a command line (where `ps` and `deno task`'s echo
 * show them): `--nats env:NAME` takes the URL from an environment variable, and
 * `--nats file:PATH` from a file.
 *
 * @module
 */
import { connect, credsAuthenticator, type NatsConnection } from "@nats-io/transport-node";

/** The environment variable a node reads the broker's URL from when `--nats` is not given. */
export const NATS_URL_VARIABLE = "THREADCOUNT_NATS_URL";

/** The connection and its settings, from a URL. */
export interface NatsTarget {
  /** `host:port` entries, without credentials (safe to print). */
  servers: string[];
  user?: string;
  pass?: string;
  token?: string;
}

/**
 * Reads a NATS URL, or several separated by commas (the members of a cluster).
 *
 * @param url E.g. `nats://127.0.0.1:4222` or `nats://alice:pw@a:4222,nats://alice:pw@b:4222`.
 * @returns The servers and credentials.
 * @throws {TypeError} When a part is not a `nats://` URL with a host.
 *
 * @example
 * ```ts
 * import { parseNatsUrl } from "./nats_connection.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(parseNatsUrl("nats://alice:pw@10.0.0.5:4222"), {
 *   servers: ["10.0.0.5:4222"],
 *   user: "alice",
 *   pass: "pw",
 * });
 * assert.deepEqual(parseNatsUrl("nats://tok@h"), { servers: ["h:4222"], token: "tok" });
 * assert.deepEqual(parseNatsUrl("nats://localhost:4222").servers, ["127.0.0.1:4222"]);
 * ```
 */
export function parseNatsUrl(url: string): NatsTarget {
  const target: NatsTarget = { servers: [] };
  for (const part of url.split(",").map((p) => p.trim()).filter((p) => p !== "")) {
    let parsed: URL;
    try {
      parsed = new URL(part.includes("://") ? part : `nats://${part}`);
    } catch {
      throw new TypeError(`not a NATS URL: ${JSON.stringify(part)}; expected nats://HOST:4222`);
    }
    if (parsed.protocol !== "nats:" || parsed.hostname === "") {
      throw new TypeError(
        `not a NATS URL: ${JSON.stringify(part)}; expected nats://HOST:4222 (tls is not supported)`,
      );
    }
    // localhost is this machine by definition (RFC 6761): its address is asked of nobody, so a
    // process allowed 127.0.0.1 only (deno task server) may use it.
    const host = parsed.hostname === "localhost" ? "127.0.0.1" : parsed.hostname;
    target.servers.push(`${host}:${parsed.port || "4222"}`);
    const user = decodeURIComponent(parsed.username);
    const pass = decodeURIComponent(parsed.password);
    if (user !== "" && pass !== "") Object.assign(target, { user, pass });
    else if (user !== "") target.token = user;
  }
  if (target.servers.length === 0) {
    throw new TypeError("a NATS URL is needed, e.g. nats://127.0.0.1:4222");
  }
  return target;
}

/**
 * The URL that a `--nats` value stands for: `env:NAME` reads the environment variable NAME,
 * `file:PATH` the file PATH (its first line), and anything else is the URL itself.
 *
 * @param value The flag's value.
 * @param read How to read an environment variable and a file (the process's, by default).
 * @returns The URL (never printed: it may hold a password).
 * @throws {Error} When the variable is unset or the file cannot be read; the message says
 *   which permission to add.
 *
 * @example
 * ```ts
 * import { resolveNatsUrl } from "./nats_connection.ts";
 * import assert from "node:assert/strict";
 *
 * const read = { env: () => "nats://u:p@h:4222", file: () => "" };
 * assert.equal(await resolveNatsUrl("env:THREADCOUNT_NATS_URL", read), "nats://u:p@h:4222");
 * assert.equal(await resolveNatsUrl("nats://h:4222", read), "nats://h:4222");
 * ```
 */
export async function resolveNatsUrl(
  value: string,
  read: { env(name: string): string | undefined; file(path: string): Promise<string> | string } = {
    env: (name) => Deno.env.get(name),
    file: (path) => Deno.readTextFile(path),
  },
): Promise<string> {
  if (value.startsWith("env:")) {
    const name = value.slice(4);
    let url: string | undefined;
    try {
      url = read.env(name);
    } catch (error) {
      throw new Error(
        `cannot read the environment variable ${name}: ${(error as Error).message}; ` +
          `add --allow-env=${name} to the deno command`,
      );
    }
    if (!url) {
      throw new Error(`the environment variable ${name} is not set: set it to the NATS URL`);
    }
    return url.trim();
  }
  if (value.startsWith("file:")) {
    const path = value.slice(5);
    let text: string;
    try {
      text = await read.file(path);
    } catch (error) {
      throw new Error(
        `cannot read the NATS URL from ${path}: ${(error as Error).message}; check the path ` +
          `(and add --allow-read=${path} to the deno command)`,
      );
    }
    const url = text.split("\n")[0].trim();
    if (url === "") throw new Error(`${path} is empty: put the NATS URL on its first line`);
    return url;
  }
  return value;
}

/** Options of {@linkcode connectNats}. */
export interface ConnectNatsOptions {
  /** A NATS `.creds` file (JWT and NKey seed), for brokers run in decentralized-auth mode. */
  credsFile?: string;
  /** The client's name, as the broker's monitoring shows it. */
  name?: string;
  /** Wait between two reconnection attempts, in ms. Defaults to 250. */
  reconnectWaitMs?: number;
}

/**
 * Connects to NATS, reconnecting forever after the first success.
 *
 * @param url See {@linkcode parseNatsUrl}; `env:NAME` and `file:PATH` as
 *   {@linkcode resolveNatsUrl} reads them.
 * @param options Credentials file, client name.
 * @returns The connection.
 * @throws {Error} When the broker cannot be reached or refuses the credentials; the message
 *   says what to check.
 */
export async function connectNats(
  url: string,
  options: ConnectNatsOptions = {},
): Promise<NatsConnection> {
  const { user, pass, token, servers } = parseNatsUrl(await resolveNatsUrl(url));
  let authenticator;
  if (options.credsFile !== undefined) {
    let creds: Uint8Array;
    try {
      creds = await Deno.readFile(options.credsFile);
    } catch (error) {
      throw new Error(
        `cannot read the NATS credentials file ${options.credsFile}: ` +
          `${(error as Error).message}; check the path (and --allow-read for it)`,
      );
    }
    authenticator = credsAuthenticator(creds);
  }
  try {
    return await connect({
      servers,
      user,
      pass,
      token,
      authenticator,
      name: options.name,
      reconnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: options.reconnectWaitMs ?? 250,
      waitOnFirstConnect: false,
    });
  } catch (error) {
    const message = (error as Error).message;
    if (
      error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied ||
      /EPERM|NotCapable|Requires net access/i.test(message)
    ) {
      throw new Error(
        `not allowed to reach the NATS broker at ${servers.join(", ")} (${message}). ` +
          "deno task server may reach 127.0.0.1 only: use nats://127.0.0.1:PORT for a broker " +
          "on this machine, or run the server with a wider --allow-net (see " +
          "docs/fleet.md)",
      );
    }
    throw new Error(
      `cannot connect to NATS at ${servers.join(", ")}: ${message}. ` +
        "Is nats-server running there (nats-server -a 0.0.0.0 -p 4222)? " +
        "Are the user/password, token or --nats-creds right?",
    );
  }
}
