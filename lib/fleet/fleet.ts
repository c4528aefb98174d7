/**
 * The server's view of the fleet of worker nodes: it hears their announcements,
 * binds lanes of the pool to their Workers, takes a node that falls silent, stops
 * listening or says goodbye for gone (its batches go back to the scheduler and its
 * lanes are freed for other nodes), and takes every node for gone while the broker
 * is out of reach (the server then counts on its local Workers alone). It says so
 * through its events.
 *
 * Nothing on the broker is believed for where it comes from. A node that announces
 * itself gets one lane until it has answered a batch well; only then does it get a
 * lane for each Worker it announced, within {@linkcode FleetOptions.maxLanes} over
 * all nodes. At most {@linkcode MAX_UNPROVEN_NODES} nodes wait for their first good
 * answer at once. A node's run (its session) is fixed by its first hello: another
 * run announcing the same name is ignored while the first one answers, and a
 * goodbye counts only with the secret whose key the run announced.
 *
 * @module
 */
import { MAX_REMOTE_LANES, MAX_UNPROVEN_NODES, REMOTE_BATCH_WORK } from "../defaults/defaults.ts";
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import type { LaneListener, LaneTask } from "../pool/lane.ts";
import type { FleetEvent } from "../server/server_events.ts";
import {
  BYE_SUBJECTS,
  decodeBye,
  decodeHello,
  HELLO_SUBJECTS,
  MalformedMessageError,
  type NodeHello,
  WHO_SUBJECT,
} from "./fleet_wire.ts";
import { MalformedMessages } from "./malformed_messages.ts";
import { RemoteLane } from "./remote_lane.ts";
import { LaneSeats } from "./lane_seats.ts";
import { ReplyInbox } from "./reply_inbox.ts";
import { isOwnBye, judgeHello, type NodeSession } from "./node_sessions.ts";

/** Options of {@linkcode Fleet}. */
export interface FleetOptions<T extends LaneTask> {
  /** Additions per work unit, sent with every batch. */
  iterationsPerUnit: number;
  /** Silence of a node, in ms, after which it is taken for gone. */
  nodeLostMs: number;
  /** Least deadline of a batch, in ms (see {@linkcode RemoteLane}). */
  minDeadlineMs: number;
  /**
   * Adds a lane to the pool: called once per seat the fleet needs; hands the pool's listener
   * to the lane's maker and returns the lane. Lanes are never removed: a freed one is bound
   * to the next node's Worker.
   */
  addLane: (make: (listener: LaneListener<T>) => RemoteLane<T>) => RemoteLane<T>;
  /** Most lanes of nodes that have answered. Defaults to {@linkcode MAX_REMOTE_LANES}. */
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
  /** Workers of the nodes up now that have a lane. */
  remoteWorkers: number;
  /** Of those, the ones with a batch in flight. */
  remoteWorkersBusy: number;
  /** Batches given up (no good reply by the deadline, or the node gone) and run again. */
  batchesResent: number;
  /** Replies that came after their batch was given up, dropped. */
  lateReplies: number;
  /** Malformed messages dropped. */
  malformed: number;
  /** Remote lanes the pool has, bound or free. */
  lanes: number;
  /** Of those, the ones with a batch in flight. */
  lanesBusy: number;
  /** Whether the broker is reachable now (when it is not, only local Workers count). */
  brokerUp: boolean;
}

interface NodeState<T extends LaneTask> extends NodeSession {
  lanes: RemoteLane<T>[];
  lastHeardAt: number;
  /** It answered a batch well: it has a lane for each of its Workers (within the bound). */
  proven: boolean;
}

/**
 * The fleet, from one server's side (`server_fleet.ts` plugs it into a server).
 *
 * @example
 * ```ts ignore
 * const fleet = new Fleet(nc, { iterationsPerUnit, nodeLostMs: 3500, minDeadlineMs: 2000,
 *   addLane: (make) => pool.addLane(make) });
 * ```
 */
export class Fleet<T extends LaneTask> {
  #nc: NatsConnection;
  #options: FleetOptions<T>;
  #maxLanes: number;
  #nodes = new Map<string, NodeState<T>>();
  #seats: LaneSeats<RemoteLane<T>>;
  #inbox: ReplyInbox;
  #provenLanes = 0;
  #subscriptions: Subscription[];
  #sweep: ReturnType<typeof setInterval>;
  #malformed: MalformedMessages;
  #brokerUp = true;
  #wasUsable = false;
  #batchesResent = 0;
  #lateReplies = 0;
  #closed = false;
  #watching: Promise<void>;

  /**
   * Listens for nodes and asks those already up to announce themselves.
   *
   * @param nc The connection to the broker (the caller closes it after {@linkcode Fleet.close}).
   * @param options The work model, the bounds and the pool's hook.
   */
  constructor(nc: NatsConnection, options: FleetOptions<T>) {
    this.#nc = nc;
    this.#options = options;
    this.#maxLanes = options.maxLanes ?? MAX_REMOTE_LANES;
    this.#seats = new LaneSeats(() => this.#newSeat());
    this.#inbox = new ReplyInbox(nc, {
      onLate: () => this.#lateReplies++,
      onStray: (subject) => this.#malformed.drop(subject, "a reply to no batch this server sent"),
    });
    this.#malformed = new MalformedMessages({
      log: (report) => this.#emit({ type: "fleet-malformed", at: Date.now(), ...report }),
    });
    const listen = (subject: string, hear: (subject: string, data: Uint8Array) => void) =>
      nc.subscribe(subject, {
        callback: (error, msg) => void (error || hear(msg.subject, msg.data)),
      });
    this.#subscriptions = [
      listen(HELLO_SUBJECTS, (subject, data) => this.#onHello(subject, data)),
      listen(BYE_SUBJECTS, (subject, data) => this.#onBye(subject, data)),
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
    const seats = this.#seats.counts();
    return {
      nodes: this.#nodes.size,
      remoteWorkers: seats.bound,
      remoteWorkersBusy: seats.boundBusy,
      batchesResent: this.#batchesResent,
      lateReplies: this.#lateReplies,
      malformed: this.#malformed.count,
      lanes: seats.seats,
      lanesBusy: seats.busy,
      brokerUp: this.#brokerUp,
    };
  }

  /** Remote Workers that may take batches now (or once their back-off ends). */
  get readyWorkers(): number {
    return this.#seats.counts().up;
  }

  /** Stops listening and closes every lane. Safe to call again. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweep);
    for (const subscription of this.#subscriptions) subscription.unsubscribe();
    for (const lane of this.#seats.all) lane.close();
    this.#inbox.close();
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
          this.#retire(node, state, `lost the broker ${status.server}`, false);
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

  /** Decodes a message, or counts it as malformed and gives undefined. */
  #decode<M>(subject: string, data: Uint8Array, decode: (d: Uint8Array, s: string) => M) {
    try {
      return decode(data, subject);
    } catch (error) {
      if (!(error instanceof MalformedMessageError)) throw error;
      this.#malformed.drop(subject, error.message);
    }
  }

  #onHello(subject: string, data: Uint8Array): void {
    const hello = this.#decode(subject, data, decodeHello);
    if (!hello || this.#closed || !this.#brokerUp) return;
    const now = performance.now();
    const state = this.#nodes.get(hello.node);
    const verdict = state && judgeHello(state, hello);
    if (verdict === "heartbeat") {
      state!.lastHeardAt = now;
      return;
    }
    if (verdict === "belied") {
      this.#malformed.drop(subject, `a hello of ${hello.node}'s run that its first one belies`);
      return;
    }
    if (state) {
      if (!state.lanes.every((lane) => lane.failing)) {
        this.#malformed.drop(
          subject,
          `another run of ${hello.node} announces itself (a second node of that name, or a ` +
            `stranger): ignored while the first one answers`,
        );
        return;
      }
      this.#retire(hello.node, state, "another run of it announced itself", true);
    }
    this.#join(subject, hello, now);
  }

  #join(subject: string, hello: NodeHello, now: number): void {
    let unproven = 0;
    for (const state of this.#nodes.values()) if (!state.proven) unproven++;
    if (unproven >= MAX_UNPROVEN_NODES) {
      this.#malformed.drop(
        subject,
        `${hello.node} announces itself while ${unproven} nodes have yet to answer a batch, ` +
          `the bound (MAX_UNPROVEN_NODES)`,
      );
      return;
    }
    const { session, byeKey, workers } = hello;
    const state = { session, byeKey, workers, lanes: [], lastHeardAt: now, proven: false };
    this.#nodes.set(hello.node, state);
    this.#emit({ type: "node-joined", at: Date.now(), node: hello.node, workers: hello.workers });
    this.#bind(hello.node, state, 0);
    if (!this.#wasUsable) {
      this.#wasUsable = true;
      let announced = 0; // what the nodes have, though each gets one lane until it answers
      for (const node of this.#nodes.values()) announced += node.workers;
      this.#emit({
        type: "fleet-regained",
        at: Date.now(),
        nodes: this.#nodes.size,
        workers: announced,
      });
    }
  }

  /** Binds a seat to Worker `worker` of `node`, and takes it for up. */
  #bind(node: string, state: NodeState<T>, worker: number): void {
    const lane = this.#seats.take(node, worker);
    state.lanes.push(lane);
    lane.up();
  }

  #newSeat(): RemoteLane<T> {
    return this.#options.addLane((listener) =>
      new RemoteLane<T>({
        nc: this.#nc,
        inbox: this.#inbox,
        iterationsPerUnit: this.#options.iterationsPerUnit,
        minDeadlineMs: this.#options.minDeadlineMs,
        batchWork: REMOTE_BATCH_WORK,
        malformed: this.#malformed,
        listener,
        onLost: () => this.#batchesResent++,
        onAnswered: (lane) => this.#onAnswered(lane),
      })
    );
  }

  /** A node's first good answer: it gets a lane for each Worker it announced, within bounds. */
  #onAnswered(lane: RemoteLane<T>): void {
    const node = lane.node!;
    const state = this.#nodes.get(node);
    if (!state || state.proven) return;
    state.proven = true;
    const granted = Math.min(state.workers, this.#maxLanes - this.#provenLanes);
    if (granted < state.workers) {
      this.#malformed.drop(
        `${node}'s Workers`,
        `${node} has ${state.workers} Workers; ${Math.max(granted, 0)} fit under the bound of ` +
          `${this.#maxLanes} remote Workers this server takes on`,
      );
    }
    if (granted < 1) {
      state.proven = false;
      this.#retire(node, state, "no room for its Workers", true);
      return;
    }
    this.#provenLanes += granted;
    for (let worker = 1; worker < granted; worker++) this.#bind(node, state, worker);
  }

  #onBye(subject: string, data: Uint8Array): void {
    const bye = this.#decode(subject, data, decodeBye);
    const state = bye && this.#nodes.get(bye.node);
    if (!bye || !state) return;
    if (!isOwnBye(state, bye)) {
      this.#malformed.drop(
        subject,
        `a goodbye for ${bye.node} without the secret its run announced: not from the node`,
      );
      return;
    }
    this.#retire(bye.node, state, "the node stopped", true);
  }

  #sweepSilent(): void {
    this.#malformed.flush(); // the end of a stranger's burst, in the log too
    const now = performance.now();
    for (const [node, state] of this.#nodes) {
      const lostMs = this.#options.nodeLostMs;
      if (now - state.lastHeardAt > lostMs) {
        const silentS = ((now - state.lastHeardAt) / 1000).toFixed(1);
        this.#retire(node, state, `silent for ${silentS} s`, true);
      } else if (state.lanes.length > 0 && state.lanes.every((l) => l.failingFor(now) > lostMs)) {
        // Its hellos go on, but anyone on the broker can replay a hello: what it does not
        // answer is the proof, as its silence would be.
        const failingS = (Math.min(...state.lanes.map((l) => l.failingFor(now))) / 1000).toFixed(1);
        this.#retire(node, state, `every batch sent to it for ${failingS} s failed`, true);
      }
    }
  }

  /** Takes a node for gone: its batches go back to the scheduler, its lanes are freed. */
  #retire(node: string, state: NodeState<T>, reason: string, announce: boolean): void {
    if (this.#nodes.get(node) !== state) return;
    this.#nodes.delete(node);
    if (state.proven) this.#provenLanes -= state.lanes.length;
    for (const lane of state.lanes) this.#seats.free(lane, `${node} lost: ${reason}`);
    if (!announce) return;
    this.#emit({ type: "node-lost", at: Date.now(), node, reason });
    if (this.#wasUsable && this.#nodes.size === 0) {
      this.#wasUsable = false;
      this.#emit({
        type: "fleet-lost",
        at: Date.now(),
        reason: `no worker node is up; ${this.#meanwhile()}`,
      });
    }
  }
}
