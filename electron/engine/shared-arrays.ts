// Typed arrays on shared memory: the candidate indexes (lsh.ts, phash-index.ts) keep what their
// searches read in SharedArrayBuffers, so that worker threads (candidate-workers.ts) search them
// without a copy.

type TypedArrayOf<A> = { new (buffer: SharedArrayBuffer): A; readonly BYTES_PER_ELEMENT: number };

/** A zeroed typed array of `length` elements on shared memory. */
export function sharedArray<A>(Type: TypedArrayOf<A>, length: number): A {
  return new Type(new SharedArrayBuffer(length * Type.BYTES_PER_ELEMENT));
}
