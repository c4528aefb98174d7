/**
 * What travels on the fleet's NATS subjects, as pure functions over bytes: no
 * connection here. A batch and a report are in the one format of every Worker's
 * tasks and reports, local or remote (see `lib/pool/worker_messages.ts`): the very
 * `Float64Array`s a Worker takes and gives, sent as their bytes (little-endian, as
 * every machine Deno runs on), so a node hands a batch to its Worker unchanged.
 * Node announcements are small JSON objects.
 *
 * Subjects (`<node>` and `<k>` are a node's name and a Worker index); each carries the
 * node's name, so a broker can allow each node its own subjects only (`deploy/nats-fleet.conf`):
 * - `threadcount.v2.run.<node>.<k>`: a batch for Worker `k` of `<node>`, sent as a
 *   NATS request; the reply is its report.
 * - `threadcount.v2.hello.<node>`: the node's announcement, every heartbeat.
 * - `threadcount.v2.bye.<node>`: a node that stops says so, so its batches are re-sent at
 *   once. It proves that it is the node that announced itself: each run of a node (a
 *   session) announces the SHA-256 of a secret (`byeKey`) and reveals the secret only in
 *   its goodbye, so nobody else can say goodbye for it.
 * - `threadcount.v2.who`: a server that starts asks every node to announce itself now.
 *
 * Every decoder checks what it is given and throws a {@linkcode MalformedMessageError}
 * for anything else: whatever is published on these subjects, by a bug or a stranger,
 * is counted and dropped, never trusted.
 *
 * @module
 */
import {
  MAX_ITERATIONS_PER_UNIT,
  MAX_NODE_NAME,
  MAX_NODE_WORKERS,
  MAX_TASKS_PER_BATCH,
  MAX_UNITS_PER_TASK,
} from "../defaults/defaults.ts";
import { createHash } from "node:crypto";
import { BATCH_HEADER, REPORT_STRIDE, TASK_STRIDE } from "../pool/worker_messages.ts";

/** Prefix of every subject; the version lets an old node and a new server ignore each other. */
export const SUBJECT_PREFIX = "threadcount.v2";
/** Where every node announces itself: `HELLO_SUBJECTS` with the node's name for the `*`. */
export const HELLO_SUBJECTS = `${SUBJECT_PREFIX}.hello.*`;
/** Where every stopping node says goodbye: `BYE_SUBJECTS` with the node's name for the `*`. */
export const BYE_SUBJECTS = `${SUBJECT_PREFIX}.bye.*`;
/** Where a starting server asks nodes to announce themselves. */
export const WHO_SUBJECT = `${SUBJECT_PREFIX}.who`;
/** Characters of a session id and of a goodbye's secret. */
const TOKEN = /^[A-Za-z0-9_-]{16,64}$/;
/** A SHA-256 in hex. */
const SHA256_HEX = /^[0-9a-f]{64}$/;

/** A message on a fleet subject that is not what that subject carries. */
export class MalformedMessageError extends Error {
  /**
   * @param message What was wrong with it.
   */
  constructor(message: string) {
    super(message);
    this.name = "MalformedMessageError";
  }
}

/** The subject of Worker `worker` of node `node`. */
export function runSubject(node: string, worker: number): string {
  return `${SUBJECT_PREFIX}.run.${node}.${worker}`;
}

/** The subject where node `node` announces itself. */
export function helloSubject(node: string): string {
  return `${SUBJECT_PREFIX}.hello.${node}`;
}

/** The subject where node `node` says goodbye. */
export function byeSubject(node: string): string {
  return `${SUBJECT_PREFIX}.bye.${node}`;
}

/**
 * The node's name in a hello or bye subject (its last token).
 *
 * @param subject E.g. `threadcount.v2.hello.lab-b`.
 * @returns E.g. `lab-b`.
 */
export function subjectNode(subject: string): string {
  return subject.slice(subject.lastIndexOf(".") + 1);
}

/**
 * The key a node announces for the secret of its goodbye: SHA-256, in hex.
 *
 * @param secret The secret, revealed only in the goodbye.
 * @returns Its key.
 *
 * @example
 * ```ts
 * import { byeKey } from "./fleet_wire.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(byeKey("a").length, 64);
 * assert.notEqual(byeKey("a"), byeKey("b"));
 * ```
 */
export function byeKey(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

/**
 * A random token for a session id or a goodbye's secret: 32 URL-safe characters.
 *
 * @returns The token.
 */
export function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_");
}

/**
 * Makes a name safe as one subject token: letters, digits, `_` and `-` only.
 *
 * @param name A wished-for name, e.g. a host name with dots.
 * @returns The name with every other character replaced by `-`, cut to {@linkcode MAX_NODE_NAME}.
 * @throws {RangeError} When nothing usable is left.
 *
 * @example
 * ```ts
 * import { nodeName } from "./fleet_wire.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(nodeName("lab-pc.school.org"), "lab-pc-school-org");
 * ```
 */
export function nodeName(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9_-]/g, "-").slice(0, MAX_NODE_NAME);
  if (!/[A-Za-z0-9]/.test(safe)) {
    throw new RangeError(`a node name needs a letter or digit: received ${JSON.stringify(name)}`);
  }
  return safe;
}

/** A node's announcement. */
export interface NodeHello {
  /** The node's name, a subject token. */
  node: string;
  /** Its Workers, indexed from 0. */
  workers: number;
  /** Workers running a batch now. */
  busy: number;
  /** This run of the node: a random token, the same in every hello until it stops. */
  session: string;
  /** {@linkcode byeKey} of the secret its goodbye will reveal. */
  byeKey: string;
}

/**
 * Encodes a node's announcement.
 *
 * @param hello The announcement.
 * @returns Its bytes.
 */
export function encodeHello(hello: NodeHello): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ v: 2, ...hello }));
}

/**
 * Decodes a node's announcement.
 *
 * @param bytes The message's data.
 * @param subject Where it came: its last token must be the node's name.
 * @returns The announcement.
 * @throws {MalformedMessageError} When it is not one.
 *
 * @example
 * ```ts
 * import { decodeHello, encodeHello } from "./fleet_wire.ts";
 * import assert from "node:assert/strict";
 *
 * const hello = { node: "a", workers: 2, busy: 0, session: "s".repeat(16), byeKey: "0".repeat(64) };
 * assert.deepEqual(decodeHello(encodeHello(hello)), hello);
 * assert.throws(() => decodeHello(new Uint8Array([1, 2])));
 * ```
 */
export function decodeHello(bytes: Uint8Array, subject?: string): NodeHello {
  const value = parseJson(bytes, "hello");
  onOwnSubject(value.node, subject, "hello");
  const node = value.node;
  const workers = value.workers as number;
  const busy = value.busy as number;
  if (typeof node !== "string" || node === "" || nodeNameOrNull(node) !== node) {
    throw new MalformedMessageError(`hello: 'node' must be a subject token: ${show(node)}`);
  }
  if (!Number.isInteger(workers) || workers < 1 || workers > MAX_NODE_WORKERS) {
    throw new MalformedMessageError(
      `hello: 'workers' must be 1 to ${MAX_NODE_WORKERS}: ${show(workers)}`,
    );
  }
  if (!Number.isInteger(busy) || busy < 0 || busy > workers) {
    throw new MalformedMessageError(`hello: 'busy' must be 0 to ${workers}: ${show(busy)}`);
  }
  const { session, byeKey } = value;
  if (typeof session !== "string" || !TOKEN.test(session)) {
    throw new MalformedMessageError(`hello: 'session' must be a token: ${show(session)}`);
  }
  if (typeof byeKey !== "string" || !SHA256_HEX.test(byeKey)) {
    throw new MalformedMessageError(`hello: 'byeKey' must be a SHA-256 in hex: ${show(byeKey)}`);
  }
  return { node, workers, busy, session, byeKey };
}

/** A node's goodbye. */
export interface NodeBye {
  /** The node's name. */
  node: string;
  /** The session that says goodbye. */
  session: string;
  /** The secret whose {@linkcode byeKey} the session announced. */
  secret: string;
}

/**
 * Encodes a node's goodbye.
 *
 * @param bye The goodbye.
 * @returns Its bytes.
 */
export function encodeBye(bye: NodeBye): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ v: 2, ...bye }));
}

/**
 * Decodes a node's goodbye (whether its secret matches is the server's check).
 *
 * @param bytes The message's data.
 * @param subject Where it came: its last token must be the node's name.
 * @returns The goodbye.
 * @throws {MalformedMessageError} When it is not one.
 */
export function decodeBye(bytes: Uint8Array, subject?: string): NodeBye {
  const { node, session, secret } = parseJson(bytes, "bye");
  onOwnSubject(node, subject, "bye");
  if (typeof node !== "string" || nodeNameOrNull(node) !== node) {
    throw new MalformedMessageError(`bye: 'node' must be a subject token: ${show(node)}`);
  }
  if (typeof session !== "string" || !TOKEN.test(session)) {
    throw new MalformedMessageError(`bye: 'session' must be a token: ${show(session)}`);
  }
  if (typeof secret !== "string" || !TOKEN.test(secret)) {
    throw new MalformedMessageError(`bye: 'secret' must be a token: ${show(secret)}`);
  }
  return { node, session, secret };
}

/**
 * Encodes a batch (`[iterationsPerUnit, id, units, …]`, made by `taskBatch`) as bytes.
 *
 * @param batch The batch.
 * @returns A view of its bytes (no copy).
 */
export function encodeBatch(batch: Float64Array): Uint8Array {
  return new Uint8Array(batch.buffer, batch.byteOffset, batch.byteLength);
}

/**
 * Decodes and checks a batch: whole numbers where the pool sends them, every
 * bound above respected.
 *
 * @param bytes The message's data.
 * @returns The batch, ready for a Worker.
 * @throws {MalformedMessageError} When it is not a batch.
 *
 * @example
 * ```ts
 * import { decodeBatch, encodeBatch } from "./fleet_wire.ts";
 * import assert from "node:assert/strict";
 *
 * const batch = new Float64Array([1000, 7, 2]);
 * assert.deepEqual(decodeBatch(encodeBatch(batch)), batch);
 * assert.throws(() => decodeBatch(new TextEncoder().encode("5 10")));
 * ```
 */
export function decodeBatch(bytes: Uint8Array): Float64Array<ArrayBuffer> {
  const numbers = float64s(bytes, "batch");
  const count = (numbers.length - BATCH_HEADER) / TASK_STRIDE;
  if (!Number.isInteger(count) || count < 1 || count > MAX_TASKS_PER_BATCH) {
    throw new MalformedMessageError(
      `batch: expected 1 + 2 × (1 to ${MAX_TASKS_PER_BATCH}) numbers, got ${numbers.length}`,
    );
  }
  if (!isWhole(numbers[0], 0, MAX_ITERATIONS_PER_UNIT)) {
    throw new MalformedMessageError(`batch: bad iterationsPerUnit ${numbers[0]}`);
  }
  for (let i = 0; i < count; i++) {
    const id = numbers[BATCH_HEADER + i * TASK_STRIDE];
    const units = numbers[BATCH_HEADER + i * TASK_STRIDE + 1];
    if (!isWhole(id, 1, Number.MAX_SAFE_INTEGER) || !isWhole(units, 0, MAX_UNITS_PER_TASK)) {
      throw new MalformedMessageError(`batch: task ${i} has id ${id} and units ${units}`);
    }
  }
  return numbers;
}

/**
 * Encodes a report (the Worker's layout `[id, units, startedAt, endedAt, …]`) as bytes.
 *
 * @param report The report.
 * @returns A view of its bytes (no copy).
 */
export function encodeReport(report: Float64Array): Uint8Array {
  return new Uint8Array(report.buffer, report.byteOffset, report.byteLength);
}

/**
 * Decodes and checks a report.
 *
 * @param bytes The reply's data.
 * @returns The report.
 * @throws {MalformedMessageError} When it is not a report.
 *
 * @example
 * ```ts
 * import { decodeReport, encodeReport } from "./fleet_wire.ts";
 * import assert from "node:assert/strict";
 *
 * const report = new Float64Array([7, 2, 1000, 1001]);
 * assert.deepEqual(decodeReport(encodeReport(report)), report);
 * assert.throws(() => decodeReport(new Uint8Array(8)));
 * ```
 */
export function decodeReport(bytes: Uint8Array): Float64Array<ArrayBuffer> {
  const numbers = float64s(bytes, "report");
  if (numbers.length === 0 || numbers.length % REPORT_STRIDE !== 0) {
    throw new MalformedMessageError(
      `report: expected a multiple of ${REPORT_STRIDE} numbers, got ${numbers.length}`,
    );
  }
  for (let at = 0; at < numbers.length; at += REPORT_STRIDE) {
    const id = numbers[at];
    const units = numbers[at + 1];
    const startedAt = numbers[at + 2];
    const endedAt = numbers[at + 3];
    if (
      !isWhole(id, 1, Number.MAX_SAFE_INTEGER) || !isWhole(units, 0, MAX_UNITS_PER_TASK) ||
      !Number.isFinite(startedAt) || !Number.isFinite(endedAt) || endedAt < startedAt
    ) {
      throw new MalformedMessageError(`report: entry ${at / REPORT_STRIDE} is not a task report`);
    }
  }
  return numbers;
}

function float64s(bytes: Uint8Array, what: string): Float64Array<ArrayBuffer> {
  if (bytes.byteLength % 8 !== 0) {
    throw new MalformedMessageError(
      `${what}: ${bytes.byteLength} bytes is not a whole number of 8-byte numbers`,
    );
  }
  // A copy: the message's buffer may be shared and unaligned.
  const numbers = new Float64Array(bytes.byteLength / 8);
  new Uint8Array(numbers.buffer).set(bytes);
  return numbers;
}

function parseJson(bytes: Uint8Array, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (error) {
    throw new MalformedMessageError(`${what}: not JSON text (${(error as Error).message})`);
  }
  if (typeof value !== "object" || value === null || (value as { v?: unknown }).v !== 2) {
    throw new MalformedMessageError(`${what}: expected an object with "v": 2`);
  }
  return value as Record<string, unknown>;
}

function onOwnSubject(node: unknown, subject: string | undefined, what: string): void {
  if (subject !== undefined && node !== subjectNode(subject)) {
    throw new MalformedMessageError(`${what}: from ${show(node)} on another node's subject`);
  }
}

function nodeNameOrNull(name: string): string | null {
  try {
    return nodeName(name);
  } catch {
    return null;
  }
}

function isWhole(value: number, min: number, max: number): boolean {
  return Number.isInteger(value) && value >= min && value <= max;
}

function show(value: unknown): string {
  return JSON.stringify(value)?.slice(0, 40) ?? String(value);
}
