import { Observable, type OperatorFunction } from 'rxjs';

/**
 * Puts outcomes back in source order (by `seq`, from `first`): what is written is always a prefix
 * of the survey, so a resume only needs the count. Items wait here at most as long as an earlier
 * one is in flight; the credit window bounds how many.
 */
export function inSourceOrder<T extends { seq?: number }>(first = 0): OperatorFunction<T, T> {
  return (source) =>
    new Observable<T>((subscriber) => {
      const waiting = new Map<number, T>();
      let next = first;
      return source.subscribe({
        next: (item) => {
          if (item.seq === undefined) throw new Error('an outcome without a source position');
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
