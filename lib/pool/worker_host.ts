/**
 * One place where a module Worker is started, heard and ended, for every kind
 * of Worker threadcount runs: a pool's lane (`worker_slot.ts`), a worker node's
 * Worker (`lib/fleet/fleet_node.ts`) and the Worker of one increment
 * (`per_increment_runner.ts`), as piscina's `WorkerInfo` is for its pool.
 *
 * @module
 */
import { WORKER_READY } from "./worker_messages.ts";

/** The project's Worker module, `worker.ts`: what every host starts unless told otherwise. */
export const WORKER_MODULE: URL = new URL("../../worker.ts", import.meta.url);

/** What a {@linkcode WorkerHost} tells its owner, of its current Worker only. */
export interface WorkerHostListener {
  /** The Worker has loaded and listens: it posted `WORKER_READY`. */
  onReady(): void;
  /** The Worker posted something else. */
  onMessage(data: unknown): void;
  /**
   * The Worker died of an uncaught error, or posted a message that could not be read.
   * It is not ended for you: {@linkcode WorkerHost.replace} or {@linkcode WorkerHost.stop}
   * it. {@linkcode WorkerHost.ready} says whether it had loaded: one that dies before
   * that shows that the module cannot run (it fails to load, or a permission is missing).
   */
  onError(reason: string): void;
}

/** Options of {@linkcode WorkerHost}. */
export interface WorkerHostOptions {
  /** The Worker module. Defaults to {@linkcode WORKER_MODULE}. */
  moduleUrl?: URL | string;
  /**
   * Names each Worker (Deno's traces of its errors show the name), given its generation:
   * how many Workers this host started before it.
   */
  name: (generation: number) => string;
  /** Hears the current Worker. */
  listener: WorkerHostListener;
}

/**
 * Hosts one module Worker at a time: starts it, hears that it is ready, keeps its
 * errors from ending the process, and puts a new one in its place. Events of a
 * Worker that is no longer the current one are dropped.
 *
 * @example
 * ```ts
 * import { WorkerHost } from "./worker_host.ts";
 * import assert from "node:assert/strict";
 *
 * const ready = Promise.withResolvers<void>();
 * const host = new WorkerHost({
 *   name: (generation) => `example.${generation}`,
 *   listener: { onReady: () => ready.resolve(), onMessage() {}, onError() {} },
 * });
 * host.start();
 * await ready.promise;
 * assert.ok(host.ready && host.startMs! > 0);
 * host.stop();
 * assert.equal(host.running, false);
 * ```
 */
export class WorkerHost {
  #moduleUrl: URL | string;
  #name: (generation: number) => string;
  #listener: WorkerHostListener;
  #worker?: Worker;
  #started = 0;
  #startedAt = 0;
  #startMs?: number;

  /**
   * Makes the host; no Worker starts before {@linkcode WorkerHost.start}.
   *
   * @param options The module, the Workers' names and the listener.
   */
  constructor(options: WorkerHostOptions) {
    this.#moduleUrl = options.moduleUrl ?? WORKER_MODULE;
    this.#name = options.name;
    this.#listener = options.listener;
  }

  /** Whether a Worker is started and not ended. */
  get running(): boolean {
    return this.#worker !== undefined;
  }

  /** Whether the current Worker has said that it is ready. */
  get ready(): boolean {
    return this.#startMs !== undefined;
  }

  /** The current Worker's generation: Workers started before it. -1 before the first. */
  get generation(): number {
    return this.#started - 1;
  }

  /** How long the current Worker took from its start to its ready, in ms; until then undefined. */
  get startMs(): number | undefined {
    return this.#startMs;
  }

  /**
   * Starts a Worker.
   *
   * @throws {Error} When one runs already: {@linkcode WorkerHost.replace} it.
   */
  start(): void {
    if (this.#worker) throw new Error("a Worker runs already: replace() it");
    const worker = new Worker(this.#moduleUrl, {
      type: "module",
      name: this.#name(this.#started),
    });
    this.#started++;
    this.#worker = worker;
    this.#startedAt = performance.now();
    worker.onmessage = (event: MessageEvent<unknown>) => {
      if (this.#worker !== worker) return;
      if (event.data === WORKER_READY && this.#startMs === undefined) {
        this.#startMs = performance.now() - this.#startedAt;
        this.#listener.onReady();
      } else {
        this.#listener.onMessage(event.data);
      }
    };
    worker.onerror = (event: ErrorEvent) => {
      // Without this the Worker's error would end the whole process.
      event.preventDefault();
      if (this.#worker === worker) this.#listener.onError(event.message);
    };
    worker.onmessageerror = () => {
      if (this.#worker === worker) {
        this.#listener.onError("a message from the Worker could not be read");
      }
    };
  }

  /**
   * Posts a message to the current Worker (it waits in the Worker's queue until the
   * Worker listens).
   *
   * @param message The message.
   * @throws {Error} When no Worker runs.
   */
  postMessage(message: unknown): void {
    if (!this.#worker) throw new Error("no Worker runs: start() one");
    this.#worker.postMessage(message);
  }

  /** Ends the current Worker, if any, and starts a new one in its place. */
  replace(): void {
    this.stop();
    this.start();
  }

  /** Ends the current Worker, if any: nothing more is heard of it. */
  stop(): void {
    const worker = this.#worker;
    if (!worker) return;
    this.#worker = undefined;
    this.#startMs = undefined;
    worker.terminate();
  }
}
