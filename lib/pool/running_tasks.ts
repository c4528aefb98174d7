/**
 * What the pool's Workers run now, sampled from their lanes: the dashboard draws
 * each running increment up to now, at no message per task (a local Worker
 * writes what it starts into its task ring before the spin).
 *
 * @module
 */
import type { Lane } from "./lane.ts";
import type { Task } from "./job_queue.ts";

/** A task a lane runs now: see `WorkerPool.runningTasks`. */
export interface RunningTask {
  worker: number;
  /** Its job's `name`, if it has one. */
  job: string | undefined;
  /** Its number within the job, from 1. */
  no: number;
  /** When it started, ms since the epoch, by its Worker's clock. */
  startedAt: number;
}

/**
 * Samples what each lane's Worker runs now; a lane that cannot tell is left out.
 *
 * @param lanes The pool's lanes, in order: a lane's index is its `worker`.
 * @returns For each running task: its lane, its job's name, its number in the job,
 *   and when it started (ms since the epoch, by its Worker's clock).
 */
export function runningTasksOf(lanes: readonly Lane<Task>[]): RunningTask[] {
  const running: RunningTask[] = [];
  lanes.forEach((lane, worker) => {
    const now = lane.running?.();
    if (!now) return;
    const { task, startedAt } = now;
    running.push({ worker, job: task.job.options.name, no: task.no, startedAt });
  });
  return running;
}
