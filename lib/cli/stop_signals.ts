/**
 * Stop signals as terminals, task runners and supervisors send them, for every
 * entry point that runs until stopped (the server, the node, the demo): the
 * first SIGINT or SIGTERM asks for a graceful stop, copies of it that arrive
 * together are the same request, and a second one later forces an exit.
 *
 * A terminal's Ctrl-C goes to every process of the foreground process group,
 * and `deno task` forwards its own copy to its child; `kill -- -PGID` and
 * systemd (`KillMode=control-group`) do the same with SIGTERM. So one press
 * reaches a process two or three times within a millisecond, and must not
 * count as "pressed twice".
 *
 * @module
 */
import { SIGNAL_COPY_WINDOW_MS } from "../defaults/defaults.ts";

/** The signals that stop a process. */
export type StopSignal = "SIGINT" | "SIGTERM";

/** The number of each stop signal, for the exit code 128 + n. */
const SIGNAL_NUMBERS: Record<StopSignal, number> = { SIGINT: 2, SIGTERM: 15 };

/**
 * The exit code of a process ended by a signal, by the shell's convention.
 *
 * @param signal The signal.
 * @returns 128 + the signal's number: 130 for SIGINT, 143 for SIGTERM.
 *
 * @example
 * ```ts
 * import { exitCodeFor } from "./stop_signals.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(exitCodeFor("SIGINT"), 130);
 * assert.equal(exitCodeFor("SIGTERM"), 143);
 * ```
 */
export function exitCodeFor(signal: StopSignal): number {
  return 128 + SIGNAL_NUMBERS[signal];
}

/** What one arriving signal means. */
export type SignalMeaning = "stop" | "copy" | "force";

/**
 * Decides what each arriving stop signal means: the first is `stop`; any
 * signal within `copyWindowMs` of the first is a `copy` of it; one after the
 * window is `force`.
 *
 * @example
 * ```ts
 * import { StopRequests } from "./stop_signals.ts";
 * import assert from "node:assert/strict";
 *
 * const requests = new StopRequests({ copyWindowMs: 300 });
 * assert.equal(requests.hear(1000), "stop");
 * assert.equal(requests.hear(1000.4), "copy"); // deno task's forwarded copy
 * assert.equal(requests.hear(1900), "force"); // pressed again
 * ```
 */
export class StopRequests {
  #copyWindowMs: number;
  #firstAt: number | undefined;

  /**
   * @param options `copyWindowMs`: how close together copies of one request arrive.
   *   Defaults to `SIGNAL_COPY_WINDOW_MS`.
   * @throws {RangeError} When the window is negative or not finite.
   */
  constructor(options: { copyWindowMs?: number } = {}) {
    const { copyWindowMs = SIGNAL_COPY_WINDOW_MS } = options;
    if (!Number.isFinite(copyWindowMs) || copyWindowMs < 0) {
      throw new RangeError(
        `'copyWindowMs' must be a number of milliseconds, 0 or more: received ${copyWindowMs}`,
      );
    }
    this.#copyWindowMs = copyWindowMs;
  }

  /**
   * Takes in one signal.
   *
   * @param at When it arrived, in ms (`performance.now()`).
   * @returns What it means.
   */
  hear(at: number): SignalMeaning {
    if (this.#firstAt === undefined) {
      this.#firstAt = at;
      return "stop";
    }
    return at - this.#firstAt < this.#copyWindowMs ? "copy" : "force";
  }
}

/** Options of {@linkcode listenForStopSignals}. */
export interface StopSignalOptions {
  /** Called once, for the first signal: stop gracefully. */
  onStop: (signal: StopSignal) => void;
  /**
   * Called for a signal after the copy window: exit now. Defaults to exiting
   * with {@linkcode exitCodeFor} the signal.
   */
  onForce?: (signal: StopSignal) => void;
  /** See {@linkcode StopRequests}. Defaults to `SIGNAL_COPY_WINDOW_MS`. */
  copyWindowMs?: number;
}

/**
 * Listens for SIGINT and SIGTERM until disposed of; removing the listeners
 * lets the process end by itself once its work is done.
 *
 * @param options What to do on a stop and on a forced exit.
 * @returns A handle whose disposal removes the listeners.
 *
 * @example
 * ```ts
 * import { listenForStopSignals } from "./stop_signals.ts";
 *
 * const stop = new AbortController();
 * {
 *   // Ctrl-C stops the work below gracefully; pressed again, the process exits at once.
 *   using _signals = listenForStopSignals({ onStop: (signal) => stop.abort(signal) });
 * }
 * ```
 */
export function listenForStopSignals(options: StopSignalOptions): Disposable {
  const {
    copyWindowMs = SIGNAL_COPY_WINDOW_MS,
    onForce = (signal) => Deno.exit(exitCodeFor(signal)),
  } = options;
  const requests = new StopRequests({ copyWindowMs });
  let stoppedAt: number | undefined;
  const listeners = (["SIGINT", "SIGTERM"] as const).map((signal) => {
    const listener = () => {
      const meaning = requests.hear(performance.now());
      if (meaning === "stop") {
        stoppedAt = performance.now();
        options.onStop(signal);
      } else if (meaning === "force") {
        onForce(signal);
      }
    };
    Deno.addSignalListener(signal, listener);
    return [signal, listener] as const;
  });
  const remove = () => {
    for (const [signal, listener] of listeners) Deno.removeSignalListener(signal, listener);
  };
  return {
    [Symbol.dispose]: () => {
      // A stop that finished within the copy window may still have copies on their way: a copy
      // that found no listener would kill the process (exit 143) after a clean stop. Keep
      // swallowing them until the window is over; the timer does not keep the process alive.
      const left = stoppedAt === undefined ? 0 : copyWindowMs - (performance.now() - stoppedAt);
      if (left <= 0) return remove();
      Deno.unrefTimer(setTimeout(remove, left));
    },
  };
}
