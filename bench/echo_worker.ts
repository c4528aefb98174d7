/** The floor's Worker: posts every message straight back. */
/// <reference lib="deno.worker" />
self.onmessage = (event: MessageEvent) => self.postMessage(event.data);
