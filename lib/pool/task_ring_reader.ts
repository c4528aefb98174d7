/**
 * The Worker's side of a task ring (laid out in `task_ring.ts`): it takes the
 * tasks the pool publishes, sleeping in `Atomics.wait` when there are none, runs
 * them through the one run loop ({@linkcode TaskRunner}) and tells the pool of
 * their reports.
 *
 * @module
 */
import {
  DONE,
  MESSAGES,
  openTaskRing,
  SLEEPING,
  STOPPED,
  TAIL,
  type TaskRingInit,
  WAKE,
} from "./task_ring.ts";
import { type AroundTask, TaskRunner } from "./worker_messages.ts";

/**
 * A Worker busy with a long run of tasks tells the pool of those done at least
 * this often, in ms, so progress and the dashboard stay live.
 */
export const REPORT_EVERY_MS = 1;
/**
 * How long a Worker that has run every task it was given keeps looking for more
 * before it sleeps, in ms (when its last wait was short: {@linkcode LOOK_IF_IDLE_MS}):
 * long enough to catch a pipelining client's next task, which a still-awake Worker is
 * told of without a wake-up on either side. BENCHMARKS.md ("The Worker's look before it
 * sleeps") has the variants tried and their figures.
 */
export const SPIN_BEFORE_SLEEP_MS = 0.05;
/**
 * A Worker looks before it sleeps only if its last wait for a task was at most this long, in ms:
 * twice the look, so a look that just missed is tried again, while tasks that come a client's
 * round trip apart are slept for.
 */
export const LOOK_IF_IDLE_MS = 2 * SPIN_BEFORE_SLEEP_MS;
/** A Worker that has not looked before sleeping looks anyway every this many sleeps. */
export const LOOK_ANYWAY_EVERY = 8;

/** Options of {@linkcode TaskRingReader}. */
export interface TaskRingReaderOptions {
  /**
   * Runs around each task's spin: the read and the write of a `racy` or `locked`
   * request's shared counter.
   */
  around?: AroundTask;
}

/**
 * The Worker's side of its task ring. The Worker takes and runs tasks until
 * {@linkcode TaskRingReader.take} says 0, then returns to its event loop.
 *
 * @example
 * ```ts
 * import { TaskRingReader } from "./task_ring_reader.ts";
 * import { TaskRingWriter } from "./task_ring_writer.ts";
 * import assert from "node:assert/strict";
 *
 * const pool = new TaskRingWriter({ capacity: 4, iterationsPerUnit: 10 });
 * const worker = new TaskRingReader(pool.init);
 * pool.push(7, 1);
 * pool.push(8, 1);
 * pool.publish();
 * assert.equal(worker.take(), 2); // two tasks wait
 * worker.run(2);
 * assert.equal(pool.unreported, 2); // until the pool reads their reports
 * pool.announceMessage(); // a message follows: the Worker goes to read it
 * assert.equal(worker.take(), 0);
 * worker.messageRead();
 * pool.stop();
 * assert.equal(worker.take(), 0);
 * ```
 */
export class TaskRingReader {
  #control: Int32Array<SharedArrayBuffer>;
  #runner: TaskRunner;
  /** The number of the next task to run: tasks taken and run so far. */
  #next = 0;
  /** The number of the task after the current run's last. */
  #runEnd = 0;
  #lastNotifyAt = 0;
  /** Announced messages read. */
  #messagesRead = 0;
  /** How long, in ms, it last waited for a task after running out. */
  #lastIdleMs = 0;
  /** Sleeps without a look since the last look. */
  #sleepsUnlooked = 0;

  /**
   * Opens the ring the pool made.
   *
   * @param init The init message.
   * @param options What runs around each task.
   * @throws {TypeError} When `init` is not a `TaskRingInit`.
   */
  constructor(init: TaskRingInit, options: TaskRingReaderOptions = {}) {
    const { control, tasks, reports, mask } = openTaskRing(init);
    this.#control = control;
    this.#runner = new TaskRunner({
      tasks,
      reports,
      mask,
      iterationsPerUnit: init.iterationsPerUnit,
      around: options.around,
      onReported: (next, endedAt) => {
        Atomics.store(control, DONE, next);
        // The last task's report is notified once the run ends.
        if (next !== this.#runEnd && endedAt - this.#lastNotifyAt >= REPORT_EVERY_MS) {
          this.#notify(endedAt);
        }
      },
    });
  }

  /**
   * The tasks published and not yet run, sleeping until there is at least one.
   *
   * @returns How many there are; 0 once the pool has stopped the ring, or has
   * announced a message not yet read (see {@linkcode TaskRingReader.messageRead}): then
   * return to the event loop.
   */
  take(): number {
    const control = this.#control;
    let tail = Atomics.load(control, TAIL);
    if (tail !== this.#next) return this.#mayGoOn() ? (tail - this.#next) | 0 : 0;
    // Out of tasks. Look a little longer before sleeping when the last wait for a task was
    // short (a pipelining client's next task comes this soon): a Worker still awake is told of
    // it without a wake-up on either side. When tasks come far apart (a client that waits for
    // each answer), looking in vain would take a core the server and the client need.
    const idleFrom = performance.now();
    // Every few sleeps it looks anyway: without looking, a pipeline's waits include the
    // wake-up, and would never read short again.
    if (this.#lastIdleMs <= LOOK_IF_IDLE_MS || ++this.#sleepsUnlooked >= LOOK_ANYWAY_EVERY) {
      this.#sleepsUnlooked = 0;
      const until = idleFrom + SPIN_BEFORE_SLEEP_MS;
      let looks = 0;
      while (tail === this.#next) {
        if ((++looks & 63) === 0 && performance.now() >= until) break;
        tail = Atomics.load(control, TAIL);
      }
    }
    while (tail === this.#next && this.#mayGoOn()) {
      // Say so, then look once more, then wait on WAKE as it was before that look: a publish
      // that saw SLEEPING at 0 came before the look, which sees its tasks; a publish, stop or
      // message after the look bumps WAKE, and the wait returns at once.
      Atomics.store(control, SLEEPING, 1);
      const wake = Atomics.load(control, WAKE);
      tail = Atomics.load(control, TAIL);
      if (tail === this.#next && this.#mayGoOn()) Atomics.wait(control, WAKE, wake);
      Atomics.store(control, SLEEPING, 0);
      tail = Atomics.load(control, TAIL);
    }
    this.#lastIdleMs = performance.now() - idleFrom;
    // Read after TAIL: a message announced before these tasks were published is seen here.
    return this.#mayGoOn() ? (tail - this.#next) | 0 : 0;
  }

  /** Says that one announced message has been read: the ring may be taken again. */
  messageRead(): void {
    this.#messagesRead = (this.#messagesRead + 1) | 0;
  }

  /**
   * Runs the next `count` tasks in order, reporting each as it ends, and tells the
   * pool when done (and every {@linkcode REPORT_EVERY_MS} on the way).
   *
   * @param count How many, at most what {@linkcode TaskRingReader.take} said.
   */
  run(count: number): void {
    const first = this.#next;
    this.#runEnd = (first + count) | 0;
    this.#runner.run(first, count);
    this.#next = this.#runEnd;
    this.#notify(performance.now());
  }

  #mayGoOn(): boolean {
    return Atomics.load(this.#control, STOPPED) === 0 &&
      Atomics.load(this.#control, MESSAGES) === this.#messagesRead;
  }

  #notify(now: number): void {
    this.#lastNotifyAt = now;
    Atomics.notify(this.#control, DONE);
  }
}
