/**
 * Going on from an earlier run of the same outputs: its settings must be these; the images it wrote
 * are skipped as they are met in the listing, one changed since is annotated again (its earlier
 * lines removed at the end), and an image a recovered job stands for takes its place in the stream
 * when the listing meets it.
 */
import type { CoralNetClient } from '../coralnet/client.js';
import type { ImageRef, PlannedImage } from '../model.js';
import type { SubmittedJob } from '../operators/deploy.js';
import { isFailed, type OrFailed } from '../operators/failures.js';
import { giveBack } from './credits.js';
import { Journal, type JournalState, type OutputLengths, type Tally } from './journal.js';
import { placePruned } from './prune.js';
import { Claims, recoverJobs } from './resume.js';
import type { SourceChanges } from './summary.js';
import type { OutputPaths } from './surveyOutputs.js';
import { identityOf, WrittenImages } from './writtenImages.js';

/** Refuses to go on from a run with other settings, or from a journal of the old format. */
export function checkSettings(previous: JournalState | undefined, settings: Record<string, unknown>, out: string, journalFile: string): void {
  if (previous?.settings === undefined) return;
  const before = JSON.stringify(previous.settings);
  if (previous.finished && before !== JSON.stringify(settings)) {
    throw new Error(`${out} holds a finished run with other settings (${before}): give these settings another --out, or move ${journalFile} away to write the survey anew.`);
  }
  if (before !== JSON.stringify(settings)) {
    throw new Error(`${journalFile} belongs to an interrupted run with other settings (${before}): run that command again to finish it, or move the journal away to start over.`);
  }
  if (previous.checkpoint !== undefined && previous.checkpoint.written === undefined) {
    throw new Error(`${journalFile} was written by an earlier version of reefstream, which resumed by position: finish that run with it, or move the journal away to start over.`);
  }
}

/** Aux1–Aux5 from the folders of a name: `site1/T2/IMG_1.JPG` → Aux1 `site1`, Aux2 `T2` (five at most). */
export function auxFromFolders(name: string): ImageRef['aux'] | undefined {
  const folders = name.split('/').slice(0, -1).slice(0, 5);
  if (folders.length === 0) return undefined;
  return Object.fromEntries(folders.map((folder, i) => [`Aux${i + 1}`, folder]));
}

/** Gives each listed image its place in this run's stream, or takes it out when it has nothing to do here. */
export class Placement {
  readonly changes: SourceChanges = { notWrittenBefore: 0, gone: 0, changed: 0 };
  /** Images skipped as written by the earlier run. */
  alreadyWritten = 0;
  private next = 0;

  constructor(
    private readonly run: {
      previous: JournalState | undefined;
      written: WrittenImages;
      claims: Claims;
      journal: Journal;
      /** The outputs' lengths this run started from: a changed photo's earlier lines end there. */
      resumedAt: OutputLengths;
      /** Changed photos and the lengths before which their earlier lines are. */
      stale: Map<string, OutputLengths>;
      auxFromFolders: boolean;
    },
  ) {}

  /** The image with its place in the stream, or undefined when it has nothing to do here (its credit given back). */
  async place(image: OrFailed<ImageRef>): Promise<OrFailed<ImageRef> | undefined> {
    const { previous, written, claims, journal } = this.run;
    const key = identityOf(image);
    if (!isFailed(image) && claims.has(key)) {
      // A recovered job stands for it: its outcome takes this place and this credit.
      written.check(image);
      claims.place(key, { seq: this.next++, ticket: image.ticket });
      return undefined;
    }
    if (previous) {
      const state = written.check(image);
      if (state === 'written') {
        this.alreadyWritten++;
        giveBack(image);
        return undefined;
      }
      if (state === 'changed') {
        this.changes.changed++;
        this.run.stale.set(image.name, this.run.resumedAt);
        await journal.record({ t: 'stale', name: image.name, before: this.run.resumedAt });
      } else this.changes.notWrittenBefore++;
    }
    const aux = this.run.auxFromFolders && !isFailed(image) && image.aux === undefined ? auxFromFolders(image.name) : undefined;
    return { ...image, ...(aux ? { aux } : {}), seq: this.next++ };
  }

  /** Once the listing is over: what changed in the source since the earlier run, in a line (or none). */
  report(): string | undefined {
    const { previous, written } = this.run;
    if (!previous) return undefined;
    const changes = this.changes;
    changes.gone = written.unseen();
    const said = [
      changes.notWrittenBefore > 0 ? `${changes.notWrittenBefore} ${changes.notWrittenBefore === 1 ? 'photo' : 'photos'} not written before (new in the source, or not reached before the interruption)` : undefined,
      changes.changed > 0 ? `${changes.changed} written before and changed since: annotated again, the earlier lines removed` : undefined,
      changes.gone > 0 ? `${changes.gone} written before ${changes.gone === 1 ? 'is' : 'are'} no longer in the source and stay in the outputs` : undefined,
    ].filter((line) => line !== undefined);
    return said.length > 0 ? `since the ${previous.finished ? 'finished' : 'interrupted'} run: ${said.join('; ')}` : undefined;
  }
}

/** What a run takes over from the earlier run of its outputs (nothing, for a new survey). */
export interface Continuation {
  written: WrittenImages;
  /** Jobs in flight when the earlier run stopped, each with the images it stands for. */
  recovered: Array<{ job: SubmittedJob; owns: Set<string> }>;
  claims: Claims;
  /** The figures up to the checkpoint resumed from, and jobs sent after it. */
  earlier: Tally;
  jobsAfterCheckpoint: number;
  /** The outputs' lengths this run starts from, and the changed photos with the lengths before which their earlier lines are. */
  resumedAt: OutputLengths;
  stale: Map<string, OutputLengths>;
}

/**
 * Takes over from the earlier run of these outputs: its settings checked, the copies of a pruning it
 * left placed, its written images read, its jobs in flight found again (their images sent from this
 * run's address), the journal opened to go on.
 */
export async function continueFrom(
  client: CoralNetClient,
  previous: JournalState | undefined,
  run: { settings: Record<string, unknown>; out: string; journalFile: string; outputs: OutputPaths; republish: (image: PlannedImage) => PlannedImage; servedUrl?: string; log: (line: string) => void },
): Promise<{ continuation: Continuation; journal: Journal }> {
  const { journalFile, outputs, log } = run;
  checkSettings(previous, run.settings, run.out, journalFile);
  const checkpoint = previous?.checkpoint;
  // A run stopped while it removed the earlier lines of changed photos: its copies are whole.
  if (previous?.pruning) await placePruned([outputs.csv, ...(outputs.ndjson ? [outputs.ndjson] : []), outputs.errors]);
  const written = checkpoint ? await WrittenImages.read(outputs.written, checkpoint.written) : WrittenImages.empty();
  const recovery = previous ? await recoverJobs(client, previous, written) : { recovered: [] };
  const recovered = recovery.recovered.map(({ job, owns }) => ({ job: { ...job, images: job.images.map(run.republish) }, owns }));
  if (recovery.notFound) {
    log(`a deploy the interruption cut off is not among the account's active or recently finished jobs (CoralNet lists 2 × the job limit of these): its images are sent again; if CoralNet had made that job, it will have done their work twice`);
  }
  if (previous?.finished) log(`going on with the finished run of ${journalFile}: ${written.size} images written; annotating only what the source holds that the outputs do not`);
  else if (previous) log(`resuming the run of ${journalFile}: ${written.size} images already written, ${recovered.length} ${recovered.length === 1 ? 'job' : 'jobs'} to poll again`);

  const journal = await Journal.open(journalFile, previous, { isWritten: (image) => written.has(image) });
  // The job found for a deploy whose answer the crash cut off is this run's to record, before
  // `resumed` settles the deploys still without a job.
  if (recovery.found) await journal.record({ t: 'sent', ...recovery.found });
  await journal.record(previous === undefined ? { t: 'start', settings: run.settings } : previous.finished ? { t: 'continued' } : { t: 'resumed' });
  if (run.servedUrl !== undefined && run.servedUrl !== previous?.served) await journal.record({ t: 'served', url: run.servedUrl });
  return {
    journal,
    continuation: {
      written,
      recovered,
      claims: new Claims(new Set(recovered.flatMap(({ owns }) => [...owns]))),
      earlier: checkpoint?.tally ?? { annotated: 0, failed: 0, points: 0, jobs: 0, seconds: 0, failures: {} },
      jobsAfterCheckpoint: (previous?.sentSinceCheckpoint ?? 0) + (recovery.found ? 1 : 0),
      resumedAt: { csv: checkpoint?.csv ?? 0, errors: checkpoint?.errors ?? 0, ...(checkpoint?.ndjson === undefined ? {} : { ndjson: checkpoint.ndjson }) },
      stale: new Map((previous?.stale ?? []).map(({ name, before }) => [name, before])),
    },
  };
}
