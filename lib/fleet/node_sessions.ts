/**
 * Which announcements and goodbyes a server believes, as pure rules: a node's run
 * (its session) is fixed by its first hello, and a goodbye must reveal the secret
 * whose key that hello announced.
 *
 * @module
 */
import { byeKey, type NodeBye, type NodeHello } from "./fleet_wire.ts";

/** What a server keeps of a node's run from its first hello. */
export interface NodeSession {
  /** The run's id. */
  session: string;
  /** The key of its goodbye's secret. */
  byeKey: string;
  /** Its Workers. */
  workers: number;
}

/**
 * What a hello for a known node is: its `heartbeat`, a hello of its run that its first one
 * `belied` (another size or key: not from the node), or `another-run` under its name (the
 * node restarted, a second node of that name, or a stranger).
 *
 * @param known The run the server knows.
 * @param hello The hello heard for the same name.
 * @returns The verdict.
 *
 * @example
 * ```ts
 * import { judgeHello } from "./node_sessions.ts";
 * import assert from "node:assert/strict";
 *
 * const known = { session: "s1", byeKey: "k", workers: 2 };
 * const hello = { node: "a", busy: 0, ...known };
 * assert.equal(judgeHello(known, hello), "heartbeat");
 * assert.equal(judgeHello(known, { ...hello, workers: 8 }), "belied");
 * assert.equal(judgeHello(known, { ...hello, session: "s2" }), "another-run");
 * ```
 */
export function judgeHello(
  known: NodeSession,
  hello: NodeHello,
): "heartbeat" | "belied" | "another-run" {
  if (known.session !== hello.session) return "another-run";
  return known.byeKey === hello.byeKey && known.workers === hello.workers ? "heartbeat" : "belied";
}

/**
 * Whether a goodbye comes from the run the server knows: same session, and the secret whose
 * key the run announced.
 *
 * @param known The run the server knows.
 * @param bye The goodbye.
 * @returns Whether to believe it.
 */
export function isOwnBye(known: NodeSession, bye: NodeBye): boolean {
  return known.session === bye.session && known.byeKey === byeKey(bye.secret);
}
