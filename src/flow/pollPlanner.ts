/**
 * When to poll a job next: at about the time the job's own progress says it will finish, but never
 * more often than the request budget allows when every active job polls at that pace.
 */
import type { RateGate } from '../coralnet/rateGate.js';

export interface PollPlannerOptions {
  /** Share of each request window that polls may use; the rest is for deploys and results. Default 0.8. */
  share?: number;
  /** Longest wait between polls of one job. Default 10 minutes. */
  maxMs?: number;
  /** When a job whose status said finished (303) is given up on while its result answers 409. */
  stuckAfter?: StuckRule;
}

/**
 * CoralNet's status route says a job is finished from its images, its result route from the job's
 * finish time, which is never set when the job's last images fail before the classifier: such a
 * job answers 409 until it is purged, 30 days on. It is given up on once its result has answered
 * 409 `answers` times and `ms` have passed since its status first said finished.
 */
export interface StuckRule {
  answers: number;
  ms: number;
}

/** 10 answers of 409 and 30 minutes after the first 303: CoralNet sets a finish time within minutes. */
export const STUCK_AFTER: StuckRule = { answers: 10, ms: 30 * 60_000 };

export class PollPlanner {
  private readonly share: number;
  private readonly maxMs: number;

  readonly stuckAfter: StuckRule;

  constructor(private readonly gate: RateGate, options: PollPlannerOptions = {}) {
    this.share = options.share ?? 0.8;
    this.maxMs = options.maxMs ?? 600_000;
    this.stuckAfter = options.stuckAfter ?? STUCK_AFTER;
  }

  /** Whether a job that said finished at `since` and whose result answered 409 `answers` times is stuck. */
  isStuck(answers: number, since: number, now = Date.now()): boolean {
    return answers >= this.stuckAfter.answers && now - since >= this.stuckAfter.ms;
  }

  /** The shortest interval at which every active job can poll within the windows. */
  budgetIntervalMs(): number {
    const jobs = Math.max(1, this.gate.jobs.active);
    return Math.max(...this.gate.windows.map((w) => (w.periodMs / (w.limit * this.share)) * jobs));
  }

  /**
   * The wait before the next status request of a job. The images finished between two polls that
   * both saw the job under way tell how long the rest will take (from the previous poll, or from
   * `firstUnderway`, the first poll that saw images done, whichever says sooner); polling a quarter of that later
   * stretches polls on slow jobs without overshooting much when a queued job speeds up, and once
   * a quarter is shorter than the budget allows, the next poll is timed for just after the end.
   */
  nextPollMs(
    progress: { successes: number; failures: number; total: number },
    previous: { done: number; at: number },
    now = Date.now(),
    firstUnderway: { done: number; at: number } = previous,
  ): number {
    const budget = this.budgetIntervalMs();
    const done = progress.successes + progress.failures;
    // A job seen with nothing done may have started at any moment since: no rate to go by yet.
    if (previous.done === 0 || done <= previous.done || now <= previous.at) return budget;
    const left = progress.total - done;
    const fromPrevious = ((now - previous.at) / (done - previous.done)) * left;
    const fromFirst = firstUnderway.done > 0 && done > firstUnderway.done && now > firstUnderway.at ? ((now - firstUnderway.at) / (done - firstUnderway.done)) * left : fromPrevious;
    const remainingMs = Math.min(fromPrevious, fromFirst);
    // Far from the end: a quarter of the rest. Near it: just after the estimated end, so that a
    // finished job's slot is not left idle for up to a whole interval; such a poll may come sooner
    // than the budget's pace, by 4× at most (the rate gate keeps the windows whatever happens).
    if (remainingMs / 4 <= budget) return Math.max(budget / 4, remainingMs + 10);
    return Math.min(this.maxMs, remainingMs / 4);
  }
}
