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
import type { LaneTask } from "../pool/lane.ts";
import type { RemoteLane } from "./remote_lane.ts";

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
 * ```ts ignore
 * const seats = new LaneSeats(() => pool.addLane((listener) => new RemoteLane({ … })));
 * const lane = seats.take("lab-b", 0);
 * seats.free(lane, "lab-b stopped");
 * ```
 */
export class LaneSeats<T extends LaneTask> {
  #make: () => RemoteLane<T>;
  #all: RemoteLane<T>[] = [];
  #free: RemoteLane<T>[] = [];
  /** The name each free seat had last. */
  #lastName = new Map<RemoteLane<T>, string>();

  /**
   * @param make Adds a new lane to the pool, when no seat is free.
   */
  constructor(make: () => RemoteLane<T>) {
    this.#make = make;
  }

  /** Every seat, bound or free. */
  get all(): readonly RemoteLane<T>[] {
    return this.#all;
  }

  /**
   * Binds a free seat (or a new one) to Worker `worker` of `node`.
   *
   * @param node The node's name.
   * @param worker The Worker's index.
   * @returns The lane, bound and still down.
   */
  take(node: string, worker: number): RemoteLane<T> {
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
  free(lane: RemoteLane<T>, reason: string): void {
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
