/**
 * Where the replies to a server's batches come: one NATS subscription, one reply
 * subject per batch (`_INBOX.<id>.<n>`). Unlike a NATS request, which takes the
 * first reply and drops the rest, it hears every reply: a stranger that answers a
 * batch first with a lie does not hide the node's true answer, and a reply that
 * comes after its batch was given up is seen, and counted as late.
 *
 * @module
 */
import { createInbox, type Msg, type NatsConnection } from "@nats-io/transport-node";

/** What a reply subject's holder hears. */
export type ReplyHandler = (msg: Msg) => void;

/** One batch's reply subject, open until closed. */
export interface OpenReply {
  /** The subject to send the batch with, as its reply subject. */
  subject: string;
  /** Stops listening: later replies to it are late. */
  close(): void;
}

/** Options of {@linkcode ReplyInbox}. */
export interface ReplyInboxOptions {
  /** Hears of each reply to a reply subject that was closed. */
  onLate: () => void;
  /** Hears of each reply to a subject this inbox never gave out. */
  onStray: (subject: string) => void;
}

/**
 * A server's inbox for the replies to its batches. Each remote lane opens a reply
 * subject per batch (`inbox.open(handler)`), publishes the batch with it as the
 * reply subject, and closes it when the batch is settled; a reply after that is
 * late. It needs a broker, so it has no example of its own: the fleet's
 * (`Fleet`, `lib/fleet/fleet.ts`) shows one at work, and `tests/fleet_*_test.ts`
 * drive it against a real `nats-server`.
 */
export class ReplyInbox {
  #prefix: string;
  #next = 0;
  #open = new Map<number, ReplyHandler>();
  #subscription;
  #options: ReplyInboxOptions;

  /**
   * Subscribes to the inbox.
   *
   * @param nc The connection to the broker.
   * @param options Where late and stray replies are told.
   */
  constructor(nc: NatsConnection, options: ReplyInboxOptions) {
    this.#prefix = createInbox();
    this.#options = options;
    this.#subscription = nc.subscribe(`${this.#prefix}.*`, {
      callback: (error, msg) => {
        if (!error) this.#hear(msg);
      },
    });
  }

  /**
   * Opens a reply subject.
   *
   * @param onReply Hears each reply to it, until closed.
   * @returns The subject, and how to close it.
   */
  open(onReply: ReplyHandler): OpenReply {
    const n = ++this.#next;
    this.#open.set(n, onReply);
    return { subject: `${this.#prefix}.${n}`, close: () => this.#open.delete(n) };
  }

  /** Stops listening. */
  close(): void {
    this.#subscription.unsubscribe();
    this.#open.clear();
  }

  #hear(msg: Msg): void {
    const n = Number(msg.subject.slice(this.#prefix.length + 1));
    const handler = this.#open.get(n);
    if (handler) handler(msg);
    else if (Number.isInteger(n) && n >= 1 && n <= this.#next) this.#options.onLate();
    else this.#options.onStray(msg.subject);
  }
}
