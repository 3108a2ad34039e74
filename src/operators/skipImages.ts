import { filter, type MonoTypeOperatorFunction } from 'rxjs';
import { giveBack } from '../flow/credits.js';

/**
 * Drops the images for which `skip` says true, giving back their credits (a plain `filter` would
 * keep them, and the listing would stop once the window is full of dropped images).
 * @example listImages('urls.csv').pipe(probe(), skipImages((image) => !isFailed(image) && (image.dateTimeOriginal ?? '') < '2024:03:05 09:00:30'))
 */
export function skipImages<T extends { ticket?: number }>(skip: (image: T) => boolean): MonoTypeOperatorFunction<T> {
  return filter((image) => {
    if (!skip(image)) return true;
    giveBack(image);
    return false;
  });
}
