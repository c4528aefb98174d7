/**
 * The PROXY protocol's header (versions 1 and 2, as HAProxy sends them with
 * `send-proxy` and `send-proxy-v2`): a load balancer puts it in front of a
 * client's bytes to say who the client is. A strict parser over bytes, with a
 * bound on the header's length; no socket here.
 *
 * @module
 */
import type { ByteSource } from "./line_reader.ts";

/**
 * The longest header read, in bytes: a version 1 header is at most 107; a version 2 one from a
 * balancer that adds no extensions is at most 52 (IPv6). 536 bytes (the least segment every
 * IPv4 host must take) leaves room for a few extensions and still arrives in one segment.
 */
export const PROXY_HEADER_MAX_BYTES = 536;

/** The longest version 1 header, `\r\n` included (from the protocol's specification). */
const V1_MAX_BYTES = 107;
const V1_PREFIX = new TextEncoder().encode("PROXY ");
/** The 12 bytes a version 2 header starts with (the protocol's specification). */
export const V2_SIGNATURE: Uint8Array = Uint8Array.of(
  ...[0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a],
);

/** A malformed or hostile PROXY header: the connection is answered an error and closed. */
export class ProxyHeaderError extends Error {
  /** Whether the connection ended before it sent a byte (a balancer's health check). */
  readonly empty: boolean;

  /**
   * @param message What is wrong with the header.
   * @param empty Whether the connection ended before it sent a byte.
   */
  constructor(message: string, empty = false) {
    super(message);
    this.name = "ProxyHeaderError";
    this.empty = empty;
  }
}

/** Where a connection comes from, as its header says. */
export interface ProxySource {
  hostname: string;
  port: number;
}

/** What {@linkcode parseProxyHeader} found. */
export type ProxyHeader =
  /** Not all of the header has arrived yet: read more. */
  | { kind: "incomplete" }
  /**
   * A whole header of `length` bytes; the client's bytes follow it. `source` is the client's
   * address; none when the balancer cannot name it (`UNKNOWN`, an unnamed family) or for
   * its own connection (`local`: a v2 `LOCAL`, as a health check sends).
   */
  | { kind: "header"; length: number; source?: ProxySource; local?: true };

/**
 * Reads a PROXY header (version 1 or 2) from the start of `bytes`.
 *
 * @param bytes What the connection has sent so far.
 * @returns `incomplete` while more is needed, or the header's length and source.
 * @throws {ProxyHeaderError} When the bytes are no PROXY header, a malformed one, or one
 *   longer than {@linkcode PROXY_HEADER_MAX_BYTES}.
 *
 * @example
 * ```ts
 * import { parseProxyHeader } from "./proxy_header.ts";
 * import assert from "node:assert/strict";
 *
 * const bytes = new TextEncoder().encode("PROXY TCP4 192.0.2.7 198.51.100.1 40000 50073\r\n2 10\n");
 * assert.deepEqual(parseProxyHeader(bytes), {
 *   kind: "header",
 *   length: 47,
 *   source: { hostname: "192.0.2.7", port: 40000 },
 * });
 * assert.deepEqual(parseProxyHeader(bytes.subarray(0, 10)), { kind: "incomplete" });
 * ```
 */
export function parseProxyHeader(bytes: Uint8Array): ProxyHeader {
  if (startsWith(bytes, V1_PREFIX)) return parseV1(bytes);
  if (startsWith(bytes, V2_SIGNATURE)) return parseV2(bytes);
  const known = Math.min(bytes.length, V2_SIGNATURE.length);
  if (bytes.length < V1_PREFIX.length && isPrefix(bytes, V1_PREFIX)) return { kind: "incomplete" };
  if (bytes.length < V2_SIGNATURE.length && isPrefix(bytes.subarray(0, known), V2_SIGNATURE)) {
    return { kind: "incomplete" };
  }
  throw new ProxyHeaderError("the connection did not start with a PROXY protocol header");
}

function parseV1(bytes: Uint8Array): ProxyHeader {
  const end = bytes.subarray(0, V1_MAX_BYTES).indexOf(0x0a);
  if (end < 0) {
    if (bytes.length >= V1_MAX_BYTES) {
      throw new ProxyHeaderError(`a PROXY v1 header is at most ${V1_MAX_BYTES} bytes`);
    }
    return { kind: "incomplete" };
  }
  if (bytes[end - 1] !== 0x0d) throw new ProxyHeaderError("a PROXY v1 header ends with CRLF");
  // Every byte was checked to be printable ASCII before it is read as text.
  const line = bytes.subarray(0, end - 1);
  if (line.some((byte) => byte < 0x20 || byte > 0x7e)) {
    throw new ProxyHeaderError("a PROXY v1 header is printable ASCII");
  }
  const fields = new TextDecoder().decode(line).split(" ");
  const length = end + 1;
  if (fields[1] === "UNKNOWN") return { kind: "header", length };
  if (fields.length !== 6 || (fields[1] !== "TCP4" && fields[1] !== "TCP6")) {
    throw new ProxyHeaderError(
      "a PROXY v1 header is PROXY TCP4|TCP6 <source> <destination> <source port> " +
        "<destination port>, or PROXY UNKNOWN",
    );
  }
  const [, family, source, destination, sourcePort, destinationPort] = fields;
  const valid = family === "TCP4" ? isIPv4 : isIPv6;
  if (!valid(source) || !valid(destination)) {
    throw new ProxyHeaderError(`a PROXY v1 ${family} header's addresses are ${family} addresses`);
  }
  const port = parsePort(sourcePort);
  parsePort(destinationPort);
  return { kind: "header", length, source: { hostname: source, port } };
}

function parseV2(bytes: Uint8Array): ProxyHeader {
  if (bytes.length < 16) return { kind: "incomplete" };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const versionCommand = bytes[12];
  const familyProtocol = bytes[13];
  const length = 16 + view.getUint16(14);
  if (length > PROXY_HEADER_MAX_BYTES) {
    throw new ProxyHeaderError(
      `a PROXY v2 header of ${length} bytes is longer than the ${PROXY_HEADER_MAX_BYTES} read`,
    );
  }
  if (versionCommand >> 4 !== 2 || (versionCommand & 0xf) > 1) {
    throw new ProxyHeaderError("a PROXY v2 header's version is 2 and its command LOCAL or PROXY");
  }
  if (bytes.length < length) return { kind: "incomplete" };
  // LOCAL: the balancer's own connection (a health check), not a client's.
  if ((versionCommand & 0xf) === 0) return { kind: "header", length, local: true };
  if (familyProtocol === 0x00) return { kind: "header", length }; // a family it does not name
  if (familyProtocol === 0x11 && length >= 16 + 12) {
    const hostname = bytes.subarray(16, 20).join(".");
    return { kind: "header", length, source: { hostname, port: view.getUint16(24) } };
  }
  if (familyProtocol === 0x21 && length >= 16 + 36) {
    const groups: string[] = [];
    for (let i = 0; i < 8; i++) groups.push(view.getUint16(16 + 2 * i).toString(16));
    const hostname = new URL(`http://[${groups.join(":")}]`).hostname.slice(1, -1);
    return { kind: "header", length, source: { hostname, port: view.getUint16(48) } };
  }
  throw new ProxyHeaderError(
    "a PROXY v2 header here is for TCP over IPv4 or IPv6, with room for both addresses",
  );
}

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  return bytes.length >= prefix.length && isPrefix(bytes.subarray(0, prefix.length), prefix);
}

/** Whether `bytes` is where `whole` starts. */
function isPrefix(bytes: Uint8Array, whole: Uint8Array): boolean {
  return bytes.every((byte, i) => byte === whole[i]);
}

/**
 * Whether a text is an IPv4 or IPv6 address, as a PROXY header or `--proxy-protocol-from`
 * writes one.
 *
 * @param text The text.
 * @returns `true` for `127.0.0.1` or `::1`; `false` for a host name or anything else.
 *
 * @example
 * ```ts
 * import { isIpAddress } from "./proxy_header.ts";
 * import assert from "node:assert/strict";
 *
 * assert.ok(isIpAddress("127.0.0.1") && isIpAddress("::1"));
 * assert.ok(!isIpAddress("localhost") && !isIpAddress("256.0.0.1"));
 * ```
 */
export function isIpAddress(text: string): boolean {
  return isIPv4(text) || isIPv6(text);
}

function isIPv4(text: string): boolean {
  const parts = text.split(".");
  return parts.length === 4 &&
    parts.every((part) => /^(0|[1-9]\d{0,2})$/.test(part) && Number(part) <= 255);
}

function isIPv6(text: string): boolean {
  return /^[0-9a-fA-F:.]{2,45}$/.test(text) && text.includes(":") &&
    URL.canParse(`http://[${text}]`);
}

function parsePort(text: string): number {
  if (!/^(0|[1-9]\d{0,4})$/.test(text) || Number(text) > 65535) {
    throw new ProxyHeaderError(`a PROXY v1 header's ports are 0 to 65535: received ${text}`);
  }
  return Number(text);
}

/** Where a connection comes from and its bytes after the header, from {@linkcode readProxyHeader}. */
export interface ProxiedConnection {
  /** The client's address; none when the balancer cannot name it. */
  source?: ProxySource;
  /** Whether it is the balancer's own connection (a v2 `LOCAL`: a health check). */
  local: boolean;
  /** The client's bytes, those read with the header first. */
  rest: ByteSource;
}

/**
 * Reads a PROXY header from the start of a source, reading no more than
 * {@linkcode PROXY_HEADER_MAX_BYTES}.
 *
 * @param source The connection.
 * @param signal Aborts the wait (a time limit): the caller then closes the connection.
 * @returns Where the connection comes from, and the rest of its bytes.
 * @throws {ProxyHeaderError} (rejects) When the header is malformed, too long, or the
 *   connection ends before it does.
 *
 * @example
 * ```ts
 * import { readProxyHeader } from "./proxy_header.ts";
 * import assert from "node:assert/strict";
 *
 * const bytes = new TextEncoder().encode("PROXY TCP4 192.0.2.7 192.0.2.1 40000 50073\r\n2 10\n");
 * let sent = false;
 * const conn = {
 *   read(p: Uint8Array) {
 *     if (sent) return Promise.resolve(null);
 *     sent = true;
 *     p.set(bytes);
 *     return Promise.resolve(bytes.length);
 *   },
 * };
 * const { source, rest } = await readProxyHeader(conn);
 * assert.deepEqual(source, { hostname: "192.0.2.7", port: 40000 });
 * const p = new Uint8Array(16);
 * assert.equal(new TextDecoder().decode(p.subarray(0, (await rest.read(p))!)), "2 10\n");
 * ```
 */
export async function readProxyHeader(
  source: ByteSource,
  signal?: AbortSignal,
): Promise<ProxiedConnection> {
  const buffer = new Uint8Array(PROXY_HEADER_MAX_BYTES);
  let end = 0;
  while (true) {
    const read = source.read(buffer.subarray(end));
    read.catch(() => {}); // heard below, or after an abort: by whoever closes the connection
    const count = await abortable(read, signal);
    if (count === null) {
      throw new ProxyHeaderError("the connection ended before its PROXY header did", end === 0);
    }
    end += count;
    const header = parseProxyHeader(buffer.subarray(0, end));
    if (header.kind === "header") {
      const rest = prefixed(buffer.slice(header.length, end), source);
      return { source: header.source, local: header.local === true, rest };
    }
    if (end === buffer.length) {
      throw new ProxyHeaderError(`no whole PROXY header in ${PROXY_HEADER_MAX_BYTES} bytes`);
    }
  }
}

/** The promise, or a rejection with the signal's reason once it aborts. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  signal.throwIfAborted();
  const { promise: aborted, reject } = Promise.withResolvers<never>();
  const onAbort = () => reject(signal.reason);
  signal.addEventListener("abort", onAbort, { once: true });
  return Promise.race([promise, aborted]).finally(() => {
    signal.removeEventListener("abort", onAbort);
  });
}

/** A source that gives `first`, then what `then` gives. */
function prefixed(first: Uint8Array, then: ByteSource): ByteSource {
  let held = first;
  return {
    read(p) {
      if (held.length === 0) return then.read(p);
      const count = Math.min(p.length, held.length);
      p.set(held.subarray(0, count));
      held = held.subarray(count);
      return Promise.resolve(count);
    },
  };
}
