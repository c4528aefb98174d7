/**
 * Ctrl-C (SIGINT) and SIGTERM as a request to stop: the first one aborts a
 * signal, so the program can end cleanly; one more, later, ends it at once.
 *
 * @module
 */

/**
 * Copies of a signal that arrive within this many milliseconds of the first
 * are one request to stop: a terminal sends Ctrl-C to every process of its
 * foreground group and `deno task` forwards its own copy, so one press
 * arrives two or three times within a millisecond. 250 ms is far longer than
 * that, and shorter than anyone presses twice on purpose.
 */
export const SIGNAL_COPIES_MS = 250;

const SIGNALS = { SIGINT: 2, SIGTERM: 15 } as const;

/** Options of {@linkcode stopSignals}. */
export interface StopSignalsOptions {
  /** Copies within this many ms of the first are one request. Defaults to {@linkcode SIGNAL_COPIES_MS}. */
  copiesMs?: number;
  /** Ends the process after a second request; defaults to `Deno.exit`. */
  exit?: (code: number) => void;
}

/** A listener for the stop signals; dispose of it to remove it. */
export interface StopSignals extends Disposable {
  /** Aborts at the first SIGINT or SIGTERM. */
  readonly signal: AbortSignal;
}

/**
 * Listens for SIGINT and SIGTERM. The first aborts `signal`; a second one,
 * past `copiesMs`, exits at once with 128 + its number
 * (130 for SIGINT, 143 for SIGTERM).
 *
 * @param options The window for copies, and how to exit.
 * @returns The listener; `using` it removes it when the program is done.
 *
 * @example
 * ```ts ignore
 * import { stopSignals } from "./stop_signals.ts";
 *
 * using stop = stopSignals();
 * await new Promise((resolve) => stop.signal.addEventListener("abort", resolve));
 * ```
 */
export function stopSignals(options: StopSignalsOptions = {}): StopSignals {
  const { copiesMs = SIGNAL_COPIES_MS, exit = Deno.exit } = options;
  if (!(copiesMs >= 0)) throw new RangeError(`'copiesMs' must be 0 or more: received ${copiesMs}`);
  const controller = new AbortController();
  let firstAt = 0;
  const listeners = Object.entries(SIGNALS).map(([name, number]) => {
    const listener = () => {
      const now = performance.now();
      if (!controller.signal.aborted) {
        firstAt = now;
        controller.abort(new Error(`${name}`));
      } else if (now - firstAt >= copiesMs) {
        exit(128 + number);
      }
    };
    Deno.addSignalListener(name as Deno.Signal, listener);
    return [name as Deno.Signal, listener] as const;
  });
  return {
    signal: controller.signal,
    [Symbol.dispose]() {
      for (const [name, listener] of listeners) Deno.removeSignalListener(name, listener);
    },
  };
}
