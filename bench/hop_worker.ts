/**
 * The hop floor's Worker: it waits on a ring of requests in shared memory, answers each
 * (`start + increments`) in the ring's reply column, and notifies. Nothing else: the least a
 * Worker round trip per request can cost.
 */
/// <reference lib="deno.worker" />
import { HOP_DONE, HOP_SENT, hopRing } from "./hop_ring.ts";

self.onmessage = (event: MessageEvent<SharedArrayBuffer>) => {
  const ring = hopRing(event.data);
  self.postMessage("ready");
  for (let done = 0;;) {
    Atomics.wait(ring.control, HOP_SENT, done);
    const sent = Atomics.load(ring.control, HOP_SENT);
    for (; done < sent; done++) {
      const slot = done % ring.capacity;
      ring.replies[slot] = ring.starts[slot] + ring.increments[slot];
    }
    Atomics.store(ring.control, HOP_DONE, done);
    Atomics.notify(ring.control, HOP_DONE);
  }
};
