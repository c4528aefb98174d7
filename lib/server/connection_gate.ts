/**
 * The gate that caps how many clients are served at once.
 *
 * @module
 */
import { E_CANCELED, Semaphore } from "async-mutex";

/** Options of {@linkcode ConnectionGate}. */
export interface ConnectionGateOptions {
  /** Clients served at once. */
  maxActive: number;
  /** Clients that may wait for a slot; one more is turned away. */
  maxWaiting: number;
}

/** Thrown by {@linkcode ConnectionGate.enter} when too many clients wait already. */
export class GateFullError extends Error {
  constructor(waiting: number) {
    super(`${waiting} clients are already waiting for a slot`);
    this.name = "GateFullError";
  }
}

/** Thrown by {@linkcode ConnectionGate.enter} for waiters still queued when the gate closes. */
export class GateClosedError extends Error {
  constructor() {
    super("the server is shutting down");
    this.name = "GateClosedError";
  }
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
 * const first = await gate.enter();
 * const second = gate.enter();
 * assert.equal(gate.waiting, 1);
 * first[Symbol.dispose]();
 * using _slot = await second;
 * assert.equal(gate.active, 1);
 * ```
 */
export class ConnectionGate {
  #semaphore: Semaphore;
  #maxActive: number;
  #maxWaiting: number;
  #waiting = 0;
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
    this.#semaphore = new Semaphore(maxActive);
    this.#maxActive = maxActive;
    this.#maxWaiting = maxWaiting;
  }

  /** Clients holding a slot. */
  get active(): number {
    return this.#active;
  }

  /** Clients waiting for a slot. */
  get waiting(): number {
    return this.#waiting;
  }

  /** Whether a new client would have to wait. */
  get full(): boolean {
    return this.#active + this.#waiting >= this.#maxActive;
  }

  /**
   * Takes a slot, waiting in line for one if all are taken.
   *
   * @returns The slot; dispose of it (`using`) to hand it to the next in line.
   * @throws {GateFullError} At once, when `maxWaiting` clients wait already.
   * @throws {GateClosedError} When the gate closes before a slot frees.
   */
  async enter(): Promise<Disposable> {
    if (this.#closed) throw new GateClosedError();
    const mustWait = this.full;
    if (mustWait && this.#waiting >= this.#maxWaiting) throw new GateFullError(this.#waiting);
    if (mustWait) this.#waiting++;
    let release: () => void;
    try {
      [, release] = await this.#semaphore.acquire();
    } catch (error) {
      throw error === E_CANCELED ? new GateClosedError() : error;
    } finally {
      if (mustWait) this.#waiting--;
    }
    this.#active++;
    let released = false;
    return {
      [Symbol.dispose]: () => {
        if (released) return;
        released = true;
        this.#active--;
        release();
      },
    };
  }

  /** Turns away everyone waiting ({@linkcode GateClosedError}) and every later caller. */
  close(): void {
    this.#closed = true;
    this.#semaphore.cancel();
  }
}
