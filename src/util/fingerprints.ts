/**
 * Strings remembered as 64-bit fingerprints (and, in a map, one 32-bit number each), in a table at
 * most half full: 16 MB for a million strings in a set, 24 MB in a map, where a million URLs or
 * names as strings take 100 MB and more.
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

/** Strings (or fingerprints) remembered as 8 bytes a slot. */
export class FingerprintSet {
  protected high = new Uint32Array(1024);
  /** 0 marks an empty slot: a fingerprint's low half is never 0. */
  protected low = new Uint32Array(1024);
  private count = 0;

  get size(): number {
    return this.count;
  }

  has(key: string | [number, number]): boolean {
    return this.low[this.find(key)[0]] !== 0;
  }

  /** Remembers `key`; true when it was new. */
  add(key: string | [number, number]): boolean {
    const [slot, high, low] = this.find(key);
    if (this.low[slot] !== 0) return false;
    this.place(slot, high, low);
    return true;
  }

  /** Where `key` is, or the empty slot where it would go. */
  protected find(key: string | [number, number]): [slot: number, high: number, low: number] {
    const [high, low] = typeof key === 'string' ? fingerprint(key) : key;
    const mask = this.low.length - 1;
    let i = (high ^ low) & mask;
    while (this.low[i] !== 0 && (this.high[i] !== high || this.low[i] !== low)) i = (i + 1) & mask;
    return [i, high, low];
  }

  protected place(slot: number, high: number, low: number): void {
    this.high[slot] = high;
    this.low[slot] = low;
    if (++this.count * 2 > this.low.length) this.grow();
  }

  /** Moves every fingerprint into a table twice the size; returns each old slot's new slot (-1: empty). */
  protected grow(): Int32Array {
    const { high, low } = this;
    const moved = new Int32Array(low.length).fill(-1);
    this.high = new Uint32Array(low.length * 2);
    this.low = new Uint32Array(low.length * 2);
    for (let i = 0; i < low.length; i++) {
      if (low[i] === 0) continue;
      const [to] = this.find([high[i]!, low[i]!]);
      this.high[to] = high[i]!;
      this.low[to] = low[i]!;
      moved[i] = to;
    }
    return moved;
  }
}

/** Strings (or fingerprints), each with one 32-bit number: 12 bytes a slot. */
export class FingerprintMap extends FingerprintSet {
  private values = new Uint32Array(1024);

  /** The number kept for `key`, or undefined. */
  get(key: string | [number, number]): number | undefined {
    const [slot] = this.find(key);
    return this.low[slot] === 0 ? undefined : this.values[slot];
  }

  /** Keeps `value` (0 to 2³²−1) for `key`, replacing what was kept. */
  set(key: string | [number, number], value: number): void {
    const [slot, high, low] = this.find(key);
    this.values[slot] = value;
    if (this.low[slot] === 0) this.place(slot, high, low);
  }

  /** Every kept number, in no order. */
  *numbers(): Generator<number> {
    for (let i = 0; i < this.low.length; i++) if (this.low[i] !== 0) yield this.values[i]!;
  }

  protected override grow(): Int32Array {
    const moved = super.grow();
    const values = new Uint32Array(this.low.length);
    moved.forEach((to, from) => {
      if (to >= 0) values[to] = this.values[from]!;
    });
    this.values = values;
    return moved;
  }
}
