/**
 * Shared constants of the threadcount server and client, named as in the
 * original Python project's `constCS.py`. Every one can be overridden by a
 * server flag (see `deno task server --help`).
 *
 * @module
 */

/** Address the server binds and the client connects to. Loopback only, by default. */
export const HOST = "127.0.0.1";
/** TCP port of the original project. */
export const PORT = 50073;
/** TCP port of the live dashboard (`--dashboard`, and the demo's). */
export const DASHBOARD_PORT = 8080;
/** Worker threads in the pool: one per CPU. */
export const WORKERS = navigator.hardwareConcurrency;
/** Most Worker threads one process may start (`--workers`): each holds its own heap. */
export const MAX_WORKERS = 1024;
/** Clients served at once; further connections wait their turn, first in first out. */
export const MAX_NUM_CLIENT_CONNECTIONS_TO_SERVER = 10;

/**
 * How a request's counter is kept (`--counter`, and `COUNTER` per connection): `parallel`
 * (right and parallel); `racy` and `locked` show the original's race and the lock that fixes
 * it by serialising the work (see `lib/counter/counter_model.ts`).
 */
export const COUNTER_MODEL = "parallel";
/** How increments get a thread (`--model`): `pool`, or `per-increment` as the original did. */
export const WORKER_MODEL = "pool";

/** Fewest work units one increment spins. */
export const MIN_UNITS = 1;
/** Most work units one increment spins. */
export const MAX_UNITS = 10;
/** One unit is the original's busy loop: this many floating-point additions. */
export const ITERATIONS_PER_UNIT = 8_000_000;
/** Largest `<increments>` a request may ask for. */
export const MAX_INCREMENTS_PER_REQUEST = 1_000_000;
/** Longest request line, in bytes, before the server answers `ERR line-too-long` and closes. */
export const MAX_LINE_BYTES = 4096;
/**
 * Most bytes of a client's input the server reads ahead of the request it is
 * serving (pipelined requests, or what a waiting client sends). Reading ahead
 * is how a client that pipelined a burst and hung up is seen to go at once,
 * even while it waits in line; past this, reading pauses (TCP pushes back),
 * and a client that hangs up is seen when a reply cannot be written or its
 * turn comes. 64 KiB: thousands of pipelined requests, and a connection holds
 * it only while it sends that much (buffers start at 1 KiB).
 */
export const READ_AHEAD_BYTES = 64 * 1024;

/** Clients that may wait for a slot; beyond this a new connection is answered `ERR busy`. */
export const MAX_WAITING_CLIENTS = 1000;
/** Seconds a served client may stay silent before it is closed (`ERR idle-timeout`). */
export const IDLE_TIMEOUT_SECONDS = 300;
/**
 * Largest `--trace` file, in MiB (`--trace-max-mb`); tracing stops there with one log line. At
 * about 200 bytes an increment that is over a million increments, days of the default work, while
 * a runaway (`--iterations-per-unit 0` makes ~100 MB a second) is stopped before it fills a disk;
 * and 256 MiB still opens in ui.perfetto.dev, which holds the whole file in the browser's memory.
 */
export const TRACE_MAX_MB = 256;
/** Seconds that in-flight requests get to finish on shutdown. */
export const GRACE_SECONDS = 10;
/**
 * Most work one request may ask for, in seconds of the whole pool's time,
 * estimated before it starts: a request over it is answered `ERR
 * too-much-work`. Ten minutes: a class's `0 10000` (about 3 minutes on two
 * CPUs at the default work) fits; `0 1000000` (about 5 hours) does not.
 */
export const MAX_REQUEST_SECONDS = 600;
/**
 * Copies of one stop signal that arrive within this many milliseconds are one
 * request to stop. A terminal's Ctrl-C reaches every process of the foreground
 * group and `deno task` forwards its own copy, so one press arrives two or
 * three times within a millisecond (tens on a loaded machine); a person
 * pressing again on purpose takes longer than 300 ms.
 */
export const SIGNAL_COPY_WINDOW_MS = 300;
/**
 * Milliseconds of silence after which a partial line (no newline yet) is taken
 * as a whole request: the original client sends `2 10` with no newline.
 */
export const CLASSIC_SILENCE_MS = 40;

/** The original client's prompt, word for word. */
export const PROMPT =
  "Please enter a number, space, then number of increments to be done by the server: ";

/** The NATS broker of the fleet of worker nodes (`--nats`), Debian's `nats-server` default port. */
export const NATS_URL = "nats://127.0.0.1:4222";
/** Milliseconds between two announcements of a worker node (its heartbeat). */
export const FLEET_HEARTBEAT_MS = 1000;
/** Milliseconds without a node's heartbeat after which a server takes it for lost. */
export const FLEET_NODE_LOST_MS = 3500;
/** Least deadline of a batch sent to a node, in ms, before it is re-sent elsewhere. */
export const FLEET_MIN_DEADLINE_MS = 2000;
/** Seconds a request waits for any Worker, local or remote, before `ERR no-workers`. */
export const FLEET_WAIT_SECONDS = 10;
/** Batches that may wait at one Worker of a node; more are dropped (and re-sent later). */
export const FLEET_MAX_QUEUED_BATCHES = 64;
