import { map, type OperatorFunction } from 'rxjs';
import type { ImageRef } from '../model.js';
import { FingerprintSet } from '../util/fingerprints.js';
import { failedBeforeSending, isFailed, type OrFailed } from './failures.js';

/**
 * A URL listed twice is annotated once: the later image becomes a failed image saying so, so that
 * its points are not counted twice in cover. Images without a URL (a local folder's files, which
 * have distinct paths) pass as they are. URLs are remembered as fingerprints (16 MB at a million).
 * @example listImages('urls.csv').pipe(dropDuplicates(), probe(), samplePoints({ method: 'stratified:5x6x1' }))
 */
export function dropDuplicates<T extends ImageRef>(): OperatorFunction<OrFailed<T>, OrFailed<T>> {
  const urls = new FingerprintSet();
  return map((image) => {
    if (isFailed(image) || image.url === undefined) return image;
    if (urls.add(image.url)) return image;
    return failedBeforeSending(image, `${image.url} is listed again: it is annotated once, under its first line.`);
  });
}
