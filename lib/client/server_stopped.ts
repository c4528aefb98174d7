/**
 * What a client at the prompt tells its user when the server ends the session
 * unasked: what the server said, and whether to reconnect.
 *
 * @module
 */
import { LineClient } from "./line_client.ts";

/**
 * What to tell a user at the prompt whose server closed the session unasked: what it
 * said, and whether to reconnect, from one look at whether it still serves (a new
 * connection that asks `STATS` and is answered).
 *
 * @param shown The server's address, as the user gave it.
 * @param said What it said as it closed (an `ERR` line), or `null` for nothing.
 * @param address Where to look.
 * @returns The message.
 */
export async function serverStopped(
  shown: string,
  said: string | null,
  address: { hostname: string; port: number },
): Promise<string> {
  const why = said === null ? "it closed the connection" : `it said: ${said}`;
  let serves = false;
  try {
    await using probe = await LineClient.connect(address);
    serves = (await probe.ask("STATS")).reply.kind === "stats";
  } catch { /* it does not answer: it is gone */ }
  return serves
    ? `The server at ${shown} ended this session (${why}), but it serves again: ` +
      "reconnect (deno task client) to go on."
    : `The server at ${shown} has stopped (${why}) and no longer answers: do not reconnect ` +
      "until it is started again (deno task server); this client ends now.";
}
