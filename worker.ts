/**
 * The threadcount Worker: runs batches of increments sent by the server's
 * `WorkerPool`, each spinning its number of work units on this thread, and
 * posts back when each one ran. It never throws across the boundary.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { runBatch, WORKER_READY } from "./lib/pool/worker_messages.ts";
import { CounterTasks } from "./lib/lessons/counter_cell.ts";

/** Tasks of racy or locked requests: they read and write their request's shared counter. */
const counters = new CounterTasks();

self.onmessage = (event: MessageEvent<unknown>) => {
  try {
    if (counters.hear(event.data)) return;
    const report = runBatch(event.data, counters);
    self.postMessage(report);
  } catch (error) {
    self.postMessage({ error: error instanceof Error ? error.message : String(error) });
  }
};

self.postMessage(WORKER_READY);
