/**
 * The run's journal, next to its outputs (`results.journal.ndjson`): one JSON record a line,
 * each on disk (fsync) before the run goes on, so that the same command after a crash or kill -9
 * resumes without losing or repeating anything.
 *
 * Records:
 * - `start`   the run's settings; a resume with other settings is refused.
 * - `sending` the images of a deploy about to be sent (with their points), and the highest job id
 *             the account had: a job that appears above it without a `sent` record is this one.
 * - `sent`    the job id the server gave those images.
 * - `resumed` a run went on from this journal (`times` of them, after a compaction).
 * - `written` how many images of the source (in source order) are in the outputs, the byte length
 *             of each output at that point, and the run's tally so far. A resume cuts the outputs
 *             back to these lengths (a crash may leave part of a line) and skips that many images.
 *
 * The journal does not grow with the survey: once its appended records pass `compactBytes`, the
 * next checkpoint rewrites it (to a temporary file, synced, then renamed over it) as the `start`
 * record, the count of resumes, the deploys that still have images to write, and that checkpoint.
 */
import { open, readFile, rename, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { PlannedImage } from '../model.js';

/** What the outputs held at a checkpoint, and what the run had done by then (across resumes). */
export interface Tally {
  annotated: number;
  failed: number;
  points: number;
  jobs: number;
  /** Seconds of running, the time between a crash and its resume left out. */
  seconds: number;
  failures: Record<string, number>;
}

export interface Checkpoint {
  images: number;
  csv: number;
  ndjson?: number;
  errors: number;
  tally?: Tally;
}

export type JournalRecord =
  | { t: 'start'; settings: Record<string, unknown> }
  | { t: 'sending'; images: PlannedImage[]; knownMax?: string }
  | { t: 'sent'; job: string; seqs: number[] }
  | { t: 'resumed'; times?: number }
  | { t: 'written'; at: Checkpoint };

/** A deploy the journal knows of: its images, and its job id once the server gave one. */
export interface JournalDeploy {
  images: PlannedImage[];
  knownMax?: string;
  job?: string;
}

/** What a journal says about an interrupted run. */
export interface JournalState {
  settings?: Record<string, unknown>;
  checkpoint?: Checkpoint;
  /** Jobs sent and not yet written in full, with their images. */
  jobs: Array<{ job: string; images: PlannedImage[] }>;
  /** Deploys whose job id was never recorded (the crash came between the POST and the record). */
  unconfirmed: Array<{ images: PlannedImage[]; knownMax?: string }>;
  /** Jobs recorded as sent after the last checkpoint: not in its tally yet. */
  sentSinceCheckpoint: number;
  /** How many times a run went on from this journal. */
  resumes: number;
}

const keyOf = (seqs: readonly number[]): string => seqs.join(',');
const seqsOf = (images: readonly PlannedImage[]): number[] => images.map((image) => image.seq ?? -1);
/** A deploy is done with once every one of its images is in the outputs. */
const hasUnwritten = (deploy: JournalDeploy, written: number): boolean => deploy.images.some((image) => (image.seq ?? 0) >= written);

/** The deploys of a journal's records, paired by their images' positions (deploys run in parallel). */
class Deploys {
  readonly byKey = new Map<string, JournalDeploy>();

  apply(record: JournalRecord): void {
    if (record.t === 'sending') this.byKey.set(keyOf(seqsOf(record.images)), { images: record.images, knownMax: record.knownMax });
    else if (record.t === 'sent') {
      const deploy = this.byKey.get(keyOf(record.seqs));
      if (deploy) deploy.job = record.job;
    } else if (record.t === 'written') {
      for (const [key, deploy] of this.byKey) if (!hasUnwritten(deploy, record.at.images)) this.byKey.delete(key);
    } else if (record.t === 'resumed') {
      // The run that goes on has settled every deploy whose id was lost: the one it found on the
      // server is recorded `sent` before this; the others never made a job, and their images are
      // sent again under new records. Kept, they would make two unconfirmed deploys after the next
      // crash, and then none could be told apart.
      for (const [key, deploy] of this.byKey) if (deploy.job === undefined) this.byKey.delete(key);
    }
  }
}

export async function readJournal(path: string): Promise<JournalState | undefined> {
  const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (text === undefined) return undefined;
  const state: JournalState = { jobs: [], unconfirmed: [], sentSinceCheckpoint: 0, resumes: 0 };
  const deploys = new Deploys();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let record: JournalRecord;
    try {
      record = JSON.parse(line) as JournalRecord;
    } catch {
      break; // the last line, cut by the crash: it was never acknowledged
    }
    if (record.t === 'start') state.settings = record.settings;
    else if (record.t === 'sent') state.sentSinceCheckpoint++;
    else if (record.t === 'resumed') state.resumes += record.times ?? 1;
    else if (record.t === 'written') {
      state.checkpoint = record.at;
      state.sentSinceCheckpoint = 0;
    }
    deploys.apply(record);
  }
  const written = state.checkpoint?.images ?? 0;
  for (const deploy of deploys.byKey.values()) {
    if (!hasUnwritten(deploy, written)) continue;
    if (deploy.job !== undefined) state.jobs.push({ job: deploy.job, images: deploy.images });
    else state.unconfirmed.push({ images: deploy.images, knownMax: deploy.knownMax });
  }
  return state;
}

export class Journal {
  private readonly deploys = new Deploys();
  private start?: JournalRecord;
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
   * open deploys it keeps for compactions.
   */
  static async open(path: string, previous?: JournalState, options: { compactBytes?: number } = {}): Promise<Journal> {
    const journal = new Journal(path, await open(path, previous ? 'a' : 'w'), options.compactBytes ?? 4 * 2 ** 20);
    if (previous?.settings) journal.start = { t: 'start', settings: previous.settings };
    journal.resumes = previous?.resumes ?? 0;
    for (const { job, images } of previous?.jobs ?? []) journal.deploys.byKey.set(keyOf(seqsOf(images)), { images, job });
    for (const { images, knownMax } of previous?.unconfirmed ?? []) journal.deploys.byKey.set(keyOf(seqsOf(images)), { images, knownMax });
    return journal;
  }

  /** Appends a record and waits until it is on disk; a checkpoint may first compact the journal. */
  record(record: JournalRecord): Promise<void> {
    const done = this.queue.then(async () => {
      if (record.t === 'start') this.start = record;
      if (record.t === 'resumed') this.resumes += record.times ?? 1;
      this.deploys.apply(record);
      if (record.t === 'written' && this.appended >= this.compactBytes) return this.compact(record);
      const line = Buffer.from(`${JSON.stringify(record)}\n`);
      await this.handle.appendFile(line);
      await this.handle.datasync();
      this.appended += line.length;
    });
    this.queue = done.catch(() => undefined);
    return done;
  }

  /** Rewrites the journal as what a resume needs: settings, open deploys, this checkpoint. */
  private async compact(checkpoint: JournalRecord): Promise<void> {
    const records: JournalRecord[] = this.start ? [this.start] : [];
    if (this.resumes > 0) records.push({ t: 'resumed', times: this.resumes });
    for (const deploy of this.deploys.byKey.values()) {
      records.push({ t: 'sending', images: deploy.images, ...(deploy.knownMax === undefined ? {} : { knownMax: deploy.knownMax }) });
      if (deploy.job !== undefined) records.push({ t: 'sent', job: deploy.job, seqs: seqsOf(deploy.images) });
    }
    records.push(checkpoint);
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
    const folder = await open(dirname(this.path), 'r');
    try {
      await folder.sync(); // the rename itself is on disk
    } finally {
      await folder.close();
    }
    this.handle = await open(this.path, 'a');
    this.appended = 0;
  }

  async close(): Promise<void> {
    await this.queue;
    await this.handle.close();
  }
}
