/**
 * A worker thread that takes work off the main thread, started on first use. It never holds the
 * process open while idle, and it is a help, not a dependency: until it has loaded, and for good if
 * it cannot run, `ask` answers `undefined` and the caller does the work itself.
 */
import { parentPort, Worker, type WorkerOptions } from 'node:worker_threads';

interface Request<Q> {
  id: number;
  request: Q;
}
interface Answer<A> {
  id: number;
  answer: A;
}

export class HelperThread<Q, A> {
  #worker: Worker | undefined;
  #broken = false;
  #ready = false;
  #pending = new Map<number, (answer: A | undefined) => void>();
  #nextId = 0;
  #settled: (ready: boolean) => void = () => undefined;
  readonly #whenReady = new Promise<boolean>((resolve) => (this.#settled = resolve));

  /**
   * @param script the thread's module, which calls {@link answerRequests}.
   * @param options for the worker (its heap's limits, say).
   */
  constructor(
    private readonly script: URL,
    private readonly options: WorkerOptions = {},
  ) {}

  /** Loaded and answering. */
  get ready(): boolean {
    return this.#ready && !this.#broken;
  }

  /** Requests sent and not yet answered. */
  get inFlight(): number {
    return this.#pending.size;
  }

  /**
   * Starts the thread ahead of the first request (it takes a moment to load), idle until asked.
   * @example headerReader.thread.start()  // before the first photo is asked for
   */
  start(): void {
    if (this.#broken) return;
    const worker = this.#started();
    if (this.#pending.size === 0) worker?.unref();
  }

  /**
   * Starts the thread; resolves `true` once it answers, `false` if it cannot run.
   * @example if (await thread.whenReady()) console.log('work done off the main thread')
   */
  whenReady(): Promise<boolean> {
    this.start();
    // Held open until it answers: a caller waiting on this alone must not see the process end first.
    if (!this.#ready) this.#worker?.ref();
    return this.#whenReady;
  }

  /**
   * The thread's answer to `request`; `undefined`, at once, while it is loading or if it cannot
   * run, and for requests in flight when it stops. `moved`: buffers of the request handed to the
   * thread rather than copied (unusable here once sent; check {@link ready} first).
   * @example (await thread.ask(paths)) ?? readHere(paths)
   */
  ask(request: Q, moved?: ArrayBuffer[]): Promise<A | undefined> {
    if (!this.#ready) this.start();
    const worker = this.#worker;
    if (this.#broken || !this.#ready || worker === undefined) return Promise.resolve(undefined);
    const id = this.#nextId++;
    if (this.#pending.size === 0) worker.ref();
    return new Promise((resolve) => {
      this.#pending.set(id, resolve);
      worker.postMessage({ id, request } satisfies Request<Q>, moved);
    });
  }

  #started(): Worker | undefined {
    if (this.#worker !== undefined || this.#broken) return this.#worker;
    try {
      const worker = new Worker(this.script, this.options);
      worker.on('message', (message: Answer<A> | 'ready') => {
        if (message === 'ready') {
          this.#ready = true;
          if (this.#pending.size === 0) worker.unref();
          this.#settled(true);
          return;
        }
        const resolve = this.#pending.get(message.id);
        this.#pending.delete(message.id);
        if (this.#pending.size === 0) worker.unref();
        resolve?.(message.answer);
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

  /** Without the thread, whatever was in flight is done by the callers. */
  #fail(): void {
    this.#broken = true;
    this.#settled(false);
    this.#worker?.unref();
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const resolve of pending) resolve(undefined);
  }
}

/**
 * The thread's side: answers each request with `handle`'s result, in the order they came, and says
 * it is ready. A `handle` that throws ends the thread (an unhandled rejection), and the callers then
 * do the work themselves. `moved` names buffers of an answer to hand over rather than copy (they
 * are unusable here afterwards).
 * @example answerRequests(async (paths: string[]) => Promise.all(paths.map(read)))
 */
export function answerRequests<Q, A>(handle: (request: Q) => Promise<A> | A, moved?: (answer: A) => ArrayBuffer[]): void {
  const port = parentPort;
  if (port === null) throw new Error('answerRequests runs in a worker thread.');
  let queue = Promise.resolve();
  port.on('message', ({ id, request }: Request<Q>) => {
    queue = queue.then(async () => {
      const answer = await handle(request);
      port.postMessage({ id, answer } satisfies Answer<A>, moved?.(answer));
    });
  });
  port.postMessage('ready');
}
