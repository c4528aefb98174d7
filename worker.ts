/**
 * The threadcount Worker: runs batches of increments sent by the server's
 * `WorkerPool`, each spinning its number of work units on this thread, and
 * posts back when each one ran. It never throws across the boundary.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { runBatch, WORKER_READY } from "./lib/pool/worker_messages.ts";

self.onmessage = (event: MessageEvent<unknown>) => {
  try {
    const report = runBatch(event.data);
    self.postMessage(report);
  } catch (error) {
    self.postMessage({ error: error instanceof Error ? error.message : String(error) });
  }
};

self.postMessage(WORKER_READY);
