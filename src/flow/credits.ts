/**
 * Backpressure for RxJS: a source hands out an item only against a credit, and the sink gives the
 * credit back once the item's rows are written. In-flight items never exceed the window, whatever
 * the survey size (RxJS alone would drain the source into mergeMap's queue).
 *
 * `listImages` gives each image a ticket (a number, plain data that survives every spread of the
 * record along the pipe) for the credit it took; the sink operators, and `skipImages` for images a
 * pipeline drops, hand the ticket back with {@link giveBack}.
 */
import { Observable } from 'rxjs';

export class Credits {
  private waiting: Array<() => void> = [];
  private available: number;

  constructor(readonly limit: number) {
    if (!(limit >= 1)) throw new Error('A credit window needs at least one credit.');
    this.available = limit;
  }

  /** Credits taken and not given back: items in flight. */
  get inUse(): number {
    return this.limit - this.available;
  }

  /** Resolves when a credit is free, and takes it. */
  take(): Promise<void> {
    if (this.available > 0 && this.waiting.length === 0) {
      this.available--;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Gives back `n` credits (items written, or dropped). */
  give(n = 1): void {
    this.available += n;
    while (this.available > 0 && this.waiting.length > 0) {
      this.available--;
      this.waiting.shift()!();
    }
  }
}

/**
 * An Observable that pulls from `items` one at a time, each against a credit when `credits` is
 * given. Unsubscribing stops the pull and closes the iterator.
 */
export function pull<T>(items: AsyncIterable<T> | Iterable<T>, credits?: Credits): Observable<T> {
  return new Observable<T>((subscriber) => {
    let stopped = false;
    const iterator: AsyncIterator<T> | Iterator<T> =
      Symbol.asyncIterator in items ? items[Symbol.asyncIterator]() : items[Symbol.iterator]();
    void (async () => {
      try {
        for (;;) {
          if (credits) await credits.take();
          if (stopped) return;
          const next = await iterator.next();
          if (stopped) return;
          if (next.done) {
            credits?.give();
            subscriber.complete();
            return;
          }
          subscriber.next(next.value);
        }
      } catch (error) {
        subscriber.error(error);
      }
    })();
    return () => {
      stopped = true;
      void iterator.return?.();
    };
  });
}

/** Tickets handed out and not given back, and the window each came from. */
const outstanding = new Map<number, Credits>();
let lastTicket = 0;

/**
 * A ticket for a credit already taken from `credits`.
 * @example const ticket = ticketFor(credits)  // 17
 */
export function ticketFor(credits: Credits): number {
  outstanding.set(++lastTicket, credits);
  return lastTicket;
}

/**
 * Gives back the credit of a record's ticket; a ticket given back already (by an earlier sink of the
 * same pipe) or none at all is passed by.
 * @example outcomes$.pipe(tap((outcome) => giveBack(outcome)))
 */
export function giveBack(record: { ticket?: number }): void {
  if (record.ticket === undefined) return;
  const credits = outstanding.get(record.ticket);
  if (credits === undefined) return;
  outstanding.delete(record.ticket);
  credits.give();
}
