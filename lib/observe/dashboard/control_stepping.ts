/**
 * The dashboard's step control (`POST /control/step`): the teacher is the scheduler of
 * one count, on the projected page. It holds one real TCP connection to the server and
 * speaks the wire as a student would (`COUNTER racy`, `STEP ON`, `0 2`, then `STEP 0`,
 * `STEP 1`, …, or `STEP RUN`); what the panel shows is built from the server's answers.
 * Reset replays the steps so far but the last on a new connection (undo): the Workers
 * really run those steps again.
 *
 * @module
 */
import { MAX_STEPPED_INCREMENTS } from "../../defaults/defaults.ts";
import { LineReader } from "../../wire/line_reader.ts";
import { closeQuietly, writeAll } from "../../wire/write_all.ts";
import { parseCommand, parseReply, ProtocolError, type Reply } from "../../wire/protocol.ts";
import type { ServerEvent } from "../../server/server_events.ts";
import type { StepPanelView } from "./dashboard_views.ts";
import { idleStepView, StepPanelState } from "./step_panel_state.ts";

/** The words of the server's notice that a stepped count waits for another's (stepping.ts). */
const WAITS_FOR_STEPPER = "waits for another client's stepped count";

/** The name the control's connection gives itself (`NAME step-panel`). */
const STEP_PANEL_NAME = "step-panel";

/** The connection of one count, and the answer it waits for. */
interface Line {
  conn: Deno.TcpConn;
  reader: LineReader;
  /** The read loop: settles when the connection ends. */
  reading: Promise<void>;
  /** Whether the control hung up itself (a new count, a reset, the dashboard's end). */
  hungUp: boolean;
  /** The answer awaited: which reply ends the wait, and who to tell. */
  awaited?: { ends: (reply: Reply) => boolean; settle: (reply: Reply | undefined) => void };
}

/** What the page may ask, `POST /control/step`. */
type Ask =
  | { action: "start"; counter: "racy" | "locked"; request: string; start: bigint }
  | { action: "step"; worker: number }
  | { action: "run" }
  | { action: "undo" };

/** Options of {@linkcode SteppingControl}. */
export interface SteppingControlOptions {
  /** The server's TCP address. */
  address: { hostname: string; port: number };
  /** The server's Workers now: increment k of a count runs on Worker (k − 1) mod this. */
  workers: () => number;
  /** Most increments of a count stepped from the page. Defaults to `MAX_STEPPED_INCREMENTS`. */
  maxIncrements?: number;
}

/**
 * The count the teacher steps from the page: at most one, on one connection.
 *
 * @example
 * ```ts
 * import { SteppingControl } from "./control_stepping.ts";
 * import assert from "node:assert/strict";
 *
 * const control = new SteppingControl({
 *   address: { hostname: "127.0.0.1", port: 9 },
 *   workers: () => 2,
 * });
 * assert.equal(control.view().phase, "off");
 * assert.equal((await control.answer('{"action": "run"}')).status, 409);
 * await control.close();
 * ```
 */
export class SteppingControl {
  #options: Required<SteppingControlOptions>;
  #state: StepPanelState | undefined;
  #version = 0;
  #line: Line | undefined;
  /** The actions, one after another. */
  #queue: Promise<unknown> = Promise.resolve();
  /** Other clients' stepped counts seen stepping, by client: one holds the Workers. */
  #others = new Map<string, string>();
  /** The control's own address, as the server names it in its events. */
  #peer = "";
  /** Whether the server said the count waits for another client's stepped count. */
  #behind = false;
  /** Why the server let the count's other steps run freely, as its notice said. */
  #freed: string | undefined;
  /** Actions asked and not finished. */
  #pending = 0;
  #closed = false;

  /** @param options The server's address and Workers. */
  constructor(options: SteppingControlOptions) {
    this.#options = { maxIncrements: MAX_STEPPED_INCREMENTS, ...options };
  }

  /** The panel now; its `version` grows with each change. */
  view(): StepPanelView {
    if (!this.#state) return idleStepView(this.#version);
    const view = this.#state.view(this.#version);
    const [other] = this.#others;
    if (view.waiting && (other || this.#behind)) {
      // One stepped count at a time on the pool: ours waits for theirs.
      const whose = other ? ` (${other[0]}, ${other[1]})` : "";
      view.waiting += `; the Workers are stepping another client's count${whose}: ` +
        "yours runs when it ends";
    }
    return view;
  }

  /**
   * Hears the server's events: which other clients step a count now, and the server's
   * notices about the control's own count (it waits for the Workers, or runs freely, and why).
   *
   * @param event One event.
   */
  hear(event: ServerEvent): void {
    if (event.type === "notice" && this.#peer && event.message.startsWith(`${this.#peer} `)) {
      // About our count: it waits for the Workers, or its other steps run freely, and why.
      const words = event.message.slice(this.#peer.length + 1);
      if (words.includes(WAITS_FOR_STEPPER)) this.#behind = true;
      else this.#freed = words.replace(/; its other steps run freely$/, "");
    } else if (
      (event.type === "task-queued" || event.type === "step") && event.conn === this.#peer
    ) {
      // The count has the Workers: its tasks are on them, its steps taken.
      if (!this.#behind) return;
      this.#behind = false;
    } else if (event.type === "step") {
      if (this.#others.has(event.conn)) return;
      this.#others.set(event.conn, event.request);
    } else if (
      event.type === "result" || event.type === "request-failed" || event.type === "closed"
    ) {
      if (!this.#others.delete(event.conn)) return;
    } else return;
    this.#version++;
  }

  /**
   * Answers `POST /control/step`: `{"action": "start", "counter": "racy", "request": "0 2"}`,
   * `{"action": "step", "worker": 0}`, `{"action": "run"}` or `{"action": "undo"}` (reset:
   * replay all steps but the last). `200` with the panel once the server answered; `400`
   * for a bad body; `409` when the action cannot be taken now, saying why.
   *
   * @param text The request's body.
   * @returns The answer.
   */
  async answer(text: string): Promise<Response> {
    const ask = this.#read(text);
    if (typeof ask === "string") return plain(400, `bad request: ${ask}\n`);
    if (this.#closed) return plain(409, "the dashboard is closing\n");
    const state = this.#state;
    if (ask.action === "step" || ask.action === "run") {
      const why = this.#pending > 0
        ? "the last step (or start, or reset) is not answered yet: wait for it"
        : !state || state.over
        ? "no stepped count is running: start one"
        : ask.action === "step" && ask.worker >= state.workers
        ? `worker ${ask.worker} has no step in this count: its increments run on ` +
          (state.workers === 1 ? "worker 0" : `workers 0 to ${state.workers - 1}`)
        : ask.action === "step" && !state.steppable(ask.worker)
        ? `worker ${ask.worker} has no step to take now (it is done, or waits for the lock)`
        : undefined;
      if (why) return plain(409, `${why}\n`);
    }
    if (ask.action === "undo" && !state) return plain(409, "nothing to reset: start a count\n");
    // A new count, or a reset, hangs up the old one first: an answer it waits for ends.
    if (ask.action === "start" || ask.action === "undo") this.#hangUp();
    this.#pending++;
    const run = this.#queue.then(() => this.#act(ask)).finally(() => this.#pending--);
    this.#queue = run.catch(() => {});
    await run;
    return new Response(JSON.stringify(this.view()) + "\n", {
      headers: { "content-type": "application/json" },
    });
  }

  /** Hangs up the count's connection (its Workers go free), and waits for its end. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#hangUp();
    await this.#queue;
    await this.#line?.reading;
  }

  async #act(ask: Ask): Promise<void> {
    if (this.#closed) return;
    const state = this.#state;
    if (ask.action === "start") return this.#begin(ask, []);
    if (!state) return;
    if (ask.action === "undo") {
      // Back by one step; after a run, or an end without an answer, back to the last step.
      const steps = state.ranFreely || (state.over && state.result === undefined)
        ? state.steps
        : state.steps.slice(0, -1);
      return this.#begin(state.count, [...steps]);
    }
    if (ask.action === "step") await this.#take(state, `STEP ${ask.worker}`);
    else await this.#take(state, "STEP RUN");
  }

  /** Opens a connection, starts the count, and replays `steps`. */
  async #begin(count: StepPanelState["count"], steps: number[]): Promise<void> {
    // The count before, if any, ends first (one asked while this one waited its turn, too).
    this.#hangUp();
    await this.#line?.reading;
    const state = new StepPanelState({ ...count, workers: this.#options.workers() });
    this.#state = state;
    this.#peer = "";
    this.#behind = false;
    this.#freed = undefined;
    this.#changed(() => state.wait("connecting to the server"));
    let conn: Deno.TcpConn;
    try {
      conn = await Deno.connect(this.#options.address);
    } catch (error) {
      const { hostname, port } = this.#options.address;
      this.#changed(() =>
        state.fail(`cannot reach the server at ${hostname}:${port} (${error})`, true)
      );
      return;
    }
    if (this.#closed || this.#state !== state) return closeQuietly(conn);
    this.#peer = `${conn.localAddr.hostname}:${conn.localAddr.port}`;
    const reader = new LineReader(conn, { maxLineBytes: 64 * 1024 });
    const line: Line = { conn, reader, reading: Promise.resolve(), hungUp: false };
    line.reading = this.#readAll(line, state);
    this.#line = line;
    // Named, so the page's other panels call its requests the step panel's.
    for (const send of [`NAME ${STEP_PANEL_NAME}`, `COUNTER ${count.counter}`, "STEP ON"]) {
      const reply = await this.#ask(
        line,
        state,
        send,
        (r) => r.kind === "ok" || r.kind === "error",
      );
      if (reply?.kind === "ok") continue;
      // Its error, or the connection's end, is on the panel already.
      this.#changed(() => state.fail(undefined, true));
      return this.#hangUp();
    }
    // The count runs, its Workers waiting for steps; one the server cannot step is refused
    // at once (ERR), which the read loop hears.
    this.#changed(() => state.stepping());
    if (!await this.#write(line, state, count.request)) return;
    for (const worker of steps) {
      if (!state.steppable(worker) || !await this.#take(state, `STEP ${worker}`)) return;
    }
  }

  /** Sends `STEP <worker>` or `STEP RUN`, and waits for the answer. */
  async #take(state: StepPanelState, send: string): Promise<boolean> {
    const line = this.#line;
    if (!line || line.hungUp) return false;
    const reply = await this.#ask(
      line,
      state,
      send,
      (r) => r.kind === "error" || r.kind === "value" || (r.kind === "step" && !state.stepped),
    );
    return reply !== undefined && reply.kind !== "error";
  }

  /** Writes a line, and waits for the reply that `ends` the wait (or for the end). */
  async #ask(
    line: Line,
    state: StepPanelState,
    send: string,
    ends: (reply: Reply) => boolean,
  ): Promise<Reply | undefined> {
    const { promise, resolve } = Promise.withResolvers<Reply | undefined>();
    line.awaited = { ends, settle: resolve };
    this.#changed(() => state.wait(`${send} sent: waiting for the server's answer`));
    if (!await this.#write(line, state, send)) line.awaited.settle(undefined);
    const reply = await promise;
    line.awaited = undefined;
    this.#changed(() => state.wait(undefined));
    return reply;
  }

  async #write(line: Line, state: StepPanelState, text: string): Promise<boolean> {
    try {
      await writeAll(line.conn, `${text}\n`);
      return true;
    } catch {
      if (!line.hungUp) this.#changed(() => state.fail("the server closed the connection", true));
      return false;
    }
  }

  /** Reads the server's lines until the connection ends: each changes the panel. */
  async #readAll(line: Line, state: StepPanelState): Promise<void> {
    for (
      let event = await line.reader.next();
      event.kind !== "end";
      event = await line.reader.next()
    ) {
      if (event.kind !== "line") continue;
      const reply = parseReply(event.text);
      this.#changed(() => {
        if (reply.kind === "value" && (line.awaited === undefined || this.#freed)) {
          // Not the teacher's STEP RUN: the server's step idle time, its step hold, its end.
          state.fail(
            this.#freed === undefined
              ? "the server let the rest run freely (its step idle time or step hold ran " +
                "out, or it is shutting down)"
              : `the server let the rest run freely (${this.#freed})`,
            false,
          );
        }
        if (reply.kind === "step") state.step(reply.step, event.text);
        else if (reply.kind === "value") state.finish(reply.value, event.text);
        // An error that answers a step leaves the count running; any other ends it (the
        // count refused, the connection closed by the server).
        else if (reply.kind === "error") {
          state.fail(`the server answered: ${event.text}`, line.awaited === undefined);
        }
      });
      if (line.awaited?.ends(reply)) line.awaited.settle(reply);
      // The count answered: nothing more to say on this connection.
      if (reply.kind === "value") closeQuietly(line.conn);
    }
    if (!line.hungUp && !state.over) {
      this.#changed(() => state.fail("the server closed the connection", true));
    }
    closeQuietly(line.conn);
    line.awaited?.settle(undefined);
  }

  #hangUp(): void {
    const line = this.#line;
    if (!line) return;
    line.hungUp = true;
    closeQuietly(line.conn);
    line.awaited?.settle(undefined);
  }

  #changed(change: () => void): void {
    change();
    this.#version++;
  }

  /** The page's ask, checked; else what is wrong with it. */
  #read(text: string): Ask | string {
    const most = this.#options.maxIncrements;
    const expected = `send {"action": "start", "counter": "racy" or "locked", "request": ` +
      `"0 2"} (at most ${most} increments), {"action": "step", "worker": 0}, ` +
      `{"action": "run"} or {"action": "undo"}`;
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(text);
    } catch {
      return expected;
    }
    if (typeof body !== "object" || body === null) return expected;
    const { action, counter, request, worker } = body;
    if (action === "run" || action === "undo") return { action };
    if (action === "step") {
      return Number.isSafeInteger(worker) && (worker as number) >= 0
        ? { action, worker: worker as number }
        : expected;
    }
    if (action !== "start" || (counter !== "racy" && counter !== "locked")) return expected;
    if (typeof request !== "string") return expected;
    let start: bigint, increments: number;
    try {
      const command = parseCommand(request, { maxIncrements: most });
      if (command.kind !== "count" || command.increments < 1) return expected;
      ({ start, increments } = command);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      return `${error.message}; ${expected}`;
    }
    return { action, counter, request: `${start} ${increments}`, start };
  }
}

function plain(status: number, text: string): Response {
  return new Response(text, { status, headers: { "content-type": "text/plain; charset=utf-8" } });
}
