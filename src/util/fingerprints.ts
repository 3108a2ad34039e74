/**
 * Strings remembered as 64-bit fingerprints, each with one 32-bit number, in a table at most half
 * full: 24 MB for a million strings, where a million URLs or names as strings take 100 MB and more.
 * Two different strings share a fingerprint with a chance of about 3 in 100 million at a million.
 */
import { createHash } from 'node:crypto';

/** The 64-bit fingerprint of a string as two 32-bit halves (the low one never 0). */
export function fingerprint(text: string): [high: number, low: number] {
  const digest = createHash('sha1').update(text).digest();
  return [digest.readUInt32LE(0), (digest.readUInt32LE(4) | 1) >>> 0];
}

/** The fingerprint as 16 hex digits, for files. */
export function fingerprintHex(text: string): string {
  const [high, low] = fingerprint(text);
  return high.toString(16).padStart(8, '0') + low.toString(16).padStart(8, '0');
}

/** Fingerprints read back from `fingerprintHex`. */
export function fromHex(hex: string): [high: number, low: number] {
  return [parseInt(hex.slice(0, 8), 16) >>> 0, parseInt(hex.slice(8, 16), 16) >>> 0];
}

export class FingerprintMap {
  private high = new Uint32Array(1024);
  /** 0 marks an empty slot: a fingerprint's low half is never 0. */
  private low = new Uint32Array(1024);
  private values = new Uint32Array(1024);
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** The number kept for `key` (a string, or a fingerprint), or undefined. */
  get(key: string | [number, number]): number | undefined {
    const [high, low] = typeof key === 'string' ? fingerprint(key) : key;
    const slot = this.slot(high, low);
    return this.low[slot] === 0 ? undefined : this.values[slot];
  }

  /** Keeps `value` (0 to 2³²−1) for `key`, replacing what was kept. */
  set(key: string | [number, number], value: number): void {
    const [high, low] = typeof key === 'string' ? fingerprint(key) : key;
    const slot = this.slot(high, low);
    this.values[slot] = value;
    if (this.low[slot] !== 0) return;
    this.high[slot] = high;
    this.low[slot] = low;
    if (++this.count * 2 > this.low.length) this.grow();
  }

  /** Every kept number, in no order. */
  *numbers(): Generator<number> {
    for (let i = 0; i < this.low.length; i++) if (this.low[i] !== 0) yield this.values[i]!;
  }

  private slot(high: number, low: number): number {
    const mask = this.low.length - 1;
    let i = (high ^ low) & mask;
    while (this.low[i] !== 0 && (this.high[i] !== high || this.low[i] !== low)) i = (i + 1) & mask;
    return i;
  }

  private grow(): void {
    const { high, low, values } = this;
    this.high = new Uint32Array(low.length * 2);
    this.low = new Uint32Array(low.length * 2);
    this.values = new Uint32Array(low.length * 2);
    for (let i = 0; i < low.length; i++) {
      if (low[i] === 0) continue;
      const to = this.slot(high[i]!, low[i]!);
      this.high[to] = high[i]!;
      this.low[to] = low[i]!;
      this.values[to] = values[i]!;
    }
  }
}
