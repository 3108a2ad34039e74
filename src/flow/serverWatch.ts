/** What the server did during a run, counted from the client's events, and the wait it is in now. */
import type { ClientEvent } from '../coralnet/client.js';
import type { ServerTally } from './journal.js';

/**
 * Counts 429s, retries, 5xx answers and seconds waited, and says what the run waits for now (for
 * the progress line); every event is passed on to `forward`.
 * @example const watch = new ServerWatch(); CoralNetClient.connect({ onEvent: (e) => watch.onEvent(e) })
 */
export class ServerWatch {
  readonly tally: ServerTally = { throttled: 0, retries: 0, serverErrors: 0, waitSeconds: 0 };
  /** What the run waits for now, and until when. */
  waiting?: { what: string; until: number };

  constructor(private readonly forward?: (event: ClientEvent) => void) {}

  onEvent(event: ClientEvent): void {
    const now = Date.now();
    if (event.type === 'throttled') {
      this.tally.throttled++;
      this.tally.waitSeconds += event.retryAfterSeconds;
      this.waiting = { what: `throttled by the server (429), waiting ${event.retryAfterSeconds} s`, until: now + event.retryAfterSeconds * 1000 };
    } else if (event.type === 'retry') {
      this.tally.retries++;
      if (event.status !== undefined) this.tally.serverErrors++;
      this.tally.waitSeconds += event.delayMs / 1000;
      const what = event.status !== undefined ? `server error ${event.status}` : 'no answer from the server';
      this.waiting = { what: `${what}, trying again in ${Math.ceil(event.delayMs / 1000)} s`, until: now + event.delayMs };
    } else if (event.type === 'job-limit-full') {
      this.waiting = { what: `the account's job limit is full (jobs ${event.activeJobIds.join(', ')}), waiting for a slot`, until: now + 10_000 };
    }
    this.forward?.(event);
  }

  /** The wait to show now, if any. */
  now(): string | undefined {
    return this.waiting !== undefined && Date.now() < this.waiting.until ? this.waiting.what : undefined;
  }
}
