/**
 * The server's view of the fleet of worker nodes: it hears their announcements,
 * gives the pool one {@linkcode RemoteLane} per remote Worker, takes a node that
 * falls silent or says goodbye for lost (its batches go back to the scheduler),
 * and takes every node for lost while the broker is out of reach (the server
 * then counts on its local Workers alone). It says so through its events.
 *
 * @module
 */
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import type { LaneListener, LaneTask } from "../pool/lane.ts";
import type { FleetEvent } from "../server/server_events.ts";
import {
  BYE_SUBJECT,
  decodeBye,
  decodeHello,
  HELLO_SUBJECT,
  MalformedMessageError,
  WHO_SUBJECT,
} from "./fleet_wire.ts";
import { MalformedMessages } from "./malformed_messages.ts";
import { RemoteLane } from "./remote_lane.ts";
import { MAX_REMOTE_LANES, REMOTE_BATCH_WORK } from "../defaults/defaults.ts";

/** Options of {@linkcode Fleet}. */
export interface FleetOptions<T extends LaneTask> {
  /** Additions per work unit, sent with every batch. */
  iterationsPerUnit: number;
  /** Silence of a node, in ms, after which it is taken for lost. */
  nodeLostMs: number;
  /** Least deadline of a batch, in ms (see {@linkcode RemoteLane}). */
  minDeadlineMs: number;
  /**
   * Adds a lane to the pool: called once per remote Worker, the first time it is
   * announced; hands the pool's listener to the lane's maker and returns the lane.
   */
  addLane: (make: (listener: LaneListener<T>) => RemoteLane<T>) => RemoteLane<T>;
  /** Most remote lanes, over all nodes. Defaults to {@linkcode MAX_REMOTE_LANES}. */
  maxLanes?: number;
  /** The server's own Workers, for the log's word on what it counts on meanwhile. */
  localWorkers?: number;
  /** Hears what happens to the fleet. */
  onEvent?: (event: FleetEvent) => void;
}

/** The fleet's counters, for `STATS`. */
export interface FleetStats {
  /** Nodes up now. */
  nodes: number;
  /** Workers of the nodes up now. */
  remoteWorkers: number;
  /** Of those, the ones with a batch in flight. */
  remoteWorkersBusy: number;
  /** Batches given up (no reply by the deadline, or the node lost) and run again. */
  batchesResent: number;
  /** Replies that came after their batch was given up, dropped. */
  lateReplies: number;
  /** Malformed messages dropped. */
  malformed: number;
  /** Remote lanes the pool has, up or down. */
  lanes: number;
  /** Of those, the ones with a batch in flight. */
  lanesBusy: number;
  /** Whether the broker is reachable now (when it is not, only local Workers count). */
  brokerUp: boolean;
}

interface NodeState<T extends LaneTask> {
  lanes: RemoteLane<T>[];
  workers: number;
  lastHeardAt: number;
  up: boolean;
  /**
   * Until when (`performance.now()`) its announcements are not believed: set when a batch
   * found nothing listening on its subject, so a node that announces itself but does not
   * listen is not fed a batch at every hello.
   */
  distrustedUntil: number;
}

/**
 * The fleet, from one server's side.
 *
 * @example
 * ```ts ignore
 * const fleet = new Fleet(nc, { iterationsPerUnit, nodeLostMs: 3500, minDeadlineMs: 2000,
 *   addLane: (make) => pool.addLane(make) });
 * console.log(fleet.stats.nodes);
 * await fleet.close();
 * ```
 */
export class Fleet<T extends LaneTask> {
  #nc: NatsConnection;
  #options: FleetOptions<T>;
  #nodes = new Map<string, NodeState<T>>();
  #subscriptions: Subscription[];
  #sweep: ReturnType<typeof setInterval>;
  #malformed: MalformedMessages;
  #brokerUp = true;
  #wasUsable = false;
  #batchesResent = 0;
  #closed = false;
  #watching: Promise<void>;
  #laneCount = 0;

  /**
   * Listens for nodes and asks those already up to announce themselves.
   *
   * @param nc The connection to the broker (the caller closes it after {@linkcode Fleet.close}).
   * @param options The work model, the bounds and the pool's hook.
   */
  constructor(nc: NatsConnection, options: FleetOptions<T>) {
    this.#nc = nc;
    this.#options = options;
    this.#malformed = new MalformedMessages({
      log: (report) => this.#emit({ type: "fleet-malformed", at: Date.now(), ...report }),
    });
    this.#subscriptions = [
      nc.subscribe(HELLO_SUBJECT, {
        callback: (error, msg) => {
          if (!error) this.#onHello(msg.subject, msg.data);
        },
      }),
      nc.subscribe(BYE_SUBJECT, {
        callback: (error, msg) => {
          if (!error) this.#onBye(msg.subject, msg.data);
        },
      }),
    ];
    this.#ask();
    this.#sweep = setInterval(
      () => this.#sweepSilent(),
      Math.max(50, Math.floor(options.nodeLostMs / 4)),
    );
    this.#watching = this.#watchBroker();
  }

  /** The fleet's counters. */
  get stats(): FleetStats {
    let nodes = 0;
    let remoteWorkers = 0;
    let remoteWorkersBusy = 0;
    let lateReplies = 0;
    let lanes = 0;
    let lanesBusy = 0;
    for (const state of this.#nodes.values()) {
      for (const lane of state.lanes) {
        lateReplies += lane.lateReplies;
        lanes++;
        if (lane.inFlight > 0) lanesBusy++;
      }
      if (!state.up) continue;
      nodes++;
      for (const lane of state.lanes.slice(0, state.workers)) {
        remoteWorkers++;
        if (lane.inFlight > 0) remoteWorkersBusy++;
      }
    }
    return {
      nodes,
      remoteWorkers,
      remoteWorkersBusy,
      batchesResent: this.#batchesResent,
      lateReplies,
      malformed: this.#malformed.count,
      lanes,
      lanesBusy,
      brokerUp: this.#brokerUp,
    };
  }

  /** Remote Workers that may take batches now. */
  get readyWorkers(): number {
    let ready = 0;
    for (const state of this.#nodes.values()) {
      for (const lane of state.lanes) if (lane.isUp) ready++;
    }
    return ready;
  }

  /** Stops listening and closes every remote lane. Safe to call again. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweep);
    for (const subscription of this.#subscriptions) subscription.unsubscribe();
    for (const state of this.#nodes.values()) for (const lane of state.lanes) lane.close();
    if (this.#nc.isClosed()) await this.#watching;
  }

  #emit(event: FleetEvent): void {
    this.#options.onEvent?.(event);
  }

  #meanwhile(): string {
    const local = this.#options.localWorkers ?? 0;
    return local > 0
      ? `counting on the ${local} local Workers meanwhile`
      : "no local Workers (--workers 0): requests wait for a node, then get ERR no-workers";
  }

  #ask(): void {
    try {
      this.#nc.publish(WHO_SUBJECT);
    } catch { /* reconnecting: we ask again once back */ }
  }

  async #watchBroker(): Promise<void> {
    for await (const status of this.#nc.status()) {
      if (this.#closed) continue;
      if (status.type === "disconnect") {
        this.#brokerUp = false;
        for (const [node, state] of this.#nodes) {
          this.#takeDown(node, state, `lost the broker ${status.server}`, false);
        }
        this.#emit({
          type: "fleet-lost",
          at: Date.now(),
          reason: `lost the NATS broker ${status.server}; reconnecting; ${this.#meanwhile()}`,
        });
        this.#wasUsable = false;
      } else if (status.type === "reconnect") {
        this.#brokerUp = true;
        this.#ask();
      }
    }
  }

  #onHello(subject: string, data: Uint8Array): void {
    let hello;
    try {
      hello = decodeHello(data);
    } catch (error) {
      if (!(error instanceof MalformedMessageError)) throw error;
      this.#malformed.drop(subject, error.message);
      return;
    }
    if (this.#closed || !this.#brokerUp) return;
    let state = this.#nodes.get(hello.node);
    const more = hello.workers - (state?.lanes.length ?? 0);
    const maxLanes = this.#options.maxLanes ?? MAX_REMOTE_LANES;
    if (more > 0 && this.#laneCount + more > maxLanes) {
      this.#malformed.drop(
        subject,
        `${hello.node} announces ${hello.workers} Workers, past the bound of ${maxLanes} ` +
          "remote Workers this server takes on",
      );
      return;
    }
    if (!state) {
      state = { lanes: [], workers: 0, lastHeardAt: 0, up: false, distrustedUntil: 0 };
      this.#nodes.set(hello.node, state);
    }
    state.lastHeardAt = performance.now();
    if (!state.up && state.lastHeardAt < state.distrustedUntil) return;
    while (state.lanes.length < hello.workers) {
      const worker = state.lanes.length;
      this.#laneCount++;
      state.lanes.push(this.#options.addLane((listener) =>
        new RemoteLane<T>({
          nc: this.#nc,
          node: hello.node,
          worker,
          iterationsPerUnit: this.#options.iterationsPerUnit,
          minDeadlineMs: this.#options.minDeadlineMs,
          batchWork: REMOTE_BATCH_WORK,
          malformed: this.#malformed,
          listener,
          onLost: (lane, reason, unreachable) => this.#onLaneLost(lane, reason, unreachable),
        })
      ));
    }
    // A node restarted with fewer Workers: its extra lanes stay down.
    for (const lane of state.lanes.slice(hello.workers)) lane.down("the node has fewer Workers");
    state.workers = hello.workers;
    const wasUp = state.up;
    state.up = true;
    if (!wasUp) {
      this.#emit({ type: "node-joined", at: Date.now(), node: hello.node, workers: hello.workers });
    }
    for (const lane of state.lanes.slice(0, hello.workers)) lane.up();
    if (!this.#wasUsable) {
      this.#wasUsable = true;
      const { nodes, remoteWorkers } = this.stats;
      this.#emit({ type: "fleet-regained", at: Date.now(), nodes, workers: remoteWorkers });
    }
  }

  #onBye(subject: string, data: Uint8Array): void {
    let node;
    try {
      node = decodeBye(data);
    } catch (error) {
      if (!(error instanceof MalformedMessageError)) throw error;
      this.#malformed.drop(subject, error.message);
      return;
    }
    const state = this.#nodes.get(node);
    if (state?.up) this.#takeDown(node, state, "the node stopped", true);
  }

  #onLaneLost(lane: RemoteLane<T>, _reason: string, unreachable: boolean): void {
    this.#batchesResent++;
    // No subscriber on the Worker's subject: the node is gone, whatever its last heartbeat said.
    const state = this.#nodes.get(lane.node);
    if (unreachable && state?.up) {
      state.distrustedUntil = performance.now() + this.#options.nodeLostMs;
      this.#takeDown(lane.node, state, "it no longer listens (stopped or killed)", true);
    }
  }

  #sweepSilent(): void {
    const now = performance.now();
    for (const [node, state] of this.#nodes) {
      if (state.up && now - state.lastHeardAt > this.#options.nodeLostMs) {
        const silentS = ((now - state.lastHeardAt) / 1000).toFixed(1);
        this.#takeDown(node, state, `silent for ${silentS} s`, true);
      }
    }
  }

  #takeDown(node: string, state: NodeState<T>, reason: string, announce: boolean): void {
    if (!state.up) return;
    state.up = false;
    for (const lane of state.lanes) lane.down(`${node} lost: ${reason}`);
    if (!announce) return;
    this.#emit({ type: "node-lost", at: Date.now(), node, reason });
    if (this.#wasUsable && this.stats.nodes === 0) {
      this.#wasUsable = false;
      this.#emit({
        type: "fleet-lost",
        at: Date.now(),
        reason: `no worker node is up; ${this.#meanwhile()}`,
      });
    }
  }
}
