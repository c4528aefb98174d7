import assert from "node:assert/strict";
import { DEMO_SCRIPT, runDemo } from "../lib/demo/demo.ts";
import { LineClient } from "../lib/client/line_client.ts";
import { TINY_WORK } from "./_helpers.ts";
import { Child, programStderr, runDeno } from "./_child.ts";

const ANSWERS = [
  ["12", "45"],
  ["106", 'ERR bad-request expected "<start> <increments>", e.g. "2 10", got "2 x"'],
  ["1", "123456789012345678901234567893"],
];

/** Each client's lines of the demo's output, without its name. */
function clientLines(lines: string[], client: number): string[] {
  const name = `[client ${client}] `;
  return lines.filter((line) => line.startsWith(name)).map((line) => line.slice(name.length));
}

/** A port taken by another listener for the test's length. */
function takenPort() {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  return { port: listener.addr.port, [Symbol.dispose]: () => listener.close() };
}

Deno.test("the demo prints three clients at once, each request with its exact answer, then stops", async () => {
  const lines: string[] = [];
  const transcript = await runDemo({
    server: { ...TINY_WORK, port: 0 },
    write: (line) => lines.push(line),
  });
  assert.deepEqual(transcript, ANSWERS);
  // What the demo printed, client by client: each request, its answer, STOP.
  for (let i = 0; i < DEMO_SCRIPT.length; i++) {
    const expected = DEMO_SCRIPT[i].flatMap((request, j) => [`> ${request}`, `< ${ANSWERS[i][j]}`]);
    assert.deepEqual(clientLines(lines, i + 1), [...expected, "> STOP"]);
  }
  // Every client spoke before any finished: their sessions overlapped.
  const firstStop = lines.findIndex((l) => l.endsWith("> STOP"));
  for (let i = 1; i <= DEMO_SCRIPT.length; i++) {
    const at = lines.findIndex((l) => l.startsWith(`[client ${i}] >`));
    assert.ok(at >= 0 && at < firstStop, `client ${i} spoke before the first STOP`);
  }
  // The server's log is interleaved with the clients' lines, not printed after them.
  const firstServer = lines.findIndex((l) => l.startsWith("[server]"));
  assert.ok(firstServer >= 0 && firstServer < firstStop, "the server's log runs alongside");
  assert.ok(
    lines.slice(0, firstServer + 2).some((l) =>
      /^\[demo\] {5}server at 127\.0\.0\.1:\d+; 3 clients start at once$/.test(l)
    ),
    "the demo says where the server is before the clients start",
  );
  assert.ok(!lines.some((l) => l.includes("Join")), "without holding, nothing to join");
  assert.equal(lines.at(-1), "[demo]     stopped");
});

Deno.test("the demo, holding: prefers its ports, falls back when taken, prints commands that work", async () => {
  using server = takenPort();
  using dashboard = takenPort();
  const lines: string[] = [];
  const joinPrinted = Promise.withResolvers<void>();
  const holding = new AbortController();
  const demo = runDemo({
    server: { ...TINY_WORK, port: server.port },
    dashboard: { port: dashboard.port },
    holdUntil: holding.signal,
    write: (line) => {
      lines.push(line);
      if (line.includes("the live dashboard, in a browser")) joinPrinted.resolve();
    },
  });
  try {
    await joinPrinted.promise;
    const text = lines.join("\n");
    assert.match(text, new RegExp(`port ${server.port} is taken .*so the server took a free one`));
    assert.match(text, new RegExp(`dashboard at http://\\S+ \\(port ${dashboard.port} is taken`));
    assert.match(text, /open until you press Ctrl-C/);
    // The commands to join, as printed.
    const port = Number(/deno task client --port (\d+) +the prompt$/m.exec(text)?.[1]);
    assert.notEqual(port, server.port);
    assert.match(text, new RegExp(`deno task client --port ${port} 2 10 +one request$`, "m"));
    const url = /(http:\/\/\S+) +the live dashboard, in a browser$/m.exec(text)?.[1];
    assert.ok(url && !url.endsWith(`:${dashboard.port}/`), String(url));
    // ... and they work: a client joins and is answered, the dashboard page loads.
    await using client = await LineClient.connect({ hostname: "127.0.0.1", port });
    assert.deepEqual(await client.request("2 10"), { kind: "value", text: "12" });
    const page = await fetch(url);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<html/i);
  } finally {
    holding.abort();
    assert.deepEqual(await demo, ANSWERS);
  }
  assert.deepEqual(lines.slice(-1), ["[demo]     stopped"]);
  assert.ok(lines.includes("[demo]     stopping the server and the dashboard"));
});

/**
 * Runs `deno task demo --hold` as its own process group (as a terminal runs
 * it), joins it with the commands it prints, then stops it with `stop`.
 */
async function holdJoinAndStop(stop: (demo: Child) => void, codes: readonly number[] = [0]) {
  // A demo that holds without saying how to join, or never stops, is killed at its time
  // limit, and the test fails saying so. A passing run never comes near it.
  await using demo = new Child(Deno.execPath(), {
    args: ["task", "-q", "demo", "--hold", "--iterations-per-unit", "2000"],
    name: "deno task demo --hold",
    group: true,
  });
  const stderr = new Response(demo.process.stderr).text();
  const reader = demo.process.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  try {
    while (!out.includes("the live dashboard, in a browser\n")) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the demo ended, or held, without saying how to join:\n${out}`);
      out += value;
    }
    const command = /^\[demo\] +(deno task client --port \d+) +the prompt$/m.exec(out)?.[1];
    assert.ok(command, out);
    const [deno, ...args] = command.split(" ");
    assert.equal(deno, "deno");
    const client = await runDeno([...args, "2", "10"]); // the command as printed, and a request
    assert.equal(client.stdout, "12\n");
    assert.equal(client.code, 0);
    const url = /(http:\/\/\S+) +the live dashboard, in a browser$/m.exec(out)?.[1];
    assert.ok(url, out);
    const page = await fetch(url);
    assert.equal(page.status, 200);
    await page.body?.cancel();
    stop(demo);
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      out += value;
    }
    const status = await demo.status;
    assert.ok(codes.includes(status.code), `exit ${status.code}:\n${out}\n${await stderr}`);
    assert.match(out, /stopping the server and the dashboard\n[^]*\[demo\] {5}stopped\n$/);
    assert.doesNotMatch(programStderr(await stderr), /error|uncaught/i);
  } finally {
    demo.kill("SIGKILL");
    await demo.status.catch(() => {});
    reader.releaseLock();
    await demo.process.stdout.cancel().catch(() => {});
    await stderr;
  }
}

Deno.test("`deno task demo --hold` as a process: join it with the printed commands, Ctrl-C exits 0", async (t) => {
  await t.step("SIGINT to `deno task`, which passes it on", async () => {
    await holdJoinAndStop((demo) => demo.killLeader("SIGINT"));
  });
  await t.step(
    "Ctrl-C at a terminal: SIGINT to the whole group, so the demo gets copies",
    async () => {
      // `deno task` gets the terminal's SIGINT too, and now and then (2 of about 30 runs
      // here) reports it as its own status, 130, as a shell does, though the demo it forwarded
      // the signal to stopped cleanly, which the output proves.
      await holdJoinAndStop((demo) => demo.kill("SIGINT"), [0, 130]);
    },
  );
  await t.step("SIGTERM to the whole group, as a supervisor sends it", async () => {
    await holdJoinAndStop((demo) => demo.kill("SIGTERM"));
  });
});
