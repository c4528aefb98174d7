/**
 * Every default and every bound of threadcount, in one place: what a server, a
 * client, a worker node, the lessons, the trace and the dashboard do unless told
 * otherwise, and the limits that keep what a client or a peer can cost bounded.
 * The course's names (`HOST`, `PORT`, `MAX_NUM_CLIENT_CONNECTIONS_TO_SERVER`, …)
 * are the original `constCS.py`'s; `constCS.ts` re-exports this module.
 *
 * The lowest layer of `lib/`: every folder may import it, and it imports nothing.
 * A default that a user may change says which flag changes it; the rest are bounds
 * fixed here. A new default or bound belongs here too: `tests/defaults_test.ts`
 * fails on a `DEFAULT_`, `MAX_` or `MIN_` constant declared anywhere else in `lib/`.
 *
 * @module
 */

// The server (`deno task server --help`), with the original's names.

/** Address the server binds and the client connects to (`--host`). Loopback only, by default. */
export const HOST = "127.0.0.1";
/** TCP port of the original project (`--port`). */
export const PORT = 50073;
/** TCP port of the live dashboard (`--dashboard`, and the demo's). */
export const DASHBOARD_PORT = 8080;
/** Worker threads in the pool (`--workers`): one per CPU. */
export const WORKERS = navigator.hardwareConcurrency;
/** Most Worker threads one process may start (`--workers`): each holds its own heap. */
export const MAX_WORKERS = 1024;
/**
 * Clients served at once (`--max-clients`); further connections wait their turn, first in first
 * out.
 */
export const MAX_NUM_CLIENT_CONNECTIONS_TO_SERVER = 10;

/**
 * How a request's counter is kept (`--counter`, and `COUNTER` per connection): `parallel`
 * (right and parallel); `racy` and `locked` show the original's race and the lock that fixes
 * it by serialising the work (see `lib/counter/counter_model.ts`).
 */
export const COUNTER_MODEL = "parallel";
/** How increments get a thread (`--model`): `pool`, or `per-increment` as the original did. */
export const WORKER_MODEL = "pool";

/** Fewest work units one increment spins (`--min-units`). */
export const MIN_UNITS = 1;
/** Most work units one increment spins (`--max-units`). */
export const MAX_UNITS = 10;
/**
 * One unit is the original's busy loop: this many floating-point additions
 * (`--iterations-per-unit`).
 */
export const ITERATIONS_PER_UNIT = 8_000_000;
/** Largest `<increments>` a request may ask for (`--max-increments`). */
export const MAX_INCREMENTS_PER_REQUEST = 1_000_000;
/**
 * Longest request line, in bytes, before the server answers `ERR line-too-long` and closes
 * (`--max-line-bytes`).
 */
export const MAX_LINE_BYTES = 4096;
/**
 * Most bytes of a client's input the server reads ahead of the request it is
 * serving (`--read-ahead-bytes`: pipelined requests, or what a waiting client
 * sends). Reading ahead is how a client that pipelined a burst and hung up is
 * seen to go at once, even while it waits in line; past this, reading pauses
 * (TCP pushes back), and a client that hangs up is seen when a reply cannot be
 * written or its turn comes. 64 KiB: thousands of pipelined requests, and a
 * connection holds it only while it sends that much (its buffer starts at
 * `LINE_BUFFER_INITIAL_BYTES` and grows as it needs).
 */
export const READ_AHEAD_BYTES = 64 * 1024;

/**
 * Clients that may wait for a slot (`--max-waiting`); beyond this a new connection is answered `ERR
 * busy`.
 */
export const MAX_WAITING_CLIENTS = 1000;
/**
 * Seconds a served client may stay silent before it is closed (`--idle-timeout`, `ERR
 * idle-timeout`).
 */
export const IDLE_TIMEOUT_SECONDS = 300;
/**
 * How long a served client's turn lasts while others wait with a request, in ms
 * (`--slot-hold`): once its request in hand is answered after that, it goes back to the end of
 * the line, keeping its connection. Long enough for a script's next request or a person
 * reading an answer to type the next; short enough that ten clients who keep their
 * connections open, idle or sending a request every so often, cannot make others wait long.
 */
export const SLOT_HOLD_MS = 3000;
/**
 * How long a trusted balancer's connection may take to send its PROXY header, in ms: a
 * balancer sends it at once, with the connection.
 */
export const PROXY_HEADER_TIMEOUT_MS = 5000;
/**
 * Most connections, waiting or served, one address may have open at once (`--max-clients-per-address`):
 * 0, no cap. Off by default because many clients may share one address (a lab behind NAT, a
 * balancer without the PROXY protocol), and the slot hold already keeps one address's idle
 * connections from keeping the slots; a class server sets it (8, say) so that one student's
 * script cannot fill the waiting line.
 */
export const MAX_CLIENTS_PER_ADDRESS = 0;
/**
 * Largest `--trace` file, in MiB (`--trace-max-mb`); tracing stops there with one log line. At
 * about 200 bytes an increment that is over a million increments, days of the default work, while
 * a runaway (`--iterations-per-unit 0` makes ~100 MB a second) is stopped before it fills a disk;
 * and 256 MiB still opens in ui.perfetto.dev, which holds the whole file in the browser's memory.
 */
export const TRACE_MAX_MB = 256;
/** Seconds that in-flight requests get to finish on shutdown (`--grace`). */
export const GRACE_SECONDS = 10;
/**
 * Most work one request may ask for, in seconds of the whole pool's time,
 * estimated before it starts (`--max-request-seconds`): a request over it is
 * answered `ERR too-much-work`. Ten minutes: a class's `0 10000` (about 3
 * minutes on two CPUs at the default work) fits; `0 1000000` (about 5 hours)
 * does not.
 */
export const MAX_REQUEST_SECONDS = 600;
/**
 * Milliseconds of silence after which a partial line (no newline yet) is taken
 * as a whole request: the original client sends `2 10` with no newline.
 */
export const CLASSIC_SILENCE_MS = 40;
/** Least milliseconds between two `PROGRESS` lines to one client. */
export const PROGRESS_INTERVAL_MS = 200;
/**
 * Size of a new line reader's buffer, in bytes: it grows, up to the longest line, only when needed.
 */
export const LINE_BUFFER_INITIAL_BYTES = 256;
/** Smallest read a line reader makes: below this much free room, it compacts or grows first. */
export const LINE_MIN_READ_BYTES = 512;
/** Most bytes of replies held for a pipelining client's next ones, before they are written. */
export const REPLY_HOLD_BYTES = 16 * 1024;
/** Most milliseconds a reply is held for the replies after it. */
export const REPLY_HOLD_MS = 2;
/** The longest `--max-line-bytes`: 64 MiB, a line buffer a server can still hold for a client. */
export const MAX_LINE_BYTES_LIMIT = 64 * 2 ** 20;
/** The most `--read-ahead-bytes`: 1 GiB. */
export const MAX_READ_AHEAD_BYTES = 2 ** 30;

/**
 * Most entries in one `SCHEDULE`, and most steps a `STEP ON` request may take: each
 * increment is two steps (a read and a write), and a `locked` Worker's try at a held
 * lock is one more.
 */
export const MAX_SCHEDULE_STEPS = 64;
/**
 * Most increments of a stepped request (`SCHEDULE` or `STEP ON`): its tasks are pinned
 * to their Workers and its steps told one by one, a lesson's worth, not a workload.
 */
export const MAX_STEPPED_INCREMENTS = 16;
/**
 * Seconds a `STEP ON` request waits for the client's next `STEP` (and for a Worker to
 * take it) before the rest of its steps run freely, so that a student who stops stepping
 * holds no Worker for longer.
 */
export const STEP_IDLE_SECONDS = 60;
/**
 * Seconds a `STEP ON` request may hold the pool's Workers in all, however often its client
 * steps (the class's counts wait meanwhile); then the rest of its steps run freely.
 */
export const STEP_HOLD_SECONDS = 120;

/** A server's options, unless told otherwise: the constants above, times in ms. */
export const DEFAULT_SERVER_OPTIONS = {
  hostname: HOST,
  port: PORT,
  maxClients: MAX_NUM_CLIENT_CONNECTIONS_TO_SERVER,
  maxWaiting: MAX_WAITING_CLIENTS,
  workers: WORKERS,
  minUnits: MIN_UNITS,
  maxUnits: MAX_UNITS,
  iterationsPerUnit: ITERATIONS_PER_UNIT,
  maxIncrements: MAX_INCREMENTS_PER_REQUEST,
  maxLineBytes: MAX_LINE_BYTES,
  readAheadBytes: READ_AHEAD_BYTES,
  idleTimeoutMs: IDLE_TIMEOUT_SECONDS * 1000,
  slotHoldMs: SLOT_HOLD_MS,
  maxClientsPerAddress: MAX_CLIENTS_PER_ADDRESS,
  proxyProtocolFrom: [],
  stepIdleMs: STEP_IDLE_SECONDS * 1000,
  stepHoldMs: STEP_HOLD_SECONDS * 1000,
  maxRequestMs: MAX_REQUEST_SECONDS * 1000,
  graceMs: GRACE_SECONDS * 1000,
  silenceMs: CLASSIC_SILENCE_MS,
  progressIntervalMs: PROGRESS_INTERVAL_MS,
  replyHoldBytes: REPLY_HOLD_BYTES,
  replyHoldMs: REPLY_HOLD_MS,
  counterModel: COUNTER_MODEL,
  workerModel: WORKER_MODEL,
} as const;

// Every command line.

/**
 * Copies of one stop signal within this many ms are one request to stop: a Ctrl-C reaches
 * the whole foreground group and `deno task` forwards its own copy, seen over 300 ms late on
 * a loaded machine. A person pressing again on purpose waits longer than 1 s.
 */
export const SIGNAL_COPY_WINDOW_MS = 1000;
/** The largest TCP port, the upper bound of every port flag. */
export const MAX_PORT = 65_535;
/** The longest timer JavaScript keeps, in seconds: a longer timeout would fire at once. */
export const MAX_TIMER_SECONDS = 2_147_483;

// The client.

/** The original client's prompt, word for word. */
export const PROMPT =
  "Please enter a number, space, then number of increments to be done by the server: ";
/** Requests smaller than this show no progress display. */
export const PROGRESS_MIN_INCREMENTS = 20;
/** The longest line the client reads from standard input; a longer one ends the client. */
export const MAX_INPUT_LINE_BYTES = 64 * 1024;
/**
 * The longest reply line a client reads. The longest real one is a result: a start of
 * `--max-line-bytes` digits plus the increments, far below this.
 */
export const MAX_REPLY_BYTES = 1024 * 1024;

// The pool.

/** Work, in additions, that one batch may carry (the pool's `maxQueuedWork`). */
export const DEFAULT_MAX_QUEUED_WORK = 2_000_000;
/** Most tasks in one batch handed to a lane (the pool's `maxBatch`). */
export const DEFAULT_MAX_BATCH = 256;
/**
 * Runs of one task that ended with its Worker dying, alone, before its job fails (`maxAttempts`).
 */
export const DEFAULT_MAX_ATTEMPTS = 3;

// The fleet of worker nodes (`deno task node --help`).

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
/**
 * Work, in additions, one batch to a remote Worker may carry: three default units. A remote
 * batch costs four thread wake-ups in three processes (server, broker, node) against one
 * for a local Worker; fuller messages keep that from eating the Workers' cores.
 */
export const REMOTE_BATCH_WORK = 24_000_000;
/**
 * Most remote Workers (lanes) of nodes that have answered, over every node: a bound, so that
 * nodes (or a bug) cannot grow the pool without end.
 */
export const MAX_REMOTE_LANES = 4096;
/** Longest a batch is waited for, in ms, whatever the estimates say. */
export const MAX_BATCH_DEADLINE_MS = 60_000;
/**
 * Most nodes that have announced themselves and not yet answered a batch well, each with one
 * lane: announcements alone never take more lanes than this.
 */
export const MAX_UNPROVEN_NODES = 64;
/** Longest back-off of a failing lane, in ms. */
export const MAX_BENCH_MS = 30_000;
/** Most batches in flight to one remote Worker (cheap ones; see `RemoteLane.hasRoom` in `lib/fleet/remote_lane.ts`). */
export const MAX_BATCHES_IN_FLIGHT = 8;
/** Most tasks one batch may carry (a local batch carries at most 256). */
export const MAX_TASKS_PER_BATCH = 4096;
/** Most work units one task may ask for: a bound, so a stranger cannot pin a Worker for days. */
export const MAX_UNITS_PER_TASK = 1_000_000;
/** Most additions per unit a batch may ask for (the Worker's own bound). */
export const MAX_ITERATIONS_PER_UNIT = 2 ** 30;
/** Most Workers a node may announce. */
export const MAX_NODE_WORKERS = 1024;
/** Longest client name (`NAME alice`): letters, digits, `.`, `_` and `-`. */
export const MAX_CLIENT_NAME = 32;
/** Longest node name. */
export const MAX_NODE_NAME = 64;

// The trace (`--trace`).

/**
 * Milliseconds between writes of what the trace holds: a trace cut off by a
 * `SIGKILL` misses at most this much (plus one write's time), well under the
 * second that Perfetto users can lose.
 */
export const TRACE_FLUSH_MS = 250;
/**
 * Most bytes of trace text held in memory, waiting for or in a write. When the
 * disk cannot keep up, events beyond this are dropped and counted: the server
 * is never slowed by its trace. Sized to hold a burst of the fastest run
 * (BENCHMARKS.md, "Tracing at speed").
 */
export const TRACE_MEMORY_BYTES = 16 * 1024 * 1024;
/** The smallest trace file, in bytes: the header, a few increments and the closing reserve. */
export const TRACE_MIN_BYTES = 4096;

// The dashboard (`--dashboard`): bounds on the server's memory and the page's work, however
// many clients and increments come.

/** Time between two updates sent to the pages, in ms. */
export const DASHBOARD_INTERVAL_MS = 250;
/**
 * Most bytes of one message to a page, the first (the snapshot) and every
 * update: what does not fit is summarised, and the message says so.
 */
export const DASHBOARD_MESSAGE_BYTES = 64 * 1024;
/** Pages (event streams) open at once; one more is answered 503. */
export const DASHBOARD_MAX_PAGES = 100;
/**
 * Bytes a page may leave unread before it is dropped (its stream closed; a
 * browser reconnects by itself and gets a fresh snapshot): four messages of the
 * largest size.
 */
export const DASHBOARD_STREAM_MAX_QUEUED_BYTES = 4 * DASHBOARD_MESSAGE_BYTES;
/** How long a page may leave a message unread before it is dropped, in ms. */
export const DASHBOARD_STREAM_STALL_MS = 10_000;
/** Time the dashboard keeps finished bars for a page that connects, in ms. */
export const DASHBOARD_HISTORY_MS = 10_000;
/** Most finished bars kept for a page that connects. */
export const DASHBOARD_HISTORY_BARS = 4000;
/** Most bars held for the next update; the rest are only counted, in its summary. */
export const DASHBOARD_BARS_PER_UPDATE = 2000;
/**
 * Most bars of one lane an update carries one by one. Past it a lane has more
 * increments than pixels for them (at the 2 s window, a lane of about 1 000 px
 * moves 125 px an update), so all its bars of that update are sent as their
 * density, in the lane's summary.
 */
export const DASHBOARD_LANE_BARS_PER_UPDATE = 64;
/**
 * Lanes whose running increment a message carries (the first that run one): drawn from
 * its start up to now. The lanes past it show their increments once they end.
 */
export const DASHBOARD_RUNNING_SHOWN = 64;
/**
 * Clients' colours named in one lane's summary of the bars an update did not
 * carry one by one, most first; the rest are counted together.
 */
export const DASHBOARD_SUMMARY_COLOURS = 3;
/** Clients one `POST /control/clients` may open (the classroom control). */
export const DASHBOARD_CONTROL_CLIENTS = 50;
/** Clients the dashboard's controls keep open at once; past it, a control is answered 429. */
export const DASHBOARD_CONTROL_OPEN = 200;
/** Largest body of a control request, in bytes. */
export const DASHBOARD_CONTROL_BODY_BYTES = 1024;
/** How far back `GET /trace.json` goes, in ms. */
export const DASHBOARD_TRACE_MS = 60_000;
/** Most increments `GET /trace.json` keeps (the newest); the trace says how many it left out. */
export const DASHBOARD_TRACE_EVENTS = 50_000;
/** Finished requests the dashboard lists. */
export const DASHBOARD_FINISHED_KEPT = 20;
/** Waiting clients listed by name; the rest are counted. */
export const DASHBOARD_WAITING_LISTED = 50;
/** Client slots shown one by one; past them, the slots taken are counted. */
export const DASHBOARD_SLOTS_SHOWN = 64;
/** Requests in flight (and their Mutex) listed, oldest first; the rest are counted. */
export const DASHBOARD_REQUESTS_LISTED = 32;
/** Worker lanes drawn; the bars of the others are not sent, and the page counts those lanes. */
export const DASHBOARD_LANES_SHOWN = 256;
/** Longest lane name sent, in characters (a node names its own lanes). */
export const DASHBOARD_NAME_CHARS = 64;
/**
 * How long a client's colour stays its own after it leaves, in ms: as long as
 * the longest window the page shows, so its bars never share a colour with a
 * newcomer's while colours last.
 */
export const DASHBOARD_COLOUR_HOLD_MS = 60_000;
/** Patterns (cues) per palette colour, the plain one included. */
export const DASHBOARD_CUES = 6;
/** Numbers longer than this many characters are sent as their first and last digits. */
export const DASHBOARD_DIGITS_SHOWN = 20;

// The lessons (`deno task lessons --help`).

/**
 * Increments of the lessons' request, unless told otherwise (`--increments`): about a second a row.
 */
export const LESSON_INCREMENTS = 40;
/**
 * Workers of each lesson's server, unless told otherwise (`--workers`): the fewest that can race.
 */
export const LESSON_WORKERS = 2;
/**
 * Most increments the lessons count. The per-increment rows start a Worker for
 * each increment, tens of milliseconds apiece, three rows over: a thousand
 * already costs a minute or more of start-ups. Larger requests belong to
 * `deno task server`.
 */
export const MAX_LESSON_INCREMENTS = 1000;
/** Most runs of `deno task lessons --runs`. */
export const MAX_LESSON_RUNS = 1000;
/**
 * Most additions in a work unit of the lessons: a unit of about a tenth of a second, twelve
 * times the default. The largest lesson then stays near the ten minutes of
 * Worker time a server gives one request (`ERR too-much-work` beyond).
 */
export const MAX_LESSON_ITERATIONS_PER_UNIT = 100_000_000;
