/**
 * What the server tells the world: one typed event per thing that happens.
 * The log, the tests, the dashboard and the trace all listen to these.
 *
 * @module
 */
import type { CounterModel } from "../counter/counter_model.ts";

/** Fields every event has. */
interface EventBase {
  /** When it happened, in ms since the Unix epoch. */
  at: number;
}

/** Fields of events about one connection. */
interface ConnectionEventBase extends EventBase {
  /** The client's address, e.g. `127.0.0.1:53211`. */
  conn: string;
}

/** What happens to remote Workers (a fleet) attached to the server, for the log and the dashboard. */
export type FleetEvent =
  | { type: "node-joined"; at: number; node: string; workers: number }
  | { type: "node-lost"; at: number; node: string; reason: string }
  | { type: "fleet-lost"; at: number; reason: string }
  | { type: "fleet-regained"; at: number; nodes: number; workers: number }
  | {
    type: "fleet-malformed";
    at: number;
    subject: string;
    reason: string;
    /** Dropped since the last such event (at most one a second), this one included. */
    dropped: number;
    count: number;
  };

/** Everything the server reports. */
export type ServerEvent =
  | EventBase & { type: "listening"; address: string; workers: number; maxClients: number }
  | ConnectionEventBase & { type: "accepted"; active: number; waiting: number }
  | ConnectionEventBase & { type: "waiting"; position: number }
  | ConnectionEventBase & { type: "served"; active: number; waiting: number }
  | ConnectionEventBase & { type: "turned-away"; code: string; message: string }
  | ConnectionEventBase & {
    type: "counting";
    request: string;
    start: bigint;
    increments: number;
    /** The request's counter model, when not the default `parallel`. */
    counter?: CounterModel;
  }
  | ConnectionEventBase & {
    /** A task handed to a Worker: it waits there until the Worker gets to it (not running yet). */
    type: "task-queued";
    /** `R<request>#<task>`. */
    task: string;
    worker: number;
    units: number;
  }
  | ConnectionEventBase & {
    type: "task-done";
    request: string;
    task: string;
    worker: number;
    units: number;
    /** When the Worker started the task, in ms since the Unix epoch, by the Worker's own clock. */
    startedAt: number;
    /** When the Worker finished it, likewise. */
    endedAt: number;
    /** The counter value this increment produced. */
    value: bigint;
    /** Increments of the request applied so far, this one included. */
    done: number;
    total: number;
    /** `racy` and `locked`: the counter value the task read on its Worker when it started. */
    read?: bigint;
    /**
     * `racy` and `locked`: updates of other tasks that this task's write erased (it wrote
     * `read + 1` over a larger value); above 0 marks a lost update. Negative: it restored some.
     */
    erased?: number;
    /**
     * `racy` and `locked`: when the task read and when it wrote, on the shared cell's own clock
     * (one tick per read or write of any task of the request), which, unlike the Workers' own
     * clocks, orders the steps of different Workers exactly.
     */
    readTick?: number;
    /** Likewise, when it wrote. */
    writeTick?: number;
    /** With a Worker per increment: how long this task's Worker took to start, in ms. */
    workerStartMs?: number;
  }
  | ConnectionEventBase & {
    type: "result";
    request: string;
    value: bigint;
    ms: number;
    /** The request's counter model, when not the default `parallel`. */
    counter?: CounterModel;
    /** `racy` and `locked`: increments whose update was lost (`increments − (value − start)`). */
    updatesLost?: number;
    /** With a Worker per increment: Workers started for this request, and their start-up in ms. */
    workerStarts?: { count: number; ms: number };
  }
  | ConnectionEventBase & { type: "request-failed"; request: string; reason: string }
  /**
   * A step of a stepped count (`SCHEDULE`, `STEP`), as its Worker logged it in the shared
   * schedule: `step` its place (from 0), `task` the increment, `text` the words the client
   * was told (`worker 1 wrote 1, erasing 1 update`). `value`: read or written; `before`:
   * the counter just before a write; `erased`: updates that write erased (negative:
   * restored); `holder`: the Worker holding the lock a `waits` found held.
   */
  | ConnectionEventBase & {
    type: "step";
    request: string;
    step: number;
    task: string;
    worker: number;
    action: "read" | "wrote" | "waits";
    value?: bigint;
    before?: bigint;
    erased?: number;
    holder?: number;
    text: string;
  }
  | EventBase & {
    /** Something about the server itself that its operator should know (descriptor limits, say). */
    type: "notice";
    message: string;
  }
  | ConnectionEventBase & { type: "client-error"; code: string; message: string }
  /** The client named itself (`NAME alice`): the log and the dashboard use the name. */
  | ConnectionEventBase & { type: "named"; name: string }
  | ConnectionEventBase & { type: "closed"; reason: string }
  | EventBase & { type: "worker-replaced"; worker: number; reason: string; tasksRequeued: number }
  | EventBase & { type: "shutting-down"; reason: string; inFlight: number; graceMs: number }
  | EventBase & { type: "forced-exit"; reason: string; inFlight: number }
  | EventBase & { type: "stopped" }
  | FleetEvent;

/** The `type` of a {@linkcode ServerEvent}. */
export type ServerEventType = ServerEvent["type"];

/** Hears server events. */
export type ServerEventListener = (event: ServerEvent) => void;

/**
 * Hands each event to every listener, synchronously, in the order they subscribed.
 * A listener that throws breaks nothing: its error goes to stderr and the others
 * still hear the event.
 *
 * @example
 * ```ts
 * import { ServerEvents } from "./server_events.ts";
 * import assert from "node:assert/strict";
 *
 * const events = new ServerEvents();
 * const seen: string[] = [];
 * using _sub = events.subscribe((e) => seen.push(e.type));
 * events.emit({ type: "stopped", at: Date.now() });
 * assert.deepEqual(seen, ["stopped"]);
 * ```
 */
export class ServerEvents {
  #listeners = new Set<ServerEventListener>();
  /** For each listener that does not always want task events, when it does. */
  #taskInterest = new Map<ServerEventListener, () => boolean>();
  /**
   * The answer of {@linkcode ServerEvents.wantsTaskEvents} until the microtasks queued when
   * it was asked have run: it is asked once per task, and the log's answer reads the clock.
   */
  #wants: boolean | undefined;
  #forgetWants = () => void (this.#wants = undefined);

  /**
   * Adds a listener.
   *
   * @param listener Hears every later event.
   * @param options `tasks` says when the listener wants `task-queued` and `task-done` events
   *   (one per increment, the bulk of all events); by default, always.
   * @returns A handle whose disposal removes the listener.
   */
  subscribe(listener: ServerEventListener, options: { tasks?: () => boolean } = {}): Disposable {
    this.#listeners.add(listener);
    if (options.tasks) this.#taskInterest.set(listener, options.tasks);
    this.#wants = undefined;
    return {
      [Symbol.dispose]: () => {
        this.#listeners.delete(listener);
        this.#taskInterest.delete(listener);
        this.#wants = undefined;
      },
    };
  }

  /**
   * Whether anyone wants task events now: the hot path builds them only then.
   * (The log, for one, wants them only while it prints one line per event.)
   * The listeners are asked once per turn of the event loop, not once per task: the
   * answer holds until the microtasks queued when they were asked have run, or a
   * listener comes or goes.
   */
  wantsTaskEvents(): boolean {
    if (this.#wants !== undefined) return this.#wants;
    let wants = this.#listeners.size > this.#taskInterest.size;
    if (!wants) {
      for (const wanting of this.#taskInterest.values()) {
        if (wanting()) {
          wants = true;
          break;
        }
      }
    }
    this.#wants = wants;
    queueMicrotask(this.#forgetWants);
    return wants;
  }

  /**
   * Hands an event to every listener.
   *
   * @param event The event.
   */
  emit(event: ServerEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        console.error("threadcount: an event listener failed:", error);
      }
    }
  }
}
