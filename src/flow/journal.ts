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
 * - `written` how many images of the source (in source order) are in the outputs, and the byte
 *             length of each output at that point. A resume cuts the outputs back to these lengths
 *             (a crash may leave part of a line) and skips that many images of the source.
 */
import { open, readFile, type FileHandle } from 'node:fs/promises';
import type { PlannedImage } from '../model.js';

export interface Checkpoint {
  images: number;
  csv: number;
  ndjson?: number;
  errors: number;
}

export type JournalRecord =
  | { t: 'start'; settings: Record<string, unknown> }
  | { t: 'sending'; images: PlannedImage[]; knownMax?: string }
  | { t: 'sent'; job: string; seqs: number[] }
  | { t: 'written'; at: Checkpoint };

/** What a journal says about an interrupted run. */
export interface JournalState {
  settings?: Record<string, unknown>;
  checkpoint?: Checkpoint;
  /** Jobs sent and not yet written in full, with their images. */
  jobs: Array<{ job: string; images: PlannedImage[] }>;
  /** Deploys whose job id was never recorded (the crash came between the POST and the record). */
  unconfirmed: Array<{ images: PlannedImage[]; knownMax?: string }>;
}

export async function readJournal(path: string): Promise<JournalState | undefined> {
  const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (text === undefined) return undefined;
  const state: JournalState = { jobs: [], unconfirmed: [] };
  // Deploys run in parallel: a `sent` record names its images' positions to find its `sending`.
  const pending = new Map<string, { images: PlannedImage[]; knownMax?: string }>();
  const keyOf = (seqs: number[]): string => seqs.join(',');
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let record: JournalRecord;
    try {
      record = JSON.parse(line) as JournalRecord;
    } catch {
      break; // the last line, cut by the crash: it was never acknowledged
    }
    if (record.t === 'start') state.settings = record.settings;
    else if (record.t === 'sending') pending.set(keyOf(record.images.map((image) => image.seq ?? -1)), { images: record.images, knownMax: record.knownMax });
    else if (record.t === 'sent') {
      const sending = pending.get(keyOf(record.seqs));
      if (sending) state.jobs.push({ job: record.job, images: sending.images });
      pending.delete(keyOf(record.seqs));
    } else if (record.t === 'written') state.checkpoint = record.at;
  }
  const written = state.checkpoint?.images ?? 0;
  // Jobs whose images are all written are done with.
  state.jobs = state.jobs.filter(({ images }) => images.some((image) => (image.seq ?? 0) >= written));
  state.unconfirmed = [...pending.values()].filter(({ images }) => images.some((image) => (image.seq ?? 0) >= written));
  return state;
}

export class Journal {
  private constructor(private readonly handle: FileHandle) {}

  static async open(path: string, fresh: boolean): Promise<Journal> {
    return new Journal(await open(path, fresh ? 'w' : 'a'));
  }

  /** Appends a record and waits until it is on disk. */
  async record(record: JournalRecord): Promise<void> {
    await this.handle.appendFile(`${JSON.stringify(record)}\n`);
    await this.handle.datasync();
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}
