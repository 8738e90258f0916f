// Content identity of a file: 128-bit xxHash3 of its bytes (fast, native). Equal hashes mean
// byte-identical files for our purposes (exact duplicates, moved-file detection).
import { xxh3 } from '@node-rs/xxhash';

export function contentHash(bytes: Uint8Array): string {
  return xxh3.xxh128(bytes).toString(16).padStart(32, '0');
}

/** A checksum of bytes: xxHash3-64 as 16 hex digits (vector rows in the catalog, journal lines). */
export function checksum64(bytes: Uint8Array): string {
  return xxh3.xxh64(bytes).toString(16).padStart(16, '0');
}
