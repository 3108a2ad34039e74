import { createHash } from 'node:crypto';
import { map, type OperatorFunction } from 'rxjs';
import type { ImageRef } from '../model.js';
import { failedBeforeSending, isFailed, type OrFailed } from './failures.js';

/**
 * The URLs seen so far, as 64-bit fingerprints in a table at most half full: 16 MB for a million
 * images (a URL list of a million lines is 80 MB and more as strings). Two different URLs share a
 * fingerprint with a chance of about 5 in 100 million at a million images.
 */
class SeenUrls {
  private high = new Uint32Array(1024);
  /** The low half of each fingerprint, with bit 0 set so that 0 marks an empty slot. */
  private low = new Uint32Array(1024);
  private size = 0;

  /** Whether the URL was seen before (it is remembered if not). */
  seen(url: string): boolean {
    const digest = createHash('sha1').update(url).digest();
    const high = digest.readUInt32LE(0);
    const low = (digest.readUInt32LE(4) | 1) >>> 0;
    const slot = this.slot(high, low);
    if (this.low[slot] !== 0) return true;
    this.high[slot] = high;
    this.low[slot] = low;
    if (++this.size * 2 > this.low.length) this.grow();
    return false;
  }

  private slot(high: number, low: number): number {
    const mask = this.low.length - 1;
    let i = (high ^ low) & mask;
    while (this.low[i] !== 0 && (this.high[i] !== high || this.low[i] !== low)) i = (i + 1) & mask;
    return i;
  }

  private grow(): void {
    const { high, low } = this;
    this.high = new Uint32Array(low.length * 2);
    this.low = new Uint32Array(low.length * 2);
    for (let i = 0; i < low.length; i++) {
      if (low[i] === 0) continue;
      const to = this.slot(high[i]!, low[i]!);
      this.high[to] = high[i]!;
      this.low[to] = low[i]!;
    }
  }
}

/**
 * A URL listed twice is annotated once: the later image becomes a failed image saying so, so that
 * its points are not counted twice in cover. Images without a URL (a local folder's files, which
 * have distinct paths) pass as they are.
 * @example listImages('urls.csv').pipe(dropDuplicates(), probe(), samplePoints({ method: 'stratified:5x6x1' }))
 */
export function dropDuplicates<T extends ImageRef>(): OperatorFunction<OrFailed<T>, OrFailed<T>> {
  const urls = new SeenUrls();
  return map((image) => {
    if (isFailed(image) || image.url === undefined || !urls.seen(image.url)) return image;
    return failedBeforeSending(image, `${image.url} is listed again: it is annotated once, under its first line.`);
  });
}
