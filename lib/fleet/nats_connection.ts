/**
 * One way to reach the NATS broker, for the server and the nodes alike: the URL
 * may carry a user and password (`nats://user:secret@host:4222`) or a token
 * (`nats://s3cret@host:4222`), a `.creds` file may carry a JWT and key, and the
 * connection reconnects by itself, forever, whenever the broker goes away.
 *
 * @module
 */
import { connect, credsAuthenticator, type NatsConnection } from "@nats-io/transport-node";

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
    target.servers.push(`${parsed.hostname}:${parsed.port || "4222"}`);
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
 * @param url See {@linkcode parseNatsUrl}.
 * @param options Credentials file, client name.
 * @returns The connection.
 * @throws {Error} When the broker cannot be reached or refuses the credentials; the message
 *   says what to check.
 */
export async function connectNats(
  url: string,
  options: ConnectNatsOptions = {},
): Promise<NatsConnection> {
  const { user, pass, token, servers } = parseNatsUrl(url);
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
    throw new Error(
      `cannot connect to NATS at ${servers.join(", ")}: ${(error as Error).message}. ` +
        "Is nats-server running there (nats-server -a 0.0.0.0 -p 4222)? " +
        "Are the user/password, token or --nats-creds right?",
    );
  }
}
