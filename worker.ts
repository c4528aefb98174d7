/**
 * The threadcount Worker: runs the increments the server's `WorkerPool` writes
 * into its task ring (see `lib/pool/task_ring.ts`), or that are posted to it as
 * batches (a worker node, a Worker per increment), each spinning its number of
 * work units on this thread, and says when each one ran. It never throws across
 * the boundary. The modules it loads are the Worker's read permission set
 * (`permissions.worker.read` in deno.json).
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { hearPayloads, runBatch, type TaskHook, WORKER_READY } from "./lib/pool/worker_messages.ts";
import { TaskRingReader } from "./lib/pool/task_ring_reader.ts";
import { CounterTasks } from "./lib/counter/counter_tasks.ts";

/**
 * The hook on every task: tasks of racy or locked requests carry their request's shared
 * counter, which they read just before their spin and write just after it.
 */
const counters: TaskHook = new CounterTasks();
let ring: TaskRingReader | undefined;

self.onmessage = (event: MessageEvent<unknown>) => {
  const data = event.data;
  try {
    if (hearPayloads(data, counters)) {
      ring?.messageRead(); // the ring's pool announced it: its tasks follow in the ring
    } else if (data instanceof Float64Array) {
      // A batch as a message: answered as one.
      self.postMessage(runBatch(data, counters));
      return;
    } else if (!ring) {
      ring = new TaskRingReader(data as ConstructorParameters<typeof TaskRingReader>[0], {
        around: counters,
      });
    } else {
      throw new TypeError("a Worker gets its task ring once");
    }
    if (!ring) return;
    // This thread now only runs tasks: it sleeps in Atomics.wait when there are none, and
    // returns to its event loop when a message is announced or the pool stops the ring.
    for (let count; (count = ring.take()) > 0;) ring.run(count);
  } catch (error) {
    self.postMessage({ error: error instanceof Error ? error.message : String(error) });
  }
};

self.postMessage(WORKER_READY);
