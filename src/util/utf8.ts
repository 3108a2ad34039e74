/** Decoding bodies that came as bytes. */
import { isAscii } from 'node:buffer';

/**
 * UTF-8 bytes as text, a byte-order mark skipped (as a `fetch` body's `text()` does). ASCII, what
 * CoralNet's bodies are in practice, is copied as it is: a fifth of the time of decoding it.
 * @example utf8Text(new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d]))  // '{}'
 */
export function utf8Text(bytes: Uint8Array): string {
  const bom = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  const text = Buffer.from(bytes.buffer, bytes.byteOffset + bom, bytes.length - bom);
  return isAscii(text) ? text.toString('latin1') : text.toString('utf8');
}
