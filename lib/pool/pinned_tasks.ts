/**
 * Tasks pinned to a lane (`JobOptions.lane`) that the scheduler drew while filling
 * another lane's batch: held here, per lane, and sent to their own lane when it has room.
 *
 * @module
 */
import type { Lane } from "./lane.ts";
import type { Task } from "./job_queue.ts";

/**
 * The pool's tasks held for the lane their job pins them to.
 *
 * @example
 * ```ts
 * import { PinnedTasks } from "./pinned_tasks.ts";
 * import assert from "node:assert/strict";
 *
 * const pinned = new PinnedTasks([]);
 * assert.equal(pinned.size, 0);
 * ```
 */
export class PinnedTasks {
  #lanes: readonly Lane<Task>[];
  #held = new Map<number, Task[]>();

  /** @param lanes The pool's lanes, by index (the pool's own array: lanes it adds count). */
  constructor(lanes: readonly Lane<Task>[]) {
    this.#lanes = lanes;
  }

  /** Lanes with tasks held for them. */
  get size(): number {
    return this.#held.size;
  }

  /** Tasks held whose job has not settled. */
  get queued(): number {
    let count = 0;
    for (const tasks of this.#held.values()) {
      for (const task of tasks) if (!task.job.settled) count++;
    }
    return count;
  }

  /**
   * Places a task drawn for lane `here`: it stays, or it is held for the lane its job
   * pins it to (a pin to a lane that does not exist: lane 0).
   *
   * @param task The task.
   * @param here The index of the lane whose batch is being filled.
   * @returns The index of the lane it runs on: `here`, or the lane it is now held for.
   */
  place(task: Task, here: number): number {
    const pin = task.job.options.lane;
    if (!pin) return here;
    let to = pin(task.no);
    if (!Number.isInteger(to) || to < 0 || to >= this.#lanes.length) to = 0;
    if (to === here) return here;
    const held = this.#held.get(to);
    if (held) held.push(task);
    else this.#held.set(to, [task]);
    return to;
  }

  /**
   * Offers each lane the tasks held for it, at most `maxBatch` at a time.
   *
   * @param maxBatch Most tasks in a batch.
   * @param send Sends a batch to a lane, or says `false` when it cannot take one now.
   */
  dispatch(maxBatch: number, send: (lane: Lane<Task>, tasks: Task[]) => boolean): void {
    for (const [index, tasks] of this.#held) {
      const live = tasks.filter((task) => !task.job.settled);
      if (live.length === 0) {
        this.#held.delete(index);
        continue;
      }
      if (!send(this.#lanes[index], live.slice(0, maxBatch))) continue;
      live.splice(0, maxBatch);
      if (live.length === 0) this.#held.delete(index);
      else this.#held.set(index, live);
    }
  }

  /** Forgets every held task (the pool closed). */
  clear(): void {
    this.#held.clear();
  }
}
