/**
 * Photo headers read on a thread of their own, so that reading 175,000 files does not take the
 * main thread's time from results and output. Paths asked for together go as one message.
 */
import { HelperThread } from '../util/helperThread.js';
import type { PhotoFields } from './photoFields.js';

/** Batches sent and not yet answered: one being read while the next waits. */
const BATCHES_IN_FLIGHT = 2;
/** Photos a message carries at most. */
const BATCH_SIZE = 64;

/** A batch of paths, and the answer: each one's fields, or `null` where the main thread must look. */
export type HeaderBatch = string[];
export type HeaderAnswers = Array<PhotoFields | null>;

type Answer = (fields: PhotoFields | undefined) => void;

export class HeaderReader {
  readonly thread = new HelperThread<HeaderBatch, HeaderAnswers>(new URL('./headerThread.js', import.meta.url));
  #waiting: Array<{ path: string; answer: Answer }> = [];
  #flushQueued = false;

  /**
   * The fields of the JPEG at `path`; `undefined` when it is not a JPEG, cannot be read, or the
   * thread is not available (yet) — the caller then reads the file itself.
   * @example await headerReader.fieldsOf('/surveys/site1/IMG_0001.JPG')  // { width: 4000, height: 3000, … }
   */
  fieldsOf(path: string): Promise<PhotoFields | undefined> {
    if (!this.thread.ready) {
      this.thread.start();
      return Promise.resolve(undefined);
    }
    return new Promise((answer) => {
      this.#waiting.push({ path, answer });
      if (!this.#flushQueued) {
        // Paths asked for in the same turn of the event loop go together.
        this.#flushQueued = true;
        setImmediate(() => {
          this.#flushQueued = false;
          this.#flush();
        });
      }
    });
  }

  #flush(): void {
    while (this.#waiting.length > 0 && this.thread.inFlight < BATCHES_IN_FLIGHT) {
      const taken = this.#waiting.splice(0, BATCH_SIZE);
      void this.thread.ask(taken.map((t) => t.path)).then((fields) => {
        taken.forEach((t, i) => t.answer(fields?.[i] ?? undefined));
        this.#flush();
      });
    }
  }
}

/** The process's one header reader; its thread starts with the first photo asked for. */
export const headerReader = new HeaderReader();
