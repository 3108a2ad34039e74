/** What a run reports when it ends: the whole survey's figures, and its summary file beside the CSV. */
import { writeFile } from 'node:fs/promises';
import type { ImageOutcome } from '../model.js';
import type { ServerTally, Tally } from './journal.js';

/** The whole survey's figures: a resumed run adds those of the runs before the crash. */
export interface SurveySummary {
  images: number;
  annotated: number;
  failed: number;
  points: number;
  /** Deploy jobs sent. */
  jobs: number;
  /** Running time, the time between a crash and its resume left out. */
  seconds: number;
  /** Images annotated per minute of running time. */
  imagesPerMinute: number;
  /** How many times the run was resumed after an interruption. */
  resumes: number;
  /** Failure reasons and how many images each. */
  failures: Record<string, number>;
  /** What the server did over the whole survey: 429s, requests tried again, 5xx answers, time spent waiting. */
  server: ServerTally;
  /** How the source changed since the run that was resumed (only in a resumed run). */
  changes?: SourceChanges;
  outputs: { csv: string; ndjson?: string; errors: string; run: string };
}

/** Photos of the source since the interrupted run. */
export interface SourceChanges {
  /** Photos not written before: added since, or not reached before the interruption. */
  notWrittenBefore: number;
  /** Written before, and no longer in the source: their lines stay in the outputs. */
  gone: number;
  /** Written before, and changed since (size or time): annotated again, their earlier lines removed. */
  changed: number;
}

/** The run's summary next to the CSV: `results.csv` → `results.run.json` (the report reads it). */
export const runSummaryPath = (out: string): string => `${out.replace(/\.csv$/i, '')}.run.json`;

/** The errors file next to the CSV: `results.csv` → `results.errors.ndjson`. */
export const defaultErrorsPath = (out: string): string => `${out.replace(/\.csv$/i, '')}.errors.ndjson`;

/** The journal next to the CSV: `results.csv` → `results.journal.ndjson`. */
export const journalPath = (out: string): string => `${out.replace(/\.csv$/i, '')}.journal.ndjson`;

/**
 * A short reason for summaries: the exception name of CoralNet's message, or the message without
 * the image's name, paths and URLs, up to its first colon.
 * @example reasonKind('/surveys/a/IMG_1.HEIC is a HEIC file, which CoralNet cannot read: convert it') // 'is a HEIC file, which CoralNet cannot read'
 */
export function reasonKind(reason: string): string {
  const exception = /^[\w.]*?(\w+Error)\b/.exec(reason)?.[1];
  if (exception !== undefined) return exception;
  const words = reason
    .replace(/^\S*[./]\S* /, '')
    .replace(/\s*(?:https?:\/\/|\/)\S+/g, '')
    .split(': ')[0]!;
  return words.length <= 80 ? words : `${words.slice(0, 79)}…`;
}

/** The summary of a survey whose figures are `total`, written to its `run` file with the request. */
export async function writeSummary(total: Tally, run: { resumes: number; changes?: SourceChanges; outputs: SurveySummary['outputs']; request: unknown }): Promise<SurveySummary> {
  const { seconds } = total;
  const summary: SurveySummary = {
    images: total.annotated + total.failed,
    annotated: total.annotated,
    failed: total.failed,
    points: total.points,
    jobs: total.jobs,
    seconds,
    resumes: run.resumes,
    imagesPerMinute: seconds > 0 ? (total.annotated / seconds) * 60 : 0,
    failures: total.failures,
    server: total.server!,
    ...(run.changes ? { changes: run.changes } : {}),
    outputs: run.outputs,
  };
  await writeFile(run.outputs.run, `${JSON.stringify({ ...summary, finishedAt: new Date().toISOString(), request: run.request }, null, 2)}\n`);
  return summary;
}

/** The whole survey's figures as the run goes: the earlier runs' (up to the checkpoint resumed from) and this one's. */
export class SurveyTally {
  /** This run's images written: annotated, failed, and the points of the annotated. */
  done = 0;
  failed = 0;
  points = 0;
  private readonly failures: Record<string, number>;
  private readonly started = Date.now();

  constructor(
    private readonly earlier: Tally,
    private readonly server: () => ServerTally,
    /** Jobs sent so far by this run and those after the checkpoint resumed from. */
    private readonly jobs: () => number,
  ) {
    this.failures = { ...earlier.failures };
  }

  /** An image written to the outputs. */
  count(outcome: ImageOutcome): void {
    if (outcome.ok) {
      this.done++;
      this.points += outcome.classified.length;
    } else {
      this.failed++;
      const kind = reasonKind(outcome.reason);
      this.failures[kind] = (this.failures[kind] ?? 0) + 1;
    }
  }

  now(): Tally {
    const { earlier } = this;
    const before = earlier.server ?? { throttled: 0, retries: 0, serverErrors: 0, waitSeconds: 0 };
    const server = this.server();
    return {
      annotated: earlier.annotated + this.done,
      failed: earlier.failed + this.failed,
      points: earlier.points + this.points,
      jobs: earlier.jobs + this.jobs(),
      seconds: earlier.seconds + (Date.now() - this.started) / 1000,
      failures: this.failures,
      server: {
        throttled: before.throttled + server.throttled,
        retries: before.retries + server.retries,
        serverErrors: before.serverErrors + server.serverErrors,
        waitSeconds: before.waitSeconds + server.waitSeconds,
      },
    };
  }
}
