/**
 * The client's progress bar for a long request, drawn with `cli-progress`
 * on a terminal: done/total, rate and time left.
 *
 * @module
 */
import cliProgress from "cli-progress";
import process from "node:process";
import type { ProgressDisplay } from "./client_cli.ts";

/**
 * Starts a progress bar on standard output.
 *
 * @param total Increments the request asked for.
 * @returns The display; `update` moves it, `stop` removes it.
 *
 * @example
 * ```ts
 * import { terminalProgress } from "./progress_bar.ts";
 *
 * const bar = terminalProgress(1000);
 * bar.update(250, 1000);
 * bar.stop();
 * ```
 */
export function terminalProgress(total: number): ProgressDisplay {
  const bar = new cliProgress.SingleBar({
    format: "  counting [{bar}] {value}/{total} increments | {rate}/s | {eta_formatted} left",
    barCompleteChar: "█",
    barIncompleteChar: "░",
    // A Ctrl-C while the bar is drawn would leave the terminal without a cursor.
    hideCursor: false,
    clearOnComplete: true,
    stream: process.stdout,
    etaBuffer: 50,
  });
  const startedAt = performance.now();
  bar.start(total, 0, { rate: "0" });
  return {
    update: (done) => {
      const seconds = (performance.now() - startedAt) / 1000;
      bar.update(done, { rate: seconds > 0 ? Math.round(done / seconds).toString() : "0" });
    },
    stop: () => bar.stop(),
  };
}
