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
  /** Answer times of past requests, ascending, as far back as the longest window reaches. */
  private readonly answeredAt: number[] = [];
  private inFlight = 0;
  private pausedUntilMs = 0;
  private turn: Promise<unknown> = Promise.resolve();
  private wakeOnAnswer: (() => void) | undefined;

  constructor(options: RateGateOptions = {}) {
    this.windows = options.windows ?? CORALNET_WINDOWS;
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
    this.prune(now);
    for (const window of this.windows) {
      const first = this.firstInWindow(window, now);
      const counted = this.answeredAt.length - first;
      const mustLeave = counted + this.inFlight - window.limit + 1;
      if (mustLeave <= 0) continue;
      const leaving = this.answeredAt[first + mustLeave - 1];
      wait = Math.max(wait, leaving === undefined ? Infinity : leaving + window.periodMs + slackMs(window.periodMs) - now);
    }
    return Math.max(0, wait);
  }

  /** How full each window is now, requests in flight included: what a poll planner can spend. */
  usage(now = Date.now()): WindowUsage[] {
    this.prune(now);
    return this.windows.map((window) => ({ ...window, used: this.answeredAt.length - this.firstInWindow(window, now) + this.inFlight }));
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
            this.answeredAt.push(Math.max(Date.now(), this.answeredAt.at(-1) ?? 0));
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

  /** Index of the first answer that still counts in `window`. */
  private firstInWindow(window: RateWindow, now: number): number {
    const horizon = now - window.periodMs - slackMs(window.periodMs);
    let first = this.answeredAt.length;
    while (first > 0 && this.answeredAt[first - 1]! > horizon) first--;
    return first;
  }

  /** Forgets answers older than every window. */
  private prune(now: number): void {
    const longest = Math.max(...this.windows.map((window) => window.periodMs + slackMs(window.periodMs)));
    let drop = 0;
    while (drop < this.answeredAt.length && this.answeredAt[drop]! <= now - longest) drop++;
    if (drop > 0) this.answeredAt.splice(0, drop);
  }
}
