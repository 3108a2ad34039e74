/**
 * The run's journal, next to its outputs (`results.journal.ndjson`): one JSON record a line,
 * each on disk (fsync) before the run goes on, so that the same command after a crash or kill -9
 * resumes without losing or repeating anything. Which images are in the outputs is kept beside it
 * (`writtenImages.ts`); a checkpoint records how far that file, and each output, is on disk.
 *
 * Records:
 * - `start`   the run's settings; a resume with other settings is refused.
 * - `served`  the loopback address a local folder is served at: a resume serves it there again, so
 *             that jobs in flight still download their images.
 * - `sending` the images of a deploy about to be sent (with their points), and the highest job id
 *             the account had: a job that appears above it without a `sent` record is this one.
 * - `sent`    the job id the server gave that deploy.
 * - `resumed` a run went on from this journal (`times` of them, after a compaction).
 * - `written` the byte length of each output and of the written-images file, and the run's tally.
 *             A resume cuts each file back to these lengths (a crash may leave part of a line).
 * - `stale`   a photo written before that has changed since: annotated again, its earlier lines
 *             (those before `before` in each output) are removed when the run ends.
 * - `pruned`  those lines were removed: the outputs' new lengths. Each pruned output was written
 *             whole beside its file before this record; a resume renames any still left over it.
 * - `finished` the run ended with every image of its source written. The journal stays: the same
 *             command again annotates only what the source holds that the outputs do not.
 * - `continued` a run went on from a finished one.
 *
 * The journal does not grow with the survey: once its appended records pass `compactBytes`, the
 * next checkpoint rewrites it (to a temporary file, synced, then renamed over it) as the records a
 * resume needs: the `start` and `served` records, the count of resumes, the stale photos, the
 * deploys that still have images to write, and that checkpoint.
 */
import type { DeployHooks } from '../operators/deploy.js';
import { open, readFile, rename, truncate, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { PlannedImage } from '../model.js';
import { describe, OutputError } from '../sinks/outputFile.js';
import { identityOf } from './writtenImages.js';

/** What the outputs held at a checkpoint, and what the run had done by then (across resumes). */
export interface Tally {
  annotated: number;
  failed: number;
  points: number;
  jobs: number;
  /** Seconds of running, the time between a crash and its resume left out. */
  seconds: number;
  failures: Record<string, number>;
  /** What the server did: 429s, requests tried again, 5xx answers, seconds spent waiting. */
  server?: ServerTally;
}

export interface ServerTally {
  throttled: number;
  retries: number;
  serverErrors: number;
  waitSeconds: number;
}

/** Byte lengths of the outputs. */
export interface OutputLengths {
  csv: number;
  ndjson?: number;
  errors: number;
}

export interface Checkpoint extends OutputLengths {
  /** Length of the written-images file. */
  written: number;
  tally?: Tally;
}

export type JournalRecord =
  | { t: 'start'; settings: Record<string, unknown> }
  | { t: 'served'; url: string }
  | { t: 'sending'; deploy: string; images: PlannedImage[]; knownMax?: string }
  | { t: 'sent'; deploy: string; job: string }
  | { t: 'resumed'; times?: number }
  | { t: 'written'; at: Checkpoint }
  | { t: 'stale'; name: string; before: OutputLengths }
  | { t: 'pruned'; at: Checkpoint }
  | { t: 'finished' }
  | { t: 'continued' };

/** A deploy the journal knows of: its images, and its job id once the server gave one. */
export interface JournalDeploy {
  images: PlannedImage[];
  knownMax?: string;
  job?: string;
}

/** What a journal says about an interrupted run. */
export interface JournalState {
  settings?: Record<string, unknown>;
  /** Where a local folder was served. */
  served?: string;
  checkpoint?: Checkpoint;
  /** Jobs sent whose images were not all written at the last compaction, in the order sent. */
  jobs: Array<{ deploy: string; job: string; images: PlannedImage[] }>;
  /** Deploys whose job id was never recorded (the crash came between the POST and the record). */
  unconfirmed: Array<{ deploy: string; images: PlannedImage[]; knownMax?: string }>;
  /** Photos changed since they were written, whose earlier lines are still to be removed. */
  stale: Array<{ name: string; before: OutputLengths }>;
  /** Set when the run stopped while it removed those lines: each output's `.pruned` file is whole. */
  pruning: boolean;
  /** The run finished: a run after it adds what is new in the source. */
  finished: boolean;
  /** Jobs recorded as sent after the last checkpoint: not in its tally yet. */
  sentSinceCheckpoint: number;
  /** How many times a run went on from this journal. */
  resumes: number;
  /** Bytes of whole records: a resume cuts off what a crash left of a last one before it appends. */
  length: number;
}

/** The deploys of a journal's records, by their ids, each with the images it has still to write. */
class Deploys {
  readonly byId = new Map<string, JournalDeploy & { pending: Set<string> }>();

  apply(record: JournalRecord, written?: ReadonlySet<string>): void {
    if (record.t === 'sending') {
      this.byId.set(record.deploy, { images: record.images, knownMax: record.knownMax, pending: new Set(record.images.map(identityOf)) });
    } else if (record.t === 'sent') {
      const deploy = this.byId.get(record.deploy);
      if (deploy) deploy.job = record.job;
    } else if (record.t === 'written' && written !== undefined) {
      this.markWritten(written);
    } else if (record.t === 'resumed') {
      // The run that goes on has settled every deploy whose id was lost: the one it found on the
      // server is recorded `sent` before this; the others never made a job, and their images are
      // sent again under new records. Kept, they would make two unconfirmed deploys after the next
      // crash, and then none could be told apart.
      for (const [id, deploy] of this.byId) if (deploy.job === undefined) this.byId.delete(id);
    }
  }

  /** Images now written: a deploy whose images are all written is done with. */
  markWritten(written: ReadonlySet<string>): void {
    for (const [id, deploy] of this.byId) {
      for (const key of written) deploy.pending.delete(key);
      if (deploy.pending.size === 0) this.byId.delete(id);
    }
  }
}

export async function readJournal(path: string): Promise<JournalState | undefined> {
  const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (text === undefined) return undefined;
  const state: JournalState = { jobs: [], unconfirmed: [], stale: [], pruning: false, finished: false, sentSinceCheckpoint: 0, resumes: 0, length: 0 };
  const deploys = new Deploys();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length - 1; i++) {
    const line = lines[i]!;
    let record: JournalRecord;
    try {
      record = JSON.parse(line) as JournalRecord;
    } catch {
      break; // a line cut by a crash or a full disk: it was never acknowledged
    }
    state.length += Buffer.byteLength(line) + 1;
    if (record.t === 'start') state.settings = record.settings;
    else if (record.t === 'served') state.served = record.url;
    else if (record.t === 'sent') state.sentSinceCheckpoint++;
    else if (record.t === 'resumed') state.resumes += record.times ?? 1;
    else if (record.t === 'finished' || record.t === 'continued') state.finished = record.t === 'finished';
    else if (record.t === 'stale') state.stale.push({ name: record.name, before: record.before });
    else if (record.t === 'written' || record.t === 'pruned') {
      state.checkpoint = record.at;
      state.sentSinceCheckpoint = 0;
      state.pruning = record.t === 'pruned';
      if (record.t === 'pruned') state.stale = [];
    }
    deploys.apply(record);
  }
  // A finished run has nothing in flight: its deploys' images are written, or gone from its source.
  if (state.finished) deploys.byId.clear();
  for (const [id, deploy] of deploys.byId) {
    if (deploy.job !== undefined) state.jobs.push({ deploy: id, job: deploy.job, images: deploy.images });
    else state.unconfirmed.push({ deploy: id, images: deploy.images, knownMax: deploy.knownMax });
  }
  return state;
}

export class Journal {
  private readonly deploys = new Deploys();
  private readonly kept = new Map<string, JournalRecord>();
  private stale: JournalRecord[] = [];
  private checkpoint?: JournalRecord;
  private resumes = 0;
  private appended = 0;
  /** Records are written one at a time: a compaction never races an append. */
  private queue: Promise<void> = Promise.resolve();

  private constructor(
    private readonly path: string,
    private handle: FileHandle,
    private readonly compactBytes: number,
  ) {}

  /**
   * Opens a new journal, or one to go on with after `previous` (read by `readJournal`), whose
   * records it keeps for compactions; `isWritten` tells which of its deploys' images are written.
   */
  static async open(path: string, previous?: JournalState, options: { compactBytes?: number; isWritten?: (image: PlannedImage) => boolean } = {}): Promise<Journal> {
    // What a crash left of a last record is cut off, so that the next record starts a line.
    if (previous) await truncate(path, previous.length);
    const journal = new Journal(path, await open(path, previous ? 'a' : 'w'), options.compactBytes ?? 4 * 2 ** 20);
    if (previous?.settings) journal.kept.set('start', { t: 'start', settings: previous.settings });
    if (previous?.served) journal.kept.set('served', { t: 'served', url: previous.served });
    journal.resumes = previous?.resumes ?? 0;
    if (previous?.checkpoint) journal.checkpoint = { t: 'written', at: previous.checkpoint };
    journal.stale = (previous?.stale ?? []).map(({ name, before }) => ({ t: 'stale', name, before }));
    for (const { deploy, job, images } of previous?.jobs ?? []) {
      journal.deploys.apply({ t: 'sending', deploy, images });
      journal.deploys.apply({ t: 'sent', deploy, job });
    }
    for (const { deploy, images, knownMax } of previous?.unconfirmed ?? []) journal.deploys.apply({ t: 'sending', deploy, images, knownMax });
    const { isWritten } = options;
    if (isWritten !== undefined) journal.deploys.markWritten(new Set([...journal.deploys.byId.values()].flatMap(({ images }) => images.filter(isWritten).map(identityOf))));
    return journal;
  }

  /**
   * Deploy hooks that record each deploy before it is sent (`sending`, named by `runTag` and its
   * number) and its job once known (`sent`); `sent()` counts the jobs.
   * @example const { hooks, sent } = journal.deployHooks(Date.now().toString(36))
   */
  deployHooks(runTag: string): { hooks: DeployHooks; sent: () => number } {
    const names = new WeakMap<PlannedImage[], string>();
    let deploys = 0;
    let sent = 0;
    const hooks: DeployHooks = {
      beforeSend: (images, knownMax) => {
        const deploy = `${runTag}.${deploys++}`;
        names.set(images, deploy);
        return this.record({ t: 'sending', deploy, images, knownMax });
      },
      afterSend: (job, images) => {
        sent++;
        return this.record({ t: 'sent', deploy: names.get(images)!, job: job.id });
      },
    };
    return { hooks, sent: () => sent };
  }

  /**
   * Appends a record and waits until it is on disk; a checkpoint may first compact the journal.
   * A `written` record is given the images written since the last one, so that deploys whose
   * images are all written are left out of compactions.
   */
  record(record: JournalRecord, written?: ReadonlySet<string>): Promise<void> {
    const done = this.queue.then(async () => {
      if (record.t === 'start' || record.t === 'served') this.kept.set(record.t, record);
      if (record.t === 'resumed') this.resumes += record.times ?? 1;
      if (record.t === 'stale') this.stale.push(record);
      if (record.t === 'pruned') this.stale = [];
      if (record.t === 'written' || record.t === 'pruned') this.checkpoint = record;
      this.deploys.apply(record, written);
      if ((record.t === 'written' || record.t === 'pruned') && this.appended >= this.compactBytes) return this.compact([record]);
      // A finished run keeps only what a run after it needs: nothing is in flight.
      if (record.t === 'finished' && this.checkpoint !== undefined) {
        this.deploys.byId.clear();
        return this.compact([this.checkpoint, record]);
      }
      const line = Buffer.from(`${JSON.stringify(record)}\n`);
      try {
        await this.handle.appendFile(line);
        await this.handle.datasync();
      } catch (error) {
        throw new OutputError(this.path, describe(error as NodeJS.ErrnoException), { cause: error });
      }
      this.appended += line.length;
    });
    this.queue = done.catch(() => undefined);
    return done;
  }

  /** Rewrites the journal as what a resume needs: settings, address, stale photos, open deploys, and `last` (a checkpoint). */
  private async compact(last: JournalRecord[]): Promise<void> {
    const records: JournalRecord[] = [...this.kept.values()];
    if (this.resumes > 0) records.push({ t: 'resumed', times: this.resumes });
    records.push(...this.stale);
    for (const [deploy, { images, knownMax, job }] of this.deploys.byId) {
      records.push({ t: 'sending', deploy, images, ...(knownMax === undefined ? {} : { knownMax }) });
      if (job !== undefined) records.push({ t: 'sent', deploy, job });
    }
    records.push(...last);
    const temporary = `${this.path}.compacting`;
    const file = await open(temporary, 'w');
    try {
      await file.writeFile(records.map((record) => `${JSON.stringify(record)}\n`).join(''));
      await file.sync();
    } finally {
      await file.close();
    }
    await this.handle.close();
    await rename(temporary, this.path);
    await syncFolder(this.path);
    this.handle = await open(this.path, 'a');
    this.appended = 0;
  }

  async close(): Promise<void> {
    await this.queue;
    await this.handle.close();
  }
}

/** Makes a rename in the folder of `path` durable. */
export async function syncFolder(path: string): Promise<void> {
  const folder = await open(dirname(path), 'r');
  try {
    await folder.sync();
  } finally {
    await folder.close();
  }
}
