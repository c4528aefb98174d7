/**
 * The floors' Worker: posts every message straight back; sent a `SharedArrayBuffer`,
 * it becomes an Atomics echo instead: it waits for `Int32Array[0]` to change, copies
 * the new value to `[1]` and notifies, with no message at all.
 */
/// <reference lib="deno.worker" />
self.onmessage = (event: MessageEvent) => {
  if (!(event.data instanceof SharedArrayBuffer)) return self.postMessage(event.data);
  const control = new Int32Array(event.data);
  self.postMessage("ready");
  for (let seen = 0;;) {
    Atomics.wait(control, 0, seen);
    seen = Atomics.load(control, 0);
    Atomics.store(control, 1, seen);
    Atomics.notify(control, 1);
  }
};
