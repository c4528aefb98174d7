/**
 * The gate that caps how many clients are served at once: a counting
 * Semaphore of slots with a bounded, first-in first-out waiting line. A freed
 * slot goes to the first in line that has a request ready (the first of all
 * when none has), and a served client may be sent back to the end of the line
 * ({@linkcode ConnectionGate.requeue}), so that clients who send nothing
 * cannot keep the slots from those who do.
 *
 * It is written here rather than taken from `async-mutex` (whose `Mutex`
 * guards each request's counter) because admission must be decided at once,
 * in the caller's turn (served, waiting at position N, or refused: two
 * clients arriving in one tick cannot both take the last place), and because
 * a waiting client that hangs up must leave the line at once; `async-mutex`'s
 * `Semaphore` decides in a later microtask and cannot cancel one waiter.
 *
 * @module
 */

/** Options of {@linkcode ConnectionGate}. */
export interface ConnectionGateOptions {
  /** Clients served at once. */
  maxActive: number;
  /** Clients that may wait for a slot; one more is refused. */
  maxWaiting: number;
}

/** The refusal of {@linkcode ConnectionGate.admit} when too many clients wait already. */
export class GateFullError extends Error {
  /** @param waiting Clients waiting when this one was refused. */
  constructor(waiting: number) {
    super(`${waiting} ${waiting === 1 ? "client is" : "clients are"} already waiting for a slot`);
    this.name = "GateFullError";
  }
}

/** The refusal of new clients, and the rejection of waiting ones, once the gate has closed. */
export class GateClosedError extends Error {
  constructor() {
    super("the server is shutting down");
    this.name = "GateClosedError";
  }
}

/** The gate's answer to a client, decided at once. */
export type Admission =
  /** A slot is free: it is this client's until disposed of. */
  | { kind: "served"; slot: Disposable }
  /**
   * All slots are taken: the client is `position`th in line; `slot` resolves when its turn
   * comes. `leave` takes it out of the line (say, it hung up): `slot` then rejects with the
   * reason; after its turn has come, `leave` does nothing.
   */
  | {
    kind: "waiting";
    position: number;
    slot: Promise<Disposable>;
    leave: (reason: unknown) => void;
  }
  /** The line is full, or the gate is closed. */
  | { kind: "refused"; error: GateFullError | GateClosedError };

/**
 * Whether a client has a request ready to serve (a whole line read, or its input ended): a
 * freed slot goes to the first such client in line.
 */
export type ReadyProbe = () => boolean;

interface Waiter {
  resolve: (slot: Disposable) => void;
  reject: (reason: unknown) => void;
  ready?: ReadyProbe;
}

/**
 * A counting Semaphore of slots with a bounded, first-in first-out waiting line.
 *
 * @example
 * ```ts
 * import { ConnectionGate } from "./connection_gate.ts";
 * import assert from "node:assert/strict";
 *
 * const gate = new ConnectionGate({ maxActive: 1, maxWaiting: 5 });
 * const first = gate.admit();
 * const second = gate.admit();
 * assert.equal(first.kind, "served");
 * assert.equal(second.kind, "waiting");
 * if (first.kind !== "served" || second.kind !== "waiting") throw new Error("unreachable");
 * assert.equal(second.position, 1);
 * first.slot[Symbol.dispose]();
 * using _slot = await second.slot;
 * assert.equal(gate.active, 1);
 * ```
 */
export class ConnectionGate {
  #maxActive: number;
  #maxWaiting: number;
  #line: Waiter[] = [];
  #active = 0;
  #closed = false;

  /**
   * @param options The caps.
   * @throws {RangeError} When a cap is not a whole number (at least 1 for `maxActive`).
   */
  constructor(options: ConnectionGateOptions) {
    const { maxActive, maxWaiting } = options;
    if (!Number.isInteger(maxActive) || maxActive < 1) {
      throw new RangeError(`'maxActive' must be a positive integer: received ${maxActive}`);
    }
    if (!Number.isInteger(maxWaiting) || maxWaiting < 0) {
      throw new RangeError(`'maxWaiting' must be an integer of 0 or more: received ${maxWaiting}`);
    }
    this.#maxActive = maxActive;
    this.#maxWaiting = maxWaiting;
  }

  /** Clients holding a slot. */
  get active(): number {
    return this.#active;
  }

  /** Clients waiting for a slot. */
  get waiting(): number {
    return this.#line.length;
  }

  /**
   * Whether anyone in line has a request ready (or gave no way to ask): only then is it worth
   * sending a served client that idles back to the end of the line.
   *
   * @returns `true` when a waiter has a request ready.
   */
  someoneReady(): boolean {
    return this.#line.some((waiter) => waiter.ready?.() ?? true);
  }

  /**
   * Decides at once what happens to a new client: a slot now, a place in
   * line, or a refusal.
   *
   * @param ready Whether it has a request ready, asked when a slot frees; without it, the
   *   client is served in its turn only when no one ahead of it with a request waits.
   * @returns The admission.
   */
  admit(ready?: ReadyProbe): Admission {
    if (this.#closed) return { kind: "refused", error: new GateClosedError() };
    if (this.#active < this.#maxActive) {
      this.#active++;
      return { kind: "served", slot: this.#slot() };
    }
    if (this.#line.length >= this.#maxWaiting) {
      return { kind: "refused", error: new GateFullError(this.#line.length) };
    }
    return this.#enqueue(ready);
  }

  /**
   * Sends a served client back to the end of the line when others wait, its slot going to
   * the next in turn; it keeps the slot when no one waits. The line does not grow: one
   * leaves it as this one joins, so a full line does not refuse it.
   *
   * @param slot The slot the client holds (from this gate).
   * @param ready Whether it has a request ready, as for {@linkcode ConnectionGate.admit}.
   * @returns `served` with the same slot, `waiting` at the end of the line, or `refused`
   *   (its slot freed) once the gate is closed.
   *
   * @example
   * ```ts
   * import { ConnectionGate } from "./connection_gate.ts";
   * import assert from "node:assert/strict";
   *
   * const gate = new ConnectionGate({ maxActive: 1, maxWaiting: 1 });
   * const keeper = gate.admit();
   * const student = gate.admit();
   * if (keeper.kind !== "served" || student.kind !== "waiting") throw new Error("unreachable");
   * const back = gate.requeue(keeper.slot);
   * assert.equal(back.kind, "waiting");
   * using _studentSlot = await student.slot; // the student is served, the keeper waits
   * assert.deepEqual([gate.active, gate.waiting], [1, 1]);
   * ```
   */
  requeue(slot: Disposable, ready?: ReadyProbe): Admission {
    if (this.#closed) {
      slot[Symbol.dispose]();
      return { kind: "refused", error: new GateClosedError() };
    }
    if (this.#line.length === 0) return { kind: "served", slot };
    slot[Symbol.dispose](); // to the next in turn: the line is one shorter…
    return this.#enqueue(ready); // …until this one joins its end
  }

  #enqueue(ready: ReadyProbe | undefined): Admission {
    const { promise, resolve, reject } = Promise.withResolvers<Disposable>();
    const waiter: Waiter = { resolve, reject, ready };
    const leave = (reason: unknown) => {
      const at = this.#line.indexOf(waiter);
      if (at < 0) return; // served or turned away already
      this.#line.splice(at, 1);
      reject(reason);
    };
    this.#line.push(waiter);
    return { kind: "waiting", position: this.#line.length, slot: promise, leave };
  }

  /** Turns away everyone waiting ({@linkcode GateClosedError}) and every later caller. */
  close(): void {
    this.#closed = true;
    const line = this.#line;
    this.#line = [];
    for (const waiter of line) waiter.reject(new GateClosedError());
  }

  #slot(): Disposable {
    return new ConnectionGate.#Slot(this);
  }

  #release(): void {
    const line = this.#line;
    if (line.length === 0) {
      this.#active--;
      return;
    }
    // The slot passes straight to the first in line with a request ready, else to the first:
    // one who has sent nothing does not keep it from those behind who have.
    let at = line.findIndex((waiter) => waiter.ready?.() === true);
    if (at < 0) at = 0;
    const [next] = line.splice(at, 1);
    next.resolve(this.#slot());
  }

  /** A slot held: one small object, its release on the prototype (a server holds thousands). */
  static #Slot = class implements Disposable {
    #gate?: ConnectionGate;

    constructor(gate: ConnectionGate) {
      this.#gate = gate;
    }

    [Symbol.dispose](): void {
      const gate = this.#gate;
      this.#gate = undefined; // released once, however often disposed of
      if (gate) gate.#release();
    }
  };
}
