/**
 * The pool's remote lanes as seats: the pool never removes a lane (its lane
 * numbers stay put, in the log, the dashboard and the trace), so the fleet binds
 * a free seat to each Worker of a node that joins, and frees the seats of a node
 * that leaves for the next one. The seats are never more than the most remote
 * Workers in use at once. A seat is given back to the same Worker when it returns
 * (a node restarted under its name), so that its lane keeps its number and name.
 *
 * @module
 */

/** A seat as the seats see it: a remote lane, bound to a node's Worker or free. */
export interface Seat {
  /** Its name: `node/worker N` while bound. */
  readonly name: string;
  /** The node it is bound to, if any. */
  readonly node: string | undefined;
  /** Batches in flight. */
  readonly inFlight: number;
  /** Whether its node is up. */
  readonly isUp: boolean;
  /** Binds it to Worker `worker` of `node`. */
  bind(node: string, worker: number): void;
  /** Frees it; its batches go back to the scheduler. */
  unbind(reason: string): void;
}

/** Counts over the seats, for `STATS`. */
export interface SeatCounts {
  /** Seats bound to a Worker. */
  bound: number;
  /** Of those, the ones with a batch in flight. */
  boundBusy: number;
  /** Seats, bound or free. */
  seats: number;
  /** Seats with a batch in flight. */
  busy: number;
  /** Seats whose node is up. */
  up: number;
}

/**
 * The fleet's seats in the pool.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LaneSeats, type Seat } from "./lane_seats.ts";
 *
 * // The fleet makes each seat with `pool.addLane(…)`, a `RemoteLane`; here, a plain one.
 * const seat = (): Seat => {
 *   const it = {
 *     name: "remote (free)",
 *     node: undefined as string | undefined,
 *     inFlight: 0,
 *     isUp: false,
 *     bind(node: string, worker: number) {
 *       [it.node, it.name] = [node, `${node}/worker ${worker}`];
 *     },
 *     unbind() {
 *       [it.node, it.name] = [undefined, "remote (free)"];
 *     },
 *   };
 *   return it;
 * };
 * const seats = new LaneSeats(seat);
 * const lane = seats.take("lab-b", 0);
 * seats.free(lane, "lab-b stopped");
 * assert.equal(seats.take("lab-c", 0), lane); // the same seat, the same lane number
 * assert.equal(seats.all.length, 1);
 * ```
 */
export class LaneSeats<S extends Seat> {
  #make: () => S;
  #all: S[] = [];
  #free: S[] = [];
  /** The name each free seat had last. */
  #lastName = new Map<S, string>();

  /**
   * @param make Adds a new lane to the pool, when no seat is free.
   */
  constructor(make: () => S) {
    this.#make = make;
  }

  /** Every seat, bound or free. */
  get all(): readonly S[] {
    return this.#all;
  }

  /**
   * Binds a free seat (or a new one) to Worker `worker` of `node`.
   *
   * @param node The node's name.
   * @param worker The Worker's index.
   * @returns The lane, bound and still down.
   */
  take(node: string, worker: number): S {
    const name = `${node}/worker ${worker}`;
    const same = this.#free.findLastIndex((seat) => this.#lastName.get(seat) === name);
    let lane = same < 0 ? this.#free.pop() : this.#free.splice(same, 1)[0];
    if (!lane) {
      lane = this.#make();
      this.#all.push(lane);
    }
    lane.bind(node, worker);
    return lane;
  }

  /**
   * Unbinds a lane (its batches go back to the scheduler) and frees its seat.
   *
   * @param lane The lane.
   * @param reason Why, for the tasks handed back.
   */
  free(lane: S, reason: string): void {
    this.#lastName.set(lane, lane.name);
    lane.unbind(reason);
    this.#free.push(lane);
  }

  /** Counts for `STATS`. */
  counts(): SeatCounts {
    const counts = { bound: 0, boundBusy: 0, seats: this.#all.length, busy: 0, up: 0 };
    for (const lane of this.#all) {
      const busy = lane.inFlight > 0;
      if (busy) counts.busy++;
      if (lane.isUp) counts.up++;
      if (lane.node === undefined) continue;
      counts.bound++;
      if (busy) counts.boundBusy++;
    }
    return counts;
  }
}
