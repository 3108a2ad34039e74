import { Observable, type OperatorFunction } from 'rxjs';

/**
 * Puts outcomes back in stream order (by `seq`, from `first`), so that rows come in the source's
 * order. Items wait here at most as long as an earlier one is in flight; the credit window bounds
 * how many.
 * @example merge(recovered$, annotated$).pipe(inSourceOrder(), concatMap(write))
 */
export function inSourceOrder<T extends { seq?: number }>(first = 0): OperatorFunction<T, T> {
  return (source) =>
    new Observable<T>((subscriber) => {
      const waiting = new Map<number, T>();
      let next = first;
      return source.subscribe({
        next: (item) => {
          // An error thrown here would escape the stream: it is the stream's error instead.
          if (item.seq === undefined) return subscriber.error(new Error(`${(item as { name?: string }).name ?? 'an image'} reached the writer without a place in the stream (seq)`));
          waiting.set(item.seq, item);
          while (waiting.has(next)) {
            const ready = waiting.get(next)!;
            waiting.delete(next++);
            subscriber.next(ready);
          }
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => {
          for (const seq of [...waiting.keys()].sort((a, b) => a - b)) subscriber.next(waiting.get(seq)!);
          subscriber.complete();
        },
      });
    });
}
