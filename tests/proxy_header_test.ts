import assert from "node:assert/strict";
import {
  parseProxyHeader,
  PROXY_HEADER_MAX_BYTES,
  ProxyHeaderError,
  readProxyHeader,
} from "../lib/wire/proxy_header.ts";

const text = (s: string) => new TextEncoder().encode(s);
const SIGNATURE = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];

/** A version 2 header: command, family, then the address block as given. */
function v2(command: number, family: number, block: number[]): Uint8Array {
  return new Uint8Array([
    ...SIGNATURE,
    0x20 | command,
    family,
    block.length >> 8,
    block.length & 0xff,
    ...block,
  ]);
}

Deno.test("parseProxyHeader(): version 1, TCP4, TCP6 and UNKNOWN", () => {
  assert.deepEqual(parseProxyHeader(text("PROXY TCP4 10.1.2.3 10.0.0.1 51000 50073\r\n0 1\n")), {
    kind: "header",
    length: 42,
    source: { hostname: "10.1.2.3", port: 51000 },
  });
  assert.deepEqual(parseProxyHeader(text("PROXY TCP6 2001:db8::7 2001:db8::1 443 50073\r\n")), {
    kind: "header",
    length: 46,
    source: { hostname: "2001:db8::7", port: 443 },
  });
  assert.deepEqual(parseProxyHeader(text("PROXY UNKNOWN\r\n")), { kind: "header", length: 15 });
});

Deno.test("parseProxyHeader(): version 2, PROXY over TCP4 and TCP6, and LOCAL", () => {
  const tcp4 = v2(1, 0x11, [192, 0, 2, 7, 192, 0, 2, 1, 0x9c, 0x40, 0xc3, 0x99]);
  assert.deepEqual(parseProxyHeader(tcp4), {
    kind: "header",
    length: 28,
    source: { hostname: "192.0.2.7", port: 40000 },
  });
  const six = [0x20, 0x01, 0x0d, 0xb8, ...Array(11).fill(0), 7];
  const tcp6 = v2(1, 0x21, [...six, ...six, 0x01, 0xbb, 0xc3, 0x99]);
  assert.deepEqual(parseProxyHeader(tcp6), {
    kind: "header",
    length: 52,
    source: { hostname: "2001:db8::7", port: 443 },
  });
  assert.deepEqual(parseProxyHeader(v2(0, 0x00, [])), { kind: "header", length: 16, local: true });
  assert.deepEqual(parseProxyHeader(v2(1, 0x00, [])), { kind: "header", length: 16 });
});

Deno.test("parseProxyHeader(): a header cut short is incomplete, at every length", () => {
  const v1 = text("PROXY TCP4 10.1.2.3 10.0.0.1 51000 50073\r\n");
  const two = v2(1, 0x11, [192, 0, 2, 7, 192, 0, 2, 1, 0x9c, 0x40, 0xc3, 0x99]);
  for (const whole of [v1, two]) {
    for (let length = 0; length < whole.length; length++) {
      assert.deepEqual(parseProxyHeader(whole.subarray(0, length)), { kind: "incomplete" });
    }
  }
});

Deno.test("parseProxyHeader(): hostile and malformed headers are refused with a reason", () => {
  const refused: [string, Uint8Array, RegExp][] = [
    ["a plain request", text("2 10\n"), /did not start with a PROXY protocol header/],
    ["lower case", text("proxy TCP4 1.2.3.4 1.2.3.5 1 2\r\n"), /did not start with/],
    ["LF alone", text("PROXY TCP4 1.2.3.4 1.2.3.5 1 2\n"), /ends with CRLF/],
    ["two spaces", text("PROXY TCP4  1.2.3.4 1.2.3.5 1 2\r\n"), /PROXY TCP4\|TCP6 <source>/],
    ["a fifth field", text("PROXY TCP4 1.2.3.4 1.2.3.5 1 2 3\r\n"), /PROXY TCP4\|TCP6/],
    ["UDP", text("PROXY UDP4 1.2.3.4 1.2.3.5 1 2\r\n"), /PROXY TCP4\|TCP6/],
    ["an octet past 255", text("PROXY TCP4 1.2.3.256 1.2.3.5 1 2\r\n"), /TCP4 addresses/],
    ["a leading zero", text("PROXY TCP4 01.2.3.4 1.2.3.5 1 2\r\n"), /TCP4 addresses/],
    ["a host name", text("PROXY TCP4 evil.example 1.2.3.5 1 2\r\n"), /TCP4 addresses/],
    ["IPv6 as TCP4", text("PROXY TCP4 ::1 ::1 1 2\r\n"), /TCP4 addresses/],
    ["a port past 65535", text("PROXY TCP4 1.2.3.4 1.2.3.5 65536 2\r\n"), /ports are 0 to 65535/],
    ["a signed port", text("PROXY TCP4 1.2.3.4 1.2.3.5 -1 2\r\n"), /ports are 0 to 65535/],
    ["a control byte", text("PROXY TCP4 1.2.3.4\x1b 1.2.3.5 1 2\r\n"), /printable ASCII/],
    ["no end in 107 bytes", text(`PROXY ${"x".repeat(120)}`), /at most 107 bytes/],
    [
      "version 3",
      v2(1, 0x11, Array(12).fill(0)).map((b, i) => i === 12 ? 0x31 : b),
      /version is 2/,
    ],
    ["command 2", v2(2, 0x11, Array(12).fill(0)), /command LOCAL or PROXY/],
    ["UDP over IPv4", v2(1, 0x12, Array(12).fill(0)), /TCP over IPv4 or IPv6/],
    ["too short for TCP4", v2(1, 0x11, Array(4).fill(0)), /with room for both addresses/],
    ["a unix socket", v2(1, 0x31, Array(216).fill(0)), /TCP over IPv4 or IPv6/],
    ["longer than read", v2(1, 0x11, Array(PROXY_HEADER_MAX_BYTES).fill(0)), /longer than the 536/],
  ];
  for (const [what, bytes, reason] of refused) {
    assert.throws(() => parseProxyHeader(bytes), (error) => {
      assert.ok(error instanceof ProxyHeaderError, what);
      assert.match(error.message, reason, what);
      return true;
    });
  }
});

/** A source that gives the chunks in turn, then its end. */
function chunks(...parts: Uint8Array[]) {
  return { read: (p: Uint8Array) => Promise.resolve(parts.length ? put(p, parts.shift()!) : null) };
}
function put(p: Uint8Array, bytes: Uint8Array): number {
  p.set(bytes);
  return bytes.length;
}

Deno.test("readProxyHeader(): a header in pieces, the client's bytes after it, and a source that ends early", async () => {
  const { source, rest } = await readProxyHeader(
    chunks(text("PROXY TCP4 10.1.2"), text(".3 10.0.0.1 51000 50073\r"), text("\n2 10\nSTOP\n")),
  );
  assert.deepEqual(source, { hostname: "10.1.2.3", port: 51000 });
  const p = new Uint8Array(64);
  assert.equal(new TextDecoder().decode(p.subarray(0, (await rest.read(p))!)), "2 10\nSTOP\n");
  assert.equal(await rest.read(p), null);
  await assert.rejects(readProxyHeader(chunks(text("PROXY TCP4"))), /ended before its PROXY/);
  await assert.rejects(readProxyHeader(chunks()), (error) => {
    assert.ok(error instanceof ProxyHeaderError && error.empty, "a health check sends nothing");
    return true;
  });
});

Deno.test("readProxyHeader(): an aborted wait rejects with the signal's reason", async () => {
  const never = { read: () => new Promise<number | null>(() => {}) };
  const late = new AbortController();
  const reading = readProxyHeader(never, late.signal);
  late.abort(new Error("too late"));
  await assert.rejects(reading, /too late/);
});
