/**
 * One gate for every request to CoralNet: it mirrors the server's sliding request windows and its
 * active-job limit on the client side, so that a healthy run never receives a 429, and it pauses
 * every request when one does arrive.
 */
import { sleep, type RateWindow } from '../util/duration.js';

/** CoralNet's windows per user: 60 requests a minute (burst) and 1000 an hour (sustained). */
export const CORALNET_WINDOWS: readonly RateWindow[] = [
  { limit: 60, periodMs: 60_000 },
  { limit: 1000, periodMs: 3_600_000 },
];
/** CoralNet's default number of active deploy jobs per user. */
export const CORALNET_JOB_SLOTS = 5;

/**
 * Requests are stamped when their answer arrives, and count as "now" while in flight: the server
 * stamped each on arrival, which lies between the two, so the client never counts fewer requests in
 * a window than the server does, whatever the latency. A little slack covers timer granularity.
 */
function slackMs(periodMs: number): number {
  return Math.min(250, periodMs * 0.005);
}

export interface WindowUsage extends RateWindow {
  /** Requests counted in the window now. */
  used: number;
}

/**
 * Active deploy jobs, counted against the server's limit. A slot is taken before a deploy is sent
 * and given back when the job is seen finished (or gone).
 */
export class JobSlots {
  private held = 0;
  private readonly waiting: Array<() => void> = [];
  private readonly onRelease = new Set<() => void>();

  constructor(private max: number) {}

  get limit(): number {
    return this.max;
  }

  get active(): number {
    return this.held;
  }

  /** The server's `max_active_jobs` for this user, once known. */
  setLimit(limit: number): void {
    this.max = limit;
    this.wake();
  }

  /** Waits for a free slot and takes it. */
  acquire(signal?: AbortSignal): Promise<void> {
    if (this.held < this.max && this.waiting.length === 0) {
      this.held++;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const take = (): void => {
        signal?.removeEventListener('abort', onAbort);
        this.held++;
        resolve();
      };
      const onAbort = (): void => {
        const at = this.waiting.indexOf(take);
        if (at >= 0) this.waiting.splice(at, 1);
        reject(signal?.reason as Error);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(take);
    });
  }

  /** Takes a slot without waiting, for a job that is already running on the server (adopted). */
  occupy(): void {
    this.held++;
  }

  release(): void {
    if (this.held > 0) this.held--;
    for (const listener of [...this.onRelease]) listener();
    this.wake();
  }

  /** Resolves true when any slot is released within `timeoutMs`, false otherwise. */
  waitForRelease(timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const done = (released: boolean): void => {
        clearTimeout(timer);
        this.onRelease.delete(listener);
        resolve(released);
      };
      const listener = (): void => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.onRelease.add(listener);
    });
  }

  private wake(): void {
    while (this.held < this.max && this.waiting.length > 0) this.waiting.shift()!();
  }
}

export interface RateGateOptions {
  /** Request windows to stay within; CoralNet's by default. */
  windows?: readonly RateWindow[];
  /** Active jobs allowed at once; CoralNet's default 5 until the server tells the user's own limit. */
  jobSlots?: number;
}

/** A request let through the gate; call `answered()` once its answer (or failure) has come. */
export interface GatePass {
  answered(): void;
}

/**
 * @example
 * const gate = new RateGate({ windows: [{ limit: 60, periodMs: 60_000 }] });
 * const pass = await gate.pass(); // at once, or when the window has room again
 * const res = await send(request);
 * pass.answered();
 * gate.pause(30_000);             // a 429 said Retry-After: 30; every request waits
 */
export class RateGate {
  readonly windows: readonly RateWindow[];
  readonly jobs: JobSlots;
  /** Answer times of past requests, ascending, per window. */
  private readonly answeredAt: number[][];
  private inFlight = 0;
  private pausedUntilMs = 0;
  private turn: Promise<unknown> = Promise.resolve();
  private wakeOnAnswer: (() => void) | undefined;

  constructor(options: RateGateOptions = {}) {
    this.windows = options.windows ?? CORALNET_WINDOWS;
    this.answeredAt = this.windows.map(() => []);
    this.jobs = new JobSlots(options.jobSlots ?? CORALNET_JOB_SLOTS);
  }

  /**
   * Waits until a request may be sent without going over any window, and counts it from then.
   * Requests pass in the order they asked.
   */
  pass(signal?: AbortSignal): Promise<GatePass> {
    const mine = this.turn.then(() => this.admit(signal));
    this.turn = mine.catch(() => undefined);
    return mine;
  }

  /** Holds every request for `ms` from now (or longer, if a longer pause is already on). */
  pause(ms: number): void {
    this.pausedUntilMs = Math.max(this.pausedUntilMs, Date.now() + ms);
  }

  get pausedUntil(): number {
    return this.pausedUntilMs;
  }

  /**
   * Milliseconds a request asking now would wait; `Infinity` while the requests in flight alone
   * fill a window (the wait ends with an answer).
   */
  delayMs(now = Date.now()): number {
    let wait = this.pausedUntilMs - now;
    this.windows.forEach((window, w) => {
      const stamps = this.prune(w, now);
      const mustLeave = stamps.length + this.inFlight - window.limit + 1;
      if (mustLeave <= 0) return;
      wait = Math.max(wait, mustLeave > stamps.length ? Infinity : stamps[mustLeave - 1]! + window.periodMs + slackMs(window.periodMs) - now);
    });
    return Math.max(0, wait);
  }

  /** How full each window is now, requests in flight included: what a poll planner can spend. */
  usage(now = Date.now()): WindowUsage[] {
    return this.windows.map((window, w) => ({ ...window, used: this.prune(w, now).length + this.inFlight }));
  }

  private async admit(signal?: AbortSignal): Promise<GatePass> {
    for (;;) {
      signal?.throwIfAborted();
      const wait = this.delayMs();
      if (wait <= 0) {
        this.inFlight++;
        let done = false;
        return {
          answered: () => {
            if (done) return;
            done = true;
            this.inFlight--;
            const now = Date.now();
            for (const stamps of this.answeredAt) {
              let at = stamps.length;
              while (at > 0 && stamps[at - 1]! > now) at--;
              stamps.splice(at, 0, now);
            }
            this.wakeOnAnswer?.();
          },
        };
      }
      // Wait for the window to free up, or for an answer to come in, whichever is first.
      const answer = new Promise<void>((resolve) => (this.wakeOnAnswer = resolve));
      const stop = new AbortController();
      const timer = sleep(Math.min(wait, 2 ** 31 - 1), signal ? AbortSignal.any([stop.signal, signal]) : stop.signal).catch((error: unknown) => {
        if (signal?.aborted) throw error;
      });
      try {
        await Promise.race([answer, timer]);
      } finally {
        stop.abort();
        this.wakeOnAnswer = undefined;
      }
    }
  }

  private prune(w: number, now: number): number[] {
    const window = this.windows[w]!;
    const stamps = this.answeredAt[w]!;
    const horizon = now - window.periodMs - slackMs(window.periodMs);
    let drop = 0;
    while (drop < stamps.length && stamps[drop]! <= horizon) drop++;
    if (drop > 0) stamps.splice(0, drop);
    return stamps;
  }
}
