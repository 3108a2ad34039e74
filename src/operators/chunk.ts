import { Observable, type OperatorFunction } from 'rxjs';
import { MAX_POINTS_PER_IMAGE } from '../coralnet/deployRequest.js';
import type { PlannedImage } from '../model.js';
import { isFailed, type OrFailed } from './failures.js';

/** Request entries an image needs: CoralNet takes at most 200 points per entry. */
export const entriesOf = (image: PlannedImage): number => Math.ceil(image.points.length / MAX_POINTS_PER_IMAGE);

/**
 * Groups images into deploy requests of at most `size` entries (100: CoralNet's limit). A partial
 * chunk is sent after `flushMs` without a new image, so a slow source never holds images back.
 * Failed images pass straight through.
 * @example planned$.pipe(chunk(100))
 */
export function chunk(size = 100, flushMs = 2000): OperatorFunction<OrFailed<PlannedImage>, OrFailed<PlannedImage[]>> {
  return (source) =>
    new Observable((subscriber) => {
      let buffer: PlannedImage[] = [];
      let entries = 0;
      let timer: NodeJS.Timeout | undefined;
      const flush = (): void => {
        clearTimeout(timer);
        timer = undefined;
        if (buffer.length === 0) return;
        const out = buffer;
        buffer = [];
        entries = 0;
        subscriber.next(out);
      };
      const subscription = source.subscribe({
        next: (item) => {
          if (isFailed(item)) return subscriber.next(item);
          const needs = entriesOf(item);
          if (entries + needs > size) flush();
          buffer.push(item);
          entries += needs;
          if (entries >= size) flush();
          else {
            clearTimeout(timer);
            timer = setTimeout(flush, flushMs);
          }
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => {
          flush();
          subscriber.complete();
        },
      });
      return () => {
        clearTimeout(timer);
        subscription.unsubscribe();
      };
    });
}
