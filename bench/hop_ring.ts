/**
 * The hop floor's ring in shared memory: the line server writes requests and bumps `SENT`;
 * its Worker answers them in order and bumps `DONE`. A counter only grows; slot `n % capacity`
 * holds request `n`.
 */

/** The control word the server bumps when it has written requests. */
export const HOP_SENT = 0;
/** The control word the Worker bumps when it has answered requests. */
export const HOP_DONE = 1;

/** The ring's views of one buffer. */
export interface HopRing {
  capacity: number;
  control: Int32Array;
  starts: Float64Array;
  increments: Float64Array;
  replies: Float64Array;
}

/** A buffer for a ring of `capacity` requests. */
export function hopBuffer(capacity: number): SharedArrayBuffer {
  return new SharedArrayBuffer(8 + 8 + capacity * 8 * 3);
}

/** The ring's views of `buffer`. */
export function hopRing(buffer: SharedArrayBuffer): HopRing {
  const capacity = (buffer.byteLength - 16) / 24;
  return {
    capacity,
    control: new Int32Array(buffer, 0, 2),
    starts: new Float64Array(buffer, 16, capacity),
    increments: new Float64Array(buffer, 16 + capacity * 8, capacity),
    replies: new Float64Array(buffer, 16 + capacity * 16, capacity),
  };
}
