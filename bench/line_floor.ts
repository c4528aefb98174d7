/**
 * The TCP benchmarks' floors share one line server: it reads `<start> <increments>`
 * lines, answers each with what `answer` gives, in order, a write per read, with no
 * limits, log or events. `bare_line_server.ts` answers at once; `hop_line_server.ts`
 * makes a round trip to a Worker first.
 *
 * @module
 */
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Answers one request line's two words: the reply (no newline), now or later. */
export type LineAnswer = (start: string, increments: string) => string | Promise<string>;

/**
 * Listens on 127.0.0.1 at the port given as the first argument (0: any), prints
 * `listening on HOST:PORT`, and serves every connection with `answer`.
 *
 * @param answer What each request is answered.
 */
export async function serveLineFloor(answer: LineAnswer): Promise<void> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: Number(Deno.args[0] ?? 0) });
  console.log(`listening on 127.0.0.1:${listener.addr.port}`);
  for await (const conn of listener) serve(conn, answer);
}

async function serve(conn: Deno.TcpConn, answer: LineAnswer): Promise<void> {
  conn.setNoDelay(true);
  const buffer = new Uint8Array(64 * 1024);
  let pending = "";
  try {
    while (true) {
      const n = await conn.read(buffer);
      if (n === null) break;
      pending += decoder.decode(buffer.subarray(0, n));
      const answers: (string | Promise<string>)[] = [];
      let later = false;
      let newline;
      while ((newline = pending.indexOf("\n")) >= 0) {
        const [start, increments] = pending.slice(0, newline).trim().split(/\s+/);
        pending = pending.slice(newline + 1);
        const reply = answer(start, increments);
        later ||= typeof reply !== "string";
        answers.push(reply);
      }
      // Answers given at once are written without a turn of the event loop.
      const replies = later ? await Promise.all(answers) : answers as string[];
      let bytes = encoder.encode(replies.map((reply) => `${reply}\n`).join(""));
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
