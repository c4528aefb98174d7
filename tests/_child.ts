/**
 * Child processes of the suite and the benchmarks, each with a time limit: a child that does
 * not end within its limit is killed (with its process group, when it has one), and whoever
 * awaits it hears which child did not end, instead of the suite hanging.
 *
 * @module
 */

/** How long a child may run, unless its caller names another bound. */
export const CHILD_LIMIT_MS = 60_000;

/** The project's root: the working directory of every child unless told otherwise. */
export const ROOT = new URL("..", import.meta.url);

/** How to start a child. */
export interface ChildOptions {
  /** The child's arguments (after the command). */
  args?: string[];
  /** Its working directory; the project's root by default. */
  cwd?: string | URL;
  /** Variables added to the environment it inherits. */
  env?: Record<string, string>;
  stdin?: "piped" | "null";
  stdout?: "piped" | "null";
  stderr?: "piped" | "null";
  /**
   * Runs it as a terminal runs a command: in a process group of its own (`setsid`), so that
   * a signal to the group reaches every process of it. The limit kills the whole group.
   */
  group?: boolean;
  /** What it is, for the message when it does not end: the command line by default. */
  name?: string;
  /** How long it may run before it is killed and its awaiters fail: {@linkcode CHILD_LIMIT_MS}. */
  limitMs?: number;
}

/** Thrown to whoever awaits a child that its time limit killed. */
export class ChildTimeoutError extends Error {
  constructor(name: string, limitMs: number) {
    super(`${name} did not end within ${limitMs / 1000} s: it was killed`);
    this.name = "ChildTimeoutError";
  }
}

/**
 * A running child process with a time limit. Dispose of it (`await using`) to kill whatever
 * is left of it and wait for its end.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Child } from "./_child.ts";
 * await using child = new Child("true");
 * assert.equal((await child.status).code, 0);
 * ```
 */
export class Child implements AsyncDisposable {
  /** The process: its pipes, as asked for. */
  readonly process: Deno.ChildProcess;
  /** The command line shown when it fails. */
  readonly name: string;
  readonly #group: boolean;
  readonly #limit: AbortSignal;
  readonly #limitMs: number;
  readonly #onLimit = () => this.#kill("SIGKILL");
  readonly #ended: Promise<Deno.CommandStatus>;
  #exited = false;

  constructor(command: string, options: ChildOptions = {}) {
    const { args = [], group = false, limitMs = CHILD_LIMIT_MS } = options;
    this.name = options.name ?? [command, ...args].join(" ");
    this.#group = group;
    this.#limitMs = limitMs;
    this.process = new Deno.Command(group ? "setsid" : command, {
      args: group ? [command, ...args] : args,
      cwd: options.cwd ?? ROOT,
      env: options.env,
      stdin: options.stdin ?? "null",
      stdout: options.stdout ?? "piped",
      stderr: options.stderr ?? "piped",
    }).spawn();
    this.#limit = AbortSignal.timeout(limitMs);
    this.#limit.addEventListener("abort", this.#onLimit, { once: true });
    this.#ended = this.process.status.then((status) => {
      this.#exited = true;
      this.#limit.removeEventListener("abort", this.#onLimit);
      return status;
    });
  }

  /** Its process id; with `group`, also the id of its process group. */
  get pid(): number {
    return this.process.pid;
  }

  /** How it ended; rejects with {@linkcode ChildTimeoutError} when its time limit killed it. */
  get status(): Promise<Deno.CommandStatus> {
    return this.#ended.then((status) => {
      if (this.#limit.aborted) throw new ChildTimeoutError(this.name, this.#limitMs);
      return status;
    });
  }

  /** Sends `signal` to the child, or to its whole group with `group`; nothing once it ended. */
  kill(signal: Deno.Signal = "SIGTERM"): void {
    this.#kill(signal);
  }

  /** Sends `signal` to the child alone, even when it leads a group (as `kill PID` does). */
  killLeader(signal: Deno.Signal): void {
    if (this.#exited) return;
    try {
      this.process.kill(signal);
    } catch { /* it ended meanwhile */ }
  }

  #kill(signal: Deno.Signal): void {
    // A group outlives its leader: its other processes may still run after the leader ended.
    if (this.#exited && !this.#group) return;
    try {
      if (this.#group) Deno.kill(-this.process.pid, signal);
      else this.process.kill(signal);
    } catch { /* it ended meanwhile */ }
  }

  /** Waits for its end and reads whatever was piped, as text. */
  async output(): Promise<ChildOutput> {
    const text = (stream: ReadableStream<Uint8Array> | null) =>
      stream ? new Response(stream).text() : Promise.resolve("");
    const [stdout, stderr] = await Promise.all([
      text(this.#piped("stdout")),
      text(this.#piped("stderr")),
    ]);
    const { code, signal } = await this.status;
    return { code, signal, stdout, stderr };
  }

  #piped(which: "stdout" | "stderr"): ReadableStream<Uint8Array> | null {
    try {
      return this.process[which];
    } catch {
      return null; // not piped
    }
  }

  /** Kills what is left of it, waits for its end, and closes its pipes. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#kill("SIGKILL");
    await this.#ended;
    for (const which of ["stdout", "stderr"] as const) {
      const stream = this.#piped(which);
      if (stream && !stream.locked) await stream.cancel().catch(() => {});
    }
    this.#limit.removeEventListener("abort", this.#onLimit);
  }
}

/** What a child printed and how it ended. */
export interface ChildOutput {
  code: number;
  signal: Deno.Signal | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command to its end within its time limit, with `input` on its standard input.
 *
 * @returns Its exit code, signal and output, as text.
 * @throws {ChildTimeoutError} When it did not end within its limit.
 */
export async function runChild(
  command: string,
  options: ChildOptions & { input?: string } = {},
): Promise<ChildOutput> {
  const { input, ...rest } = options;
  await using child = new Child(command, {
    ...rest,
    stdin: input === undefined ? "null" : "piped",
  });
  if (input !== undefined) {
    const writer = child.process.stdin.getWriter();
    await writer.write(new TextEncoder().encode(input)).catch(() => {});
    await writer.close().catch(() => {});
  }
  return await child.output();
}

/** Runs `deno ARGS` (this Deno) to its end; see {@linkcode runChild}. */
export function runDeno(
  args: string[],
  options: Omit<ChildOptions, "args"> & { input?: string } = {},
): Promise<ChildOutput> {
  return runChild(Deno.execPath(), { name: `deno ${args.join(" ")}`, ...options, args });
}

/**
 * The Deno flags a task of `deno.json` runs its script with (the words between `deno run` and
 * the script), so that a test or benchmark runs the script exactly as the task does.
 *
 * @param task The task's name, e.g. `server`.
 * @param script The script the task runs, e.g. `server.ts`.
 */
export function denoTaskFlags(task: string, script: string): string[] {
  const config = JSON.parse(Deno.readTextFileSync(new URL("deno.json", ROOT)));
  const words: string[] = config.tasks[task].command.split(/\s+/);
  const at = words.indexOf(script);
  if (words[0] !== "deno" || words[1] !== "run" || at < 0) {
    throw new Error(`the ${task} task does not run deno run … ${script}: ${words.join(" ")}`);
  }
  return words.slice(2, at);
}

// deno-lint-ignore no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;

/**
 * A child's stderr without the lines Deno itself prints while it fetches a dependency
 * (`Download https://…`, whatever the colours): what is left is what the program printed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { programStderr } from "./_child.ts";
 * const stderr = "\x1b[0m\x1b[32mDownload\x1b[0m https://registry.npmjs.org/x\nours\n";
 * assert.equal(programStderr(stderr), "ours\n");
 * ```
 */
export function programStderr(stderr: string): string {
  return stderr
    .split(/(?<=\n)/)
    .filter((line) => !/^Download https?:\/\/\S+\r?\n?$/.test(line.replace(ANSI, "")))
    .join("");
}
