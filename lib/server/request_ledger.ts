/**
 * The server's account of its requests: it names them, holds those in flight,
 * and adds up the updates they lost. Each request reports to it as it begins
 * and ends; the server reads it for `STATS` and the dashboard.
 *
 * @module
 */

/** A request being counted, as the server, STATS and the dashboard see it. */
export interface RequestProgress {
  /** `R<n>`, unique in this server's life. */
  readonly request: string;
  /** The client's address. */
  readonly conn: string;
  /** The value counting started from. */
  readonly start: bigint;
  /** Increments asked for. */
  readonly increments: number;
  /** When counting started, in ms since the Unix epoch. */
  readonly startedAt: number;
  /** Increments applied so far. */
  readonly done: number;
  /** The counter's value now. */
  readonly value: bigint;
  /** Critical sections entered (one per batch of reports applied). */
  readonly sections: number;
  /** Sections that had to wait for the Mutex because another held it. */
  readonly sectionsWaited: number;
  /** Whether a section holds the Mutex now. */
  readonly sectionHeld: boolean;
}

/**
 * Names requests, holds the ones in flight (oldest first), and sums the
 * updates lost by those that were answered.
 *
 * @example
 * ```ts
 * import { type RequestProgress, RequestLedger } from "./request_ledger.ts";
 * import assert from "node:assert/strict";
 *
 * const ledger = new RequestLedger();
 * const request = { request: ledger.name(), conn: "127.0.0.1:5000" } as RequestProgress;
 * ledger.begin(request);
 * assert.deepEqual(ledger.inFlight(), [request]);
 * ledger.end(request, 3);
 * assert.equal(ledger.requests, 1);
 * assert.equal(ledger.updatesLost, 3);
 * assert.deepEqual(ledger.inFlight(), []);
 * ```
 */
export class RequestLedger {
  #inFlight = new Set<RequestProgress>();
  #named = 0;
  #updatesLost = 0;

  /** Requests named so far. */
  get requests(): number {
    return this.#named;
  }

  /** Requests in flight now. */
  get inFlightCount(): number {
    return this.#inFlight.size;
  }

  /** Updates lost by the requests answered so far (racy ones lose some). */
  get updatesLost(): number {
    return this.#updatesLost;
  }

  /**
   * Names the next request.
   *
   * @returns `R1`, then `R2`, and so on.
   */
  name(): string {
    return `R${++this.#named}`;
  }

  /**
   * Holds a request in flight until {@linkcode RequestLedger.end}.
   *
   * @param request The request.
   */
  begin(request: RequestProgress): void {
    this.#inFlight.add(request);
  }

  /**
   * Lets a request go: it was answered, or it failed.
   *
   * @param request The request.
   * @param updatesLost Updates it lost, when it was answered.
   */
  end(request: RequestProgress, updatesLost = 0): void {
    if (this.#inFlight.delete(request)) this.#updatesLost += updatesLost;
  }

  /**
   * The requests in flight.
   *
   * @returns A copy, oldest first.
   */
  inFlight(): RequestProgress[] {
    return [...this.#inFlight];
  }
}
