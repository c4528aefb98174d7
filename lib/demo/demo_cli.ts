/**
 * The command line of `deno task demo`: `--hold`, and the server's flags that
 * shape the demo's server (the fleet, the trace and the log are the server's alone).
 *
 * @module
 */
import { booleanFlag, type CommandSpec, UsageError } from "../cli/flags.ts";
import { integerFlag } from "../cli/number_flags.ts";
import {
  checkServerOptionFlags,
  SERVER_COMMAND,
  SERVER_OPTION_FLAGS,
} from "../server/server_cli.ts";
import { DASHBOARD_PORT, MAX_WORKERS, PORT } from "../defaults/defaults.ts";

const DEMO_FLAGS = {
  hold: booleanFlag(
    "keep the server and its live dashboard running after the demo, until Ctrl-C, and print " +
      "the commands that join them from other terminals",
  ),
  dashboard: SERVER_COMMAND.flags.dashboard,
  ...SERVER_OPTION_FLAGS,
  // At least one: the demo's server has no fleet to count instead.
  workers: integerFlag({
    description: "Worker threads in the pool",
    default: SERVER_OPTION_FLAGS.workers.default,
    defaultText: SERVER_OPTION_FLAGS.workers.defaultText,
    min: 1,
    max: MAX_WORKERS,
  }),
};

/** The demo's command line. */
export const DEMO_COMMAND = {
  name: "threadcount demo",
  usage: "deno task demo [flags]",
  about: `A server and three clients at once, their output interleaved as it happens. The server
prefers port ${PORT} and the dashboard ${DASHBOARD_PORT}; a taken port is replaced by a free one. The
server's flags that shape it are taken too; for a trace, a fleet or another log, see
deno task server --help.`,
  flags: DEMO_FLAGS,
  check(flags) {
    checkServerOptionFlags(flags);
    // The demo alone lives about a second: a dashboard would be gone before a browser opened it.
    if (flags.dashboard !== undefined && !flags.hold) {
      throw new UsageError(
        "--dashboard goes with --hold (the demo alone ends in about a second): " +
          `deno task demo --hold --dashboard ${flags.dashboard}`,
      );
    }
  },
} satisfies CommandSpec<typeof DEMO_FLAGS>;
