import assert from "node:assert/strict";
import { parseCommandLine, UsageError } from "../lib/cli/flags.ts";
import { DEMO_COMMAND } from "../lib/demo/demo_cli.ts";
import { SERVER_COMMAND, serverCommandLine, serverOptions } from "../lib/server/server_cli.ts";
import { DEFAULT_SERVER_OPTIONS, MAX_WORKERS, TRACE_MAX_MB } from "../lib/defaults/defaults.ts";

/** What `deno task server ARGS` asks for. */
function server(...args: string[]) {
  return serverCommandLine(parseCommandLine(SERVER_COMMAND, args).flags);
}

/** Asserts that `args` are refused with a message that matches `pattern`. */
function assertRefused(args: string[], pattern: RegExp): void {
  assert.throws(
    () => server(...args),
    (error) => error instanceof UsageError && pattern.test(error.message),
    args.join(" "),
  );
}

Deno.test("server flags: none given, the server's defaults", () => {
  // Options no flag sets: the server keeps its own.
  const { silenceMs: _s, progressIntervalMs: _p, replyHoldBytes: _b, replyHoldMs: _m, ...flagged } =
    DEFAULT_SERVER_OPTIONS;
  assert.deepEqual(server(), {
    options: flagged,
    dashboardPort: undefined,
    tracePath: undefined,
    traceMaxBytes: TRACE_MAX_MB * 2 ** 20,
    natsUrl: undefined,
    natsCreds: undefined,
    fleetWaitMs: 10_000,
    quiet: false,
    verbose: false,
  });
});

Deno.test("server flags: each sets its option, in the unit the code uses", () => {
  const line = server(
    ...["--host", "0.0.0.0", "--port", "0", "--max-clients", "3", "--max-waiting", "0"],
    ...["--workers", "2", "--min-units", "2", "--max-units", "2", "--iterations-per-unit", "0"],
    ...["--max-increments", "5", "--max-line-bytes", "16", "--read-ahead-bytes", "0"],
    ...["--idle-timeout", "0.25", "--grace", "2", "--max-request-seconds", "1.5"],
    ...["--slot-hold", "0.5", "--max-clients-per-address", "4"],
    ...["--proxy-protocol-from", "127.0.0.1, ::1"],
    ...["--step-idle", "0.5", "--step-hold", "30"],
    ...["--counter", "locked", "--model", "per-increment", "--open-file-limit", "unlimited"],
    ...["--dashboard", "--trace", "traces/t.json", "--trace-max-mb", "1", "--quiet"],
  );
  assert.deepEqual(line.options, {
    hostname: "0.0.0.0",
    port: 0,
    maxClients: 3,
    maxWaiting: 0,
    workers: 2,
    minUnits: 2,
    maxUnits: 2,
    iterationsPerUnit: 0,
    maxIncrements: 5,
    maxLineBytes: 16,
    readAheadBytes: 0,
    idleTimeoutMs: 250,
    slotHoldMs: 500,
    maxClientsPerAddress: 4,
    proxyProtocolFrom: ["127.0.0.1", "::1"],
    stepIdleMs: 500,
    stepHoldMs: 30_000,
    graceMs: 2000,
    maxRequestMs: 1500,
    openFileLimit: Infinity,
    counterModel: "locked",
    workerModel: "per-increment",
  });
  assert.deepEqual(
    [line.dashboardPort, line.tracePath, line.traceMaxBytes, line.quiet],
    [8080, "traces/t.json", 2 ** 20, true],
  );
  assert.equal(server("--open-file-limit", "200").options.openFileLimit, 200);
  assert.equal(server("--dashboard", "0").dashboardPort, 0);
});

Deno.test("server flags: --seed takes a negative seed, joined or not", () => {
  assert.equal(server("--seed", "-5").options.seed, -5);
  assert.equal(server("--seed=-5").options.seed, -5);
  assert.equal(server("--seed", "-2147483648").options.seed, -(2 ** 31));
  assertRefused(["--seed", "2147483648"], /^--seed must be a whole number from -2147483648 to/);
});

Deno.test("server flags: --workers from 0, with --nats, to MAX_WORKERS", () => {
  const nats = ["--nats", "nats://127.0.0.1:4222"];
  assert.equal(server("--workers", "0", ...nats).options.workers, 0);
  assert.equal(server("--workers", String(MAX_WORKERS)).options.workers, MAX_WORKERS);
  assertRefused(["--workers", "0"], /^--workers 0 \(no Worker of its own\) needs --nats URL/);
  assertRefused(["--workers", String(MAX_WORKERS + 1)], /^--workers must be a whole number/);
});

Deno.test("server flags: flags that do not go together are refused", () => {
  assertRefused(["--min-units", "3", "--max-units", "2"], /^--max-units \(2\) must be at least/);
  assertRefused(["--max-units", "0"], /^--max-units \(0\) must be at least --min-units \(1\)/);
  assertRefused(["--quiet", "--verbose"], /^--quiet and --verbose cannot go together/);
  assertRefused(
    ["--proxy-protocol-from", "127.0.0.1,localhost"],
    /^--proxy-protocol-from takes IP addresses separated by commas .*: received "localhost"/,
  );
});

Deno.test("server flags: bad values are refused, naming the flag", () => {
  const refused: [string, string][] = [
    ["--port", "65536"],
    ["--max-clients", "0"],
    ["--max-line-bytes", "15"],
    ["--idle-timeout", "-1"],
    ["--open-file-limit", "0"],
    ["--open-file-limit", "lots"],
    ["--trace-max-mb", "0"],
    ["--counter", "fast"],
    ["--model", "threads"],
    ["--trace", ""],
  ];
  for (const [flag, value] of refused) {
    assertRefused([`${flag}=${value}`], new RegExp(`^${flag} `));
  }
});

Deno.test("demo flags: --hold, the dashboard with it, and the server's options", () => {
  const demo = (...args: string[]) => parseCommandLine(DEMO_COMMAND, args).flags;
  const flags = demo("--hold", "--dashboard", "--seed", "-5", "--workers", "3");
  assert.deepEqual([flags.hold, flags.dashboard], [true, 8080]);
  assert.deepEqual([serverOptions(flags).seed, serverOptions(flags).workers], [-5, 3]);
  assert.equal(demo().hold, false);
  const refusals: [string[], RegExp][] = [
    [["--dashboard"], /^--dashboard goes with --hold .*: deno task demo --hold --dashboard 8080$/],
    [["--workers", "0"], /^--workers must be a whole number from 1 to/],
    [["--min-units", "3", "--max-units", "2"], /^--max-units \(2\) must be at least/],
    // The server's alone: the demo's server has no fleet, no trace, and its own log.
    [["--trace", "t.json"], /^Unknown option '--trace'/],
    [["--nats", "nats://h"], /^Unknown option '--nats'/],
    [["--quiet"], /^Unknown option '--quiet'/],
  ];
  for (const [args, pattern] of refusals) {
    assert.throws(
      () => demo(...args),
      (error) => error instanceof UsageError && pattern.test(error.message),
      args.join(" "),
    );
  }
});
