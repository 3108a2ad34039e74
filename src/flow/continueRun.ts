/**
 * Going on from an earlier run of the same outputs: its settings must be these; the images it wrote
 * are skipped as they are met in the listing, one changed since is annotated again (its earlier
 * lines removed at the end), and an image a recovered job stands for takes its place in the stream
 * when the listing meets it.
 */
import { giveBack } from './credits.js';
import type { ImageRef } from '../model.js';
import { isFailed, type OrFailed } from '../operators/failures.js';
import type { Journal, JournalState, OutputLengths } from './journal.js';
import type { Claims } from './resume.js';
import type { SourceChanges } from './summary.js';
import { identityOf, type WrittenImages } from './writtenImages.js';

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
