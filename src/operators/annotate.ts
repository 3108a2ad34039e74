import { mergeMap, of, type OperatorFunction } from 'rxjs';
import type { CoralNetClient } from '../coralnet/client.js';
import { PollPlanner } from '../flow/pollPlanner.js';
import type { ImageOutcome, PlannedImage } from '../model.js';
import { deploy, type DeployHooks } from './deploy.js';
import { isFailed, type OrFailed } from './failures.js';
import { pollUntilDone } from './pollUntilDone.js';
import { retryErrors } from './retryErrors.js';

export interface AnnotateOptions {
  classifierId: number | string;
  /** Times an image is sent at most (transient failures). Default 3. */
  maxAttempts?: number;
  /** Jobs at once; the user's job limit as the client knows it by default (the client never exceeds it). */
  jobSlots?: number;
  planner?: PollPlanner;
  /** Where each deploy is recorded before and after it is sent (the run's journal). */
  hooks?: DeployHooks;
}

/** Chunks under way at once for `jobSlots` slots: the jobs running and as many waiting for a slot. */
export const chunksAtOnce = (jobSlots: number): number => 2 * jobSlots;

/**
 * One chunk, one job: `deploy`, `pollUntilDone` and `retryErrors` for each chunk inside one inner
 * observable, twice as many at once as the server's job slots: the second half wait at the client
 * for slots, each sent the moment a job is seen finished (while that job's result is read), even
 * when several jobs finish together. Failed images pass through.
 * @example chunks$.pipe(annotate(client, { classifierId: 1234 }))
 */
export function annotate(client: CoralNetClient, options: AnnotateOptions): OperatorFunction<OrFailed<PlannedImage[]>, ImageOutcome> {
  const planner = options.planner ?? new PollPlanner(client.gate);
  return (source) =>
    source.pipe(
      mergeMap(
        (item) =>
          isFailed(item)
            ? of(item)
            : of(item).pipe(
                deploy(client, options.classifierId, options.hooks),
                pollUntilDone(client, planner),
                retryErrors(client, { classifierId: options.classifierId, maxAttempts: options.maxAttempts, planner, hooks: options.hooks }),
              ),
        chunksAtOnce(options.jobSlots ?? client.gate.jobs.limit),
      ),
    );
}
