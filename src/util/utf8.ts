/** Decoding bodies that came as bytes. */

/**
 * UTF-8 bytes as text, a byte-order mark skipped (as a `fetch` body's `text()` does).
 * @example utf8Text(new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d]))  // '{}'
 */
export function utf8Text(bytes: Uint8Array): string {
  const bom = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  return Buffer.from(bytes.buffer, bytes.byteOffset + bom, bytes.length - bom).toString('utf8');
}
