/**
 * One accepted connection: its socket, its reader, who the client is, and
 * where it stands (waiting in line, or served with a slot and a session).
 *
 * @module
 */
import type { Admission, ConnectionGate } from "./connection_gate.ts";
import { type ByteSource, LineReader } from "../wire/line_reader.ts";
import { closeQuietly } from "../wire/write_all.ts";
import type { Session } from "./session.ts";
import type { SweptConnection } from "./idle_sweep.ts";
import type { ServerOptions } from "./server_options.ts";

/** The line reader's limits. */
export type ReaderLimits = Pick<ServerOptions, "maxLineBytes" | "silenceMs" | "readAheadBytes">;

/** Who a client is and where its bytes come from: the socket, or what follows a PROXY header. */
export interface Arrival {
  /** The client's address (a balancer's PROXY header may name it). */
  hostname: string;
  port: number;
  /** Its bytes. */
  source: ByteSource;
}

/**
 * One accepted connection: its socket, its reader, and where it stands (waiting, with a way
 * out of line; or served, with a slot and a session).
 */
export class Connection implements SweptConnection {
  readonly conn: Deno.TcpConn;
  /** The client's address, for events. */
  readonly peer: string;
  /** The client's host, for the cap per address. */
  readonly host: string;
  /** When it connected (`performance.now()`). */
  readonly connectedAt = performance.now();
  /** Reads from the start, before the client has a slot, so a waiting client's hang-up is seen. */
  readonly reader: LineReader;
  #slot?: Disposable;
  #session?: Session;
  /** Takes it out of the gate's line, while it waits. */
  #leaveLine?: (reason: unknown) => void;

  /**
   * @param conn The socket.
   * @param arrival Who the client is, and its bytes (those after a PROXY header).
   * @param limits The reader's limits.
   * @param onFull Called when its read-ahead is full while it waits in line.
   */
  constructor(
    conn: Deno.TcpConn,
    arrival: Arrival,
    limits: ReaderLimits,
    onFull: () => void,
  ) {
    this.conn = conn;
    this.host = arrival.hostname;
    this.peer = `${this.host}:${arrival.port}`;
    const { maxLineBytes, silenceMs, readAheadBytes } = limits;
    this.reader = new LineReader(arrival.source, {
      maxLineBytes,
      silenceMs,
      readAheadBytes,
      onEnd: () => this.#onEnd(),
      onFull: () => {
        if (this.#leaveLine) onFull();
      },
    });
  }

  /** Its session, while it holds a slot (not while it is back in line). */
  get session(): Session | undefined {
    return this.#slot && this.#session;
  }

  /** Whether it has a request ready for a slot: the gate's {@linkcode ReadyProbe}. */
  ready = (): boolean => this.reader.lineReady;

  /** Whether the client has gone: its input ended or failed. */
  get gone(): boolean {
    return this.reader.atEnd;
  }

  /** It waits in line; `leave` takes it out. */
  wait(leave: (reason: unknown) => void): void {
    this.#leaveLine = leave;
  }

  /** It is served: it holds `slot` until released. */
  serve(slot: Disposable, session: Session): void {
    this.#session = session;
    this.resume(slot);
  }

  /** Its turn has come again: it holds `slot` until released. */
  resume(slot: Disposable): void {
    this.#leaveLine = undefined;
    this.#slot = slot;
  }

  /**
   * Goes back to the end of the line (while others wait): its slot goes to the next in turn.
   *
   * @returns The gate's admission: served (it keeps its slot), waiting or refused.
   */
  backInLine(gate: ConnectionGate): Admission {
    const slot = this.#slot!;
    const admission = gate.requeue(slot, this.ready);
    if (admission.kind !== "served") this.#slot = undefined;
    return admission;
  }

  /**
   * Takes it out of the line, if it waits there.
   *
   * @param reason Why: its turn is refused with it.
   */
  leaveLine(reason: unknown): void {
    this.#leaveLine?.(reason);
  }

  /** Frees its slot and closes its socket. */
  release(): void {
    this.#leaveLine = undefined;
    this.#session = undefined;
    this.#slot?.[Symbol.dispose]();
    this.#slot = undefined;
    this.close();
  }

  /** Closes its socket (again, harmlessly). */
  close(): void {
    closeQuietly(this.conn);
  }

  /** The client has gone (its input ended or failed): out of the line, its count cancelled. */
  #onEnd(): void {
    const reason = new Error("client disconnected");
    this.#leaveLine?.(reason);
    this.#session?.cancel(reason);
  }
}
