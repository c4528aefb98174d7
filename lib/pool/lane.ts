/**
 * The lane: what the {@linkcode WorkerPool}'s scheduler feeds. A lane is one
 * place where tasks run one after another, such as one local Worker
 * ({@linkcode WorkerSlot}); a lane to a Worker on another machine (a worker
 * node reached through NATS, named `node-a/worker 1`) implements the same
 * interface and is fed by the same scheduler, fairly, with the same fault
 * handling.
 *
 * @module
 */
/** What a lane needs of a task: its id, its units, what it costs and what it carries. */
export interface LaneTask {
  /** Unique among the tasks a pool has in flight; reports name tasks by it. */
  readonly id: number;
  /** Work units the task spins. */
  readonly units: number;
  /** Its work in additions, units and overhead: what a lane counts as its load. */
  readonly cost: number;
  /**
   * What the task carries to its Worker beside its units on the run being sent (see
   * `TaskPayloads` in `job_queue.ts`), asked as it is sent; `undefined` for nothing.
   */
  payload?(): unknown;
}

/**
 * What a lane tells the scheduler. Each call is made from the main thread's
 * event loop, never from inside {@linkcode Lane.send}.
 */
export interface LaneListener<T extends LaneTask> {
  /**
   * The lane became ready to run tasks (its Worker loaded), or ready again after a
   * failure. It has no room before this.
   */
  onReady(lane: Lane<T>): void;
  /**
   * A batch ran. `times` holds a row of `REPORT_STRIDE` numbers per task, in the
   * layout of `worker_messages.ts` (`[id, units, startedAt, endedAt]`); `tasks[i]` is
   * the task of row `i`. It may hold more rows than `tasks` (a lane may reuse one
   * array for every call: read it during the call only). The lane no longer counts
   * these tasks as in flight.
   */
  onReport(lane: Lane<T>, tasks: readonly T[], times: Float64Array): void;
  /**
   * The lane lost the tasks it had in flight (its Worker died) and is getting
   * ready again (a new Worker): `onReady` follows, or `onBroken`. `lost` is in
   * the order the tasks were sent.
   */
  onFailure(lane: Lane<T>, reason: string, lost: readonly T[]): void;
  /**
   * The lane cannot run these tasks and hands them back, uncharged, for any lane to run
   * (a remote Worker's node was lost, or its reply did not come by the batch's deadline).
   * The lane no longer counts them as in flight. Without this method, `onFailure` is used.
   */
  onReturn?(lane: Lane<T>, reason: string, tasks: readonly T[]): void;
  /**
   * The lane can never run tasks: a new Worker died before it became ready
   * (the module cannot load, a permission is missing). Its tasks are in `lost`.
   */
  onBroken(lane: Lane<T>, reason: string, lost: readonly T[]): void;
}

/**
 * One place where tasks run in order. The scheduler asks {@linkcode Lane.hasRoom},
 * builds a batch while {@linkcode Lane.load} allows, and calls
 * {@linkcode Lane.send}; the lane answers through its {@linkcode LaneListener}.
 *
 * Contract for implementers:
 * - `name` is what users see in the log, the dashboard and the trace, e.g.
 *   `worker 0` or `node-a/worker 1`; the pool numbers lanes by their index in
 *   `WorkerPool.laneNames()`, which `TaskReport.worker` refers to.
 * - `send` never throws and never calls the listener synchronously; every task
 *   sent is later either reported (`onReport`), lost (`onFailure`, `onBroken`) or
 *   given back for any lane to run (`onReturn`), exactly once, unless the lane is
 *   closed first.
 * - The tasks of a lane run one after another, in the order sent, so that a
 *   lane with a single task in flight that fails was failed by that task.
 */
export interface Lane<T extends LaneTask> {
  /** The lane's display name, e.g. `worker 0`. */
  readonly name: string;
  /** Whether it can take a batch now: ready, and not holding enough work already. */
  hasRoom(): boolean;
  /**
   * The task its Worker runs now and when it started (ms since the epoch, by the
   * Worker's clock), sampled; `undefined` when none, or when the lane cannot tell.
   */
  running?(): { task: T; startedAt: number } | undefined;
  /** Work sent and not yet reported, in additions: the scheduler feeds the least loaded lane. */
  readonly load: number;
  /** Tasks sent and not yet reported. */
  readonly inFlight: number;
  /**
   * Work, in additions, that this lane's batches may carry, when it differs from the pool's
   * `maxQueuedWork`: a lane across a network wants fewer, fuller messages.
   */
  readonly batchWork?: number;
  /** Sends one batch of tasks; they run in order. */
  send(tasks: readonly T[]): void;
  /** Stops the lane at once: its tasks in flight are neither reported nor lost. */
  close(): void;
}
