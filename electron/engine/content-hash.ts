// Content identity of a file: 128-bit xxHash3 of its bytes (fast, native). Equal hashes mean
// byte-identical files for our purposes (exact duplicates, moved-file detection).
import { xxh3 } from '@node-rs/xxhash';

export function contentHash(bytes: Uint8Array): string {
  return xxh3.xxh128(bytes).toString(16).padStart(32, '0');
}
