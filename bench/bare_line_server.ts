/**
 * The floor for the TCP benchmarks: a bare Deno line server that answers
 * `<start> <increments>` with the sum at once, with no Workers, limits or log.
 * Usage: deno run --allow-net=127.0.0.1 bench/bare_line_server.ts PORT
 */
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const listener = Deno.listen({ hostname: "127.0.0.1", port: Number(Deno.args[0] ?? 0) });
console.log(`listening on 127.0.0.1:${listener.addr.port}`);

async function serve(conn: Deno.TcpConn): Promise<void> {
  conn.setNoDelay(true);
  const buffer = new Uint8Array(64 * 1024);
  let pending = "";
  try {
    while (true) {
      const n = await conn.read(buffer);
      if (n === null) break;
      pending += decoder.decode(buffer.subarray(0, n));
      let newline;
      let out = "";
      while ((newline = pending.indexOf("\n")) >= 0) {
        const [start, increments] = pending.slice(0, newline).trim().split(/\s+/);
        pending = pending.slice(newline + 1);
        out += `${BigInt(start) + BigInt(increments)}\n`;
      }
      let bytes = encoder.encode(out);
      while (bytes.length > 0) bytes = bytes.subarray(await conn.write(bytes));
    }
  } catch {
    /* the client went */
  } finally {
    try {
      conn.close();
    } catch { /* closed */ }
  }
}

for await (const conn of listener) serve(conn);
