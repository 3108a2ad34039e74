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
 * The server counts a request when it arrives, the client when it leaves: a request that left just
 * outside a window may arrive inside it. Keeping a little more than a period between the first and
 * the last request of a full window absorbs that difference in latency.
 */
function latencyMarginMs(periodMs: number): number {
  return Math.min(1000, Math.max(20, periodMs * 0.02));
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

/**
 * @example
 * const gate = new RateGate({ windows: [{ limit: 60, periodMs: 60_000 }] });
 * await gate.pass();        // resolves at once, or when the window has room again
 * gate.pause(30_000);       // a 429 said Retry-After: 30; every request waits
 */
export class RateGate {
  readonly windows: readonly RateWindow[];
  readonly jobs: JobSlots;
  private readonly sent: number[][];
  private pausedUntilMs = 0;
  private turn: Promise<unknown> = Promise.resolve();

  constructor(options: RateGateOptions = {}) {
    this.windows = options.windows ?? CORALNET_WINDOWS;
    this.sent = this.windows.map(() => []);
    this.jobs = new JobSlots(options.jobSlots ?? CORALNET_JOB_SLOTS);
  }

  /**
   * Waits until a request may be sent without going over any window, then counts it as sent.
   * Requests pass in the order they asked.
   */
  pass(signal?: AbortSignal): Promise<void> {
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

  /** Milliseconds a request asking now would wait. */
  delayMs(now = Date.now()): number {
    let wait = this.pausedUntilMs - now;
    this.windows.forEach((window, w) => {
      const stamps = this.prune(w, now);
      if (stamps.length >= window.limit) {
        const oldestThatCounts = stamps[stamps.length - window.limit]!;
        wait = Math.max(wait, oldestThatCounts + window.periodMs + latencyMarginMs(window.periodMs) - now);
      }
    });
    return Math.max(0, wait);
  }

  /** How full each window is now: what a poll planner can spend. */
  usage(now = Date.now()): WindowUsage[] {
    return this.windows.map((window, w) => ({ ...window, used: this.prune(w, now).length }));
  }

  private async admit(signal?: AbortSignal): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      const now = Date.now();
      const wait = this.delayMs(now);
      if (wait <= 0) {
        for (const stamps of this.sent) stamps.push(now);
        return;
      }
      await sleep(wait, signal);
    }
  }

  private prune(w: number, now: number): number[] {
    const window = this.windows[w]!;
    const stamps = this.sent[w]!;
    const horizon = now - window.periodMs - latencyMarginMs(window.periodMs);
    let drop = 0;
    while (drop < stamps.length && stamps[drop]! <= horizon) drop++;
    if (drop > 0) stamps.splice(0, drop);
    return stamps;
  }
}
