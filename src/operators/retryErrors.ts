import { concat, from, mergeMap, of, type Observable, type OperatorFunction } from 'rxjs';
import type { CoralNetClient } from '../coralnet/client.js';
import type { PollPlanner } from '../flow/pollPlanner.js';
import type { ImageOutcome, PlannedImage } from '../model.js';
import { entriesOf } from './chunk.js';
import { deploy, type DeployHooks } from './deploy.js';
import type { FinishedJob } from './pollUntilDone.js';
import { pollUntilDone } from './pollUntilDone.js';
import type { ImageResult } from '../coralnet/schemas.js';

/** Failures worth sending again: the server could not download the image this time. (A job gone or stuck is sent again too.) */
export const isTransientFailure = (message: string): boolean => /URLDownloadError/.test(message);

/** Joins the entries of a finished job back into one outcome per image. */
export function outcomesOf(finished: FinishedJob): Array<{ planned: PlannedImage; outcome: ImageOutcome }> {
  const jobIds = [finished.job.id];
  const outcomes: Array<{ planned: PlannedImage; outcome: ImageOutcome }> = [];
  const failure = (planned: PlannedImage, reason: string, transient: boolean): { planned: PlannedImage; outcome: ImageOutcome } => ({
    planned,
    outcome: { name: planned.name, seq: planned.seq, url: planned.url, path: planned.path, version: planned.version, aux: planned.aux, ok: false, reason, transient, attempts: planned.attempts, jobIds },
  });
  const results = finished.results;
  if (!Array.isArray(results)) {
    const reason = 'gone' in results ? `job ${finished.job.id} is gone from the server: ${results.gone}` : results.stuck;
    for (const planned of finished.images) outcomes.push(failure(planned, reason, true));
    return outcomes;
  }
  let next = 0;
  for (const planned of finished.images) {
    // An image over 200 points was sent as several entries, in order.
    const entries = results.slice(next, next + entriesOf(planned));
    next += entries.length;
    const failed = entries.find((entry) => !entry.ok);
    if (failed && !failed.ok) outcomes.push(failure(planned, failed.errors.join(' | '), isTransientFailure(failed.errors.join(' '))));
    else outcomes.push({ planned, outcome: annotated(planned, entries, jobIds) });
  }
  return outcomes;
}

/** The outcome of an image whose entries all succeeded: their points, in order. */
function annotated(planned: PlannedImage, entries: ImageResult[], jobIds: string[]): ImageOutcome {
  return { ...planned, ok: true, classified: entries.flatMap((entry) => (entry.ok ? entry.points : [])), jobIds };
}

export interface RetryErrorsOptions {
  classifierId: number | string;
  /** Times an image is sent at most. Default 3. */
  maxAttempts?: number;
  planner?: PollPlanner;
  hooks?: DeployHooks;
}

/**
 * Emits one outcome per image of each finished job. Images that failed for a reason that may pass
 * (a download failure, a job gone from the server) are sent again with the same points, up to
 * `maxAttempts`; permanent failures are final. Every image ends as a success or a failure with its
 * reason and attempts.
 * @example jobs$.pipe(pollUntilDone(client), retryErrors(client, { classifierId: 1234 }))
 */
export function retryErrors(client: CoralNetClient, options: RetryErrorsOptions): OperatorFunction<FinishedJob, ImageOutcome> {
  const maxAttempts = options.maxAttempts ?? 3;
  const settle = (finished: FinishedJob): Observable<ImageOutcome> => {
    const outcomes = outcomesOf(finished);
    const again = outcomes.filter(({ outcome }) => !outcome.ok && outcome.transient && outcome.attempts < maxAttempts);
    const final = outcomes.filter((o) => !again.includes(o)).map(({ outcome }) => outcome);
    if (again.length === 0) return from(final);
    const previousJobs = new Map(again.map(({ planned, outcome }) => [planned.name, outcome.jobIds]));
    return concat(
      from(final),
      of(again.map(({ planned }) => planned)).pipe(
        deploy(client, options.classifierId, options.hooks),
        pollUntilDone(client, options.planner),
        mergeMap(settle),
        mergeMap((outcome) => of({ ...outcome, jobIds: [...(previousJobs.get(outcome.name) ?? []), ...outcome.jobIds] })),
      ),
    );
  };
  return mergeMap(settle);
}
