import { mergeMap, type OperatorFunction } from 'rxjs';
import type { CoralNetClient } from '../coralnet/client.js';
import { NotFoundError } from '../coralnet/errors.js';
import type { ImageResult } from '../coralnet/schemas.js';
import { PollPlanner } from '../flow/pollPlanner.js';
import { sleep } from '../util/duration.js';
import type { SubmittedJob } from './deploy.js';

/**
 * A job whose result is in: one result per request entry, in request order; or why there is none
 * (the job is gone from the server, or it never gives its result).
 */
export interface FinishedJob extends SubmittedJob {
  results: ImageResult[] | { gone: string } | { stuck: string };
}

async function waitForJob(client: CoralNetClient, planner: PollPlanner, submitted: SubmittedJob): Promise<FinishedJob> {
  let previous = { done: 0, at: submitted.sentAt };
  let firstUnderway: { done: number; at: number } | undefined;
  // Since when the status says finished, and how many times the result said 409 since.
  let finished: { since: number; conflicts: number } | undefined;
  try {
    for (;;) {
      const status = await client.status(submitted.job);
      if (status.finished) {
        await client.deploysSent(); // the job that takes this one's slot goes first
        const result = await client.result(submitted.job);
        if (result.ready) return { ...submitted, results: result.images };
        // A 409 right after the 303: not ready after all, or never (see StuckRule).
        finished ??= { since: Date.now(), conflicts: 0 };
        if (planner.isStuck(++finished.conflicts, finished.since)) {
          const minutes = Math.round((Date.now() - finished.since) / 60_000);
          const slots = client.jobHoldsSlot(submitted.job);
          return {
            ...submitted,
            results: {
              stuck: `job ${submitted.job.id} said it was finished, but its result answered 409 ${finished.conflicts} times over ${minutes} min: CoralNet never finished it (it keeps one of your active-job slots until it is purged, 30 days on; ${slots} left for this run)`,
            },
          };
        }
        await sleep(planner.budgetIntervalMs());
        continue;
      }
      const now = Date.now();
      const wait = planner.nextPollMs(status, previous, now, firstUnderway);
      previous = { done: status.successes + status.failures, at: now };
      if (firstUnderway === undefined && previous.done > 0) firstUnderway = previous;
      await sleep(wait);
    }
  } catch (error) {
    // Results live 30 days; a job gone from the server is sent again by retryErrors.
    if (error instanceof NotFoundError) return { ...submitted, results: { gone: error.message } };
    throw error;
  }
}

/**
 * Polls each job until its result is in, at intervals planned from its progress and the request
 * budget left (see {@link PollPlanner}), then reads the result.
 * @example jobs$.pipe(pollUntilDone(client))
 */
export function pollUntilDone(client: CoralNetClient, planner = new PollPlanner(client.gate)): OperatorFunction<SubmittedJob, FinishedJob> {
  return mergeMap((submitted) => waitForJob(client, planner, submitted));
}
