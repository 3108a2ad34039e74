import { createHash } from 'node:crypto';
import { map, type OperatorFunction } from 'rxjs';
import type { ImageRef } from '../model.js';
import { failedBeforeSending, isFailed, type OrFailed } from './failures.js';

/**
 * The images seen so far, as 64-bit fingerprints of their URLs with the position of the first:
 * 12 bytes a slot at most half full, so about 24 MB for a million images (a URL list of a million
 * lines is 80 MB and more as strings). Two different URLs share a fingerprint with a chance of
 * about 3 in 100 million at a million images.
 */
class SeenUrls {
  private high = new Uint32Array(1024);
  private low = new Uint32Array(1024);
  /** Position + 1 of the first image with the fingerprint; 0 is an empty slot. */
  private first = new Uint32Array(1024);
  private size = 0;

  /** The position of an earlier image with this URL, or undefined (and the URL is remembered). */
  firstOf(url: string, seq: number): number | undefined {
    const digest = createHash('sha1').update(url).digest();
    const high = digest.readUInt32LE(0);
    const low = digest.readUInt32LE(4);
    const found = this.slot(high, low);
    if (this.first[found] !== 0) return this.first[found]! - 1;
    this.high[found] = high;
    this.low[found] = low;
    this.first[found] = seq + 1;
    if (++this.size * 2 > this.first.length) this.grow();
    return undefined;
  }

  private slot(high: number, low: number): number {
    const mask = this.first.length - 1;
    let i = low & mask;
    while (this.first[i] !== 0 && (this.high[i] !== high || this.low[i] !== low)) i = (i + 1) & mask;
    return i;
  }

  private grow(): void {
    const { high, low, first } = this;
    this.high = new Uint32Array(first.length * 2);
    this.low = new Uint32Array(first.length * 2);
    this.first = new Uint32Array(first.length * 2);
    for (let i = 0; i < first.length; i++) {
      if (first[i] === 0) continue;
      const to = this.slot(high[i]!, low[i]!);
      this.high[to] = high[i]!;
      this.low[to] = low[i]!;
      this.first[to] = first[i]!;
    }
  }
}

/**
 * A URL listed twice is annotated once: the later image becomes a failed image naming the first
 * (by its position in the source, counting from 1), so points are not counted twice in cover.
 * Images without a URL (a local folder's files, which have distinct paths) pass as they are.
 * @example listImages('urls.csv').pipe(map((image, seq) => ({ ...image, seq })), dropDuplicates())
 */
export function dropDuplicates<T extends ImageRef>(): OperatorFunction<OrFailed<T>, OrFailed<T>> {
  const seen = new SeenUrls();
  return map((image, index) => {
    if (isFailed(image) || image.url === undefined) return image;
    const seq = image.seq ?? index;
    const earlier = seen.firstOf(image.url, seq);
    if (earlier === undefined) return image;
    return failedBeforeSending(image, `${image.url} is listed again: the same URL as image ${earlier + 1} of the source, annotated there once.`);
  });
}
