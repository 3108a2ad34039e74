/**
 * Photo headers read on a thread of their own, so that reading 175,000 files does not take the
 * main thread's time from results and output. Paths asked for together go as one message.
 */
import { Worker } from 'node:worker_threads';
import type { HeaderAnswers, HeaderBatch } from './headerThread.js';
import type { PhotoFields } from './photoFields.js';

/** Batches sent and not yet answered: one being read while the next waits. */
const BATCHES_IN_FLIGHT = 2;
/** Photos a message carries at most. */
const BATCH_SIZE = 64;

type Answer = (fields: PhotoFields | undefined) => void;

export class HeaderReader {
  #worker: Worker | undefined;
  #broken = false;
  /** The thread has loaded and said so; until then photos are read on the main thread, idle anyway. */
  #ready = false;
  #waiting: Array<{ path: string; answer: Answer }> = [];
  #inFlight = new Map<number, Answer[]>();
  #nextBatch = 0;
  #flushQueued = false;
  #settled: (ready: boolean) => void = () => undefined;
  readonly #whenReady = new Promise<boolean>((resolve) => (this.#settled = resolve));

  /**
   * The fields of the JPEG at `path`; `undefined` when it is not a JPEG, cannot be read, or the
   * thread is not available — the caller then reads the file itself.
   * @example await headerReader.fieldsOf('/surveys/site1/IMG_0001.JPG')  // { width: 4000, height: 3000, … }
   */
  fieldsOf(path: string): Promise<PhotoFields | undefined> {
    if (!this.#ready) this.start();
    if (this.#broken || !this.#ready) return Promise.resolve(undefined);
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

  /**
   * Starts the thread ahead of the first photo (it takes a moment to load), idle until asked.
   * @example headerReader.start()  // as a survey chain is built
   */
  start(): void {
    if (this.#broken) return;
    const worker = this.#started();
    if (this.#inFlight.size === 0) worker?.unref();
  }

  /**
   * Starts the thread; resolves `true` once it reads photos, `false` if it cannot run (photos are
   * then all read on the main thread).
   * @example if (await headerReader.whenReady()) console.log('headers read on their own thread')
   */
  whenReady(): Promise<boolean> {
    this.start();
    // Held open until it answers: a caller waiting on this alone must not see the process end first.
    if (!this.#ready) this.#worker?.ref();
    return this.#whenReady;
  }

  #flush(): void {
    while (this.#waiting.length > 0 && this.#inFlight.size < BATCHES_IN_FLIGHT && !this.#broken) {
      const worker = this.#started();
      if (worker === undefined) return;
      const taken = this.#waiting.splice(0, BATCH_SIZE);
      const batch = this.#nextBatch++;
      this.#inFlight.set(batch, taken.map((t) => t.answer));
      if (this.#inFlight.size === 1) worker.ref();
      worker.postMessage({ batch, paths: taken.map((t) => t.path) } satisfies HeaderBatch);
    }
  }

  #started(): Worker | undefined {
    if (this.#worker !== undefined) return this.#worker;
    try {
      const worker = new Worker(new URL('./headerThread.js', import.meta.url));
      worker.on('message', (message: HeaderAnswers | 'ready') => {
        if (message === 'ready') {
          this.#ready = true;
          if (this.#inFlight.size === 0) worker.unref();
          this.#settled(true);
          return;
        }
        const { batch, fields } = message;
        const answers = this.#inFlight.get(batch) ?? [];
        this.#inFlight.delete(batch);
        if (this.#inFlight.size === 0) worker.unref();
        answers.forEach((answer, i) => answer(fields[i] ?? undefined));
        this.#flush();
      });
      worker.on('error', () => this.#fail());
      worker.on('exit', () => this.#fail());
      this.#worker = worker;
      return worker;
    } catch {
      this.#fail();
      return undefined;
    }
  }

  /** Without the thread, every photo waiting or in flight is read on the main thread. */
  #fail(): void {
    this.#broken = true;
    this.#settled(false);
    this.#worker?.unref();
    const answers = [...[...this.#inFlight.values()].flat(), ...this.#waiting.map((w) => w.answer)];
    this.#inFlight.clear();
    this.#waiting = [];
    for (const answer of answers) answer(undefined);
  }
}

/** The process's one header reader; its thread starts with the first photo asked for. */
export const headerReader = new HeaderReader();
