import {
  DASHBOARD_MAX_PAGES,
  DASHBOARD_STREAM_MAX_QUEUED_BYTES,
  DASHBOARD_STREAM_STALL_MS,
} from "../lib/defaults/defaults.ts";
import assert from "node:assert/strict";
import { PageStreams, SlowPageError } from "../lib/observe/dashboard/page_streams.ts";

const bytes = (n: number, fill = 0x61) => new Uint8Array(n).fill(fill);

Deno.test("PageStreams drops a page that leaves more than maxQueuedBytes unread", async () => {
  const pages = new PageStreams({ maxQueuedBytes: 100, stallMs: 1_000_000 });
  const stream = pages.open(bytes(10), 0)!;
  const reader = stream.getReader();
  pages.send(bytes(60), 1); // 70 bytes wait: kept
  assert.deepEqual([pages.size, pages.dropped], [1, 0]);
  pages.send(bytes(60), 2); // 130: dropped
  assert.deepEqual([pages.size, pages.dropped], [0, 1]);
  await assert.rejects(reader.read(), (error: Error) => {
    assert.ok(error instanceof SlowPageError);
    assert.match(error.message, /left more than 100 bytes unread/);
    return true;
  });
  pages.send(bytes(60), 3); // nothing is queued for a page that was dropped
  assert.equal(pages.size, 0);
});

Deno.test("PageStreams drops a page that leaves a message unread for stallMs", async () => {
  const pages = new PageStreams({ maxQueuedBytes: 1_000_000, stallMs: 10_000 });
  const reader = pages.open(bytes(1), 0)!.getReader();
  pages.send(bytes(1), 9_999); // the first message waited 9 999 ms: kept
  assert.equal(pages.size, 1);
  pages.send(bytes(1), 10_000);
  assert.deepEqual([pages.size, pages.dropped], [0, 1]);
  await assert.rejects(reader.read(), /left a message unread for 10000 ms/);
});

Deno.test("PageStreams never drops a page that reads, however long it stays", async () => {
  const pages = new PageStreams({ maxQueuedBytes: 300, stallMs: 1_000 });
  const reader = pages.open(bytes(100, 0), 0)!.getReader();
  assert.deepEqual((await reader.read()).value, bytes(100, 0));
  for (let i = 1; i <= 2_000; i++) {
    // Ten minutes of updates, each 250 ms after the last and larger than a third of the bound.
    pages.send(bytes(101, i % 256), i * 250);
    assert.deepEqual((await reader.read()).value, bytes(101, i % 256), `message ${i}`);
  }
  assert.deepEqual([pages.size, pages.dropped], [1, 0]);
  // A page that falls behind by two messages, then catches up, is not dropped either.
  pages.send(bytes(101, 1), 600_000);
  pages.send(bytes(101, 2), 600_250);
  assert.deepEqual((await reader.read()).value, bytes(101, 1));
  assert.deepEqual((await reader.read()).value, bytes(101, 2));
  pages.send(bytes(101, 3), 600_500);
  assert.deepEqual([pages.size, pages.dropped], [1, 0]);
  await reader.cancel();
  assert.equal(pages.size, 0, "a page that goes frees its place");
});

Deno.test("PageStreams opens at most maxPages, and a closed one frees its place", async () => {
  const pages = new PageStreams({ maxPages: 2 });
  const a = pages.open(bytes(1), 0)!;
  const b = pages.open(bytes(1), 0)!;
  assert.equal(pages.open(bytes(1), 0), undefined);
  await a.cancel();
  const c = pages.open(bytes(1), 0);
  assert.ok(c);
  pages.close();
  assert.equal(pages.size, 0);
  for (const stream of [b, c]) {
    const reader = stream.getReader();
    assert.deepEqual((await reader.read()).value, bytes(1)); // what was queued
    assert.equal((await reader.read()).done, true); // then the end
  }
});

Deno.test("PageStreams has named defaults and rejects bounds that are not positive integers", () => {
  const pages = new PageStreams();
  assert.equal(pages.maxPages, DASHBOARD_MAX_PAGES);
  assert.ok(DASHBOARD_STREAM_MAX_QUEUED_BYTES > 0 && DASHBOARD_STREAM_STALL_MS > 0);
  for (const name of ["maxPages", "maxQueuedBytes", "stallMs"]) {
    for (const bad of [0, -1, 1.5, NaN, Infinity]) {
      assert.throws(() => new PageStreams({ [name]: bad }), RangeError, `${name}: ${bad}`);
    }
  }
});
