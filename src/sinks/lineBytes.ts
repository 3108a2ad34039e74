/**
 * Output lines written as bytes into large slabs, handed to a file a piece at a time without a
 * string per field or per line: a survey writes tens of millions of CSV rows, and building them as
 * strings made eight times their size in garbage.
 */
import { csvField } from './csv.js';

const SLAB = 256 * 1024;
const COMMA = 0x2c;
const NEWLINE = 0x0a;
/** Fields kept encoded at most (label codes): a labelset has fewer. */
const MAX_CACHED = 4096;

/**
 * Lines built field by field as bytes, taken a piece at a time for a file.
 * @example
 * const out = new LineBytes();
 * out.text('IMG_0001.JPG').count(118).count(554).field('CCA').newline();
 * await csv.writeBytes(out.take()); // IMG_0001.JPG,118,554,CCA\n
 */
export class LineBytes {
  private slab: Buffer;
  /** Where the next byte goes, and where the bytes not yet taken start. */
  private end = 0;
  private start = 0;
  private readonly fields = new Map<string, Buffer>();

  /** `slabBytes`: the size of each slab (a line longer than that gets a larger one). */
  constructor(private readonly slabBytes = SLAB) {
    this.slab = Buffer.allocUnsafeSlow(slabBytes);
  }

  /** Room for `bytes` more: a full slab is left to the pieces already taken from it. */
  private room(bytes: number): void {
    if (this.end + bytes <= this.slab.length) return;
    const pending = this.slab.subarray(this.start, this.end);
    this.slab = Buffer.allocUnsafeSlow(Math.max(this.slabBytes, (pending.length + bytes) * 2));
    pending.copy(this.slab);
    this.end = pending.length;
    this.start = 0;
  }

  /** Text as it is, UTF-8. */
  text(value: string): this {
    this.room(value.length * 3);
    this.end += this.slab.write(value, this.end);
    return this;
  }

  /** A comma, then `value` as a CSV field (quoted when it must be); kept encoded for the next line. */
  field(value: string): this {
    let bytes = this.fields.get(value);
    if (bytes === undefined) {
      if (this.fields.size >= MAX_CACHED) this.fields.clear();
      bytes = Buffer.from(csvField(value));
      this.fields.set(value, bytes);
    }
    this.room(bytes.length + 1);
    const slab = this.slab;
    let end = this.end;
    slab[end++] = COMMA;
    // Label codes are a few bytes: a loop costs less than a native copy's call.
    for (let i = 0; i < bytes.length; i++) slab[end++] = bytes[i]!;
    this.end = end;
    return this;
  }

  /** A comma, then a number: whole ones ≥ 0 written digit by digit, others as JavaScript writes them. */
  count(value: number): this {
    if (!(Number.isSafeInteger(value) && value >= 0)) return this.text(`,${value}`);
    let digits = 1;
    for (let rest = value; rest >= 10; rest = Math.floor(rest / 10)) digits++;
    this.room(digits + 1);
    const slab = this.slab;
    slab[this.end] = COMMA;
    this.end += digits + 1;
    let at = this.end;
    let rest = value;
    do {
      slab[--at] = 0x30 + (rest % 10);
      rest = Math.floor(rest / 10);
    } while (rest > 0);
    return this;
  }

  /** A comma, or several: empty fields. */
  commas(count: number): this {
    this.room(count);
    this.slab.fill(COMMA, this.end, this.end + count);
    this.end += count;
    return this;
  }

  newline(): this {
    this.room(1);
    this.slab[this.end++] = NEWLINE;
    return this;
  }

  /** Bytes already encoded (the first fields of an image's lines, say). */
  bytes(piece: Uint8Array): this {
    this.room(piece.length);
    this.slab.set(piece, this.end);
    this.end += piece.length;
    return this;
  }

  /** The bytes written since the last take, as one piece that stays valid (the slab is never reused). */
  take(): Buffer {
    const piece = this.slab.subarray(this.start, this.end);
    this.start = this.end;
    return piece;
  }
}
