/**
 * A run's files: the CSV, the NDJSON, the errors file and the list of written images, opened anew or
 * cut back to the journal's checkpoint; checkpointed together (on disk first, then the journal says
 * so); and, at the end of a resumed run, the earlier lines of photos changed since removed.
 */
import { csvHeader } from '../operators/toRows.js';
import { CsvFile } from '../sinks/csv.js';
import { NdjsonFile } from '../sinks/outputFile.js';
import type { ImageOutcome } from '../model.js';
import type { Checkpoint, OutputLengths, Tally } from './journal.js';
import { placePruned, pruneFile } from './prune.js';
import { identityOf, WrittenImagesFile } from './writtenImages.js';

export interface OutputPaths {
  csv: string;
  ndjson?: string;
  errors: string;
  /** The list of written images beside the journal. */
  written: string;
}

/** What removing the earlier lines of changed photos took out of the outputs. */
export interface PrunedCounts {
  images: number;
  points: number;
  failed: number;
  lengths: OutputLengths;
}

export class SurveyOutputs {
  /** Identities of the images written since the last checkpoint. */
  private writtenSince = new Set<string>();

  private constructor(
    readonly paths: OutputPaths,
    readonly csv: CsvFile,
    readonly ndjson: NdjsonFile | undefined,
    readonly errors: NdjsonFile,
    private readonly written: WrittenImagesFile,
  ) {}

  /** Opens the outputs anew, or cut back to `at` (a resumed run's checkpoint). */
  static async open(paths: OutputPaths, options: { metadata: boolean; at?: Checkpoint }): Promise<SurveyOutputs> {
    const { at } = options;
    return new SurveyOutputs(
      paths,
      await CsvFile.open(paths.csv, csvHeader({ metadata: options.metadata }), at?.csv),
      paths.ndjson === undefined ? undefined : await NdjsonFile.open(paths.ndjson, at?.ndjson),
      await NdjsonFile.open(paths.errors, at?.errors),
      await WrittenImagesFile.open(paths.written, at?.written),
    );
  }

  /** The files whose lines are per image (what pruning rewrites). */
  get lineFiles(): string[] {
    return [this.paths.csv, ...(this.paths.ndjson === undefined ? [] : [this.paths.ndjson]), this.paths.errors];
  }

  /** Notes an outcome as written (after the sinks wrote it); returns how many are since the last checkpoint. */
  async noteWritten(outcome: ImageOutcome): Promise<number> {
    await this.written.add(outcome);
    this.writtenSince.add(identityOf(outcome));
    return this.writtenSince.size;
  }

  /** Every output on disk: the lengths to record, and the images written since the last checkpoint. */
  async checkpoint(tally: Tally): Promise<{ at: Checkpoint; keys: Set<string> }> {
    const at: Checkpoint = { csv: await this.csv.checkpoint(), errors: await this.errors.checkpoint(), ...(this.ndjson ? { ndjson: await this.ndjson.checkpoint() } : {}), written: await this.written.checkpoint(), tally };
    const keys = this.writtenSince;
    this.writtenSince = new Set();
    return { at, keys };
  }

  async close(): Promise<void> {
    await this.csv.close();
    await this.ndjson?.close();
    await this.errors.close();
    await this.written.close();
  }

  /**
   * Removes the lines written before `stale`'s lengths of each changed photo from every output,
   * each into a copy beside it; `record` is called with what the copies hold before they take the
   * outputs' place (a run stopped in between places them on resume).
   */
  async prune(stale: ReadonlyMap<string, OutputLengths>, record: (pruned: PrunedCounts) => Promise<void>): Promise<void> {
    const before = (output: keyof OutputLengths): Map<string, number> => new Map([...stale].map(([name, lengths]) => [name, lengths[output] ?? 0]));
    const rows = await pruneFile(this.paths.csv, 'csv', before('csv'));
    const failed = await pruneFile(this.paths.errors, 'ndjson', before('errors'));
    const lines = this.paths.ndjson === undefined ? undefined : await pruneFile(this.paths.ndjson, 'ndjson', before('ndjson'));
    await record({ images: rows.images, points: rows.records, failed: failed.records, lengths: { csv: rows.length, errors: failed.length, ...(lines === undefined ? {} : { ndjson: lines.length }) } });
    await placePruned(this.lineFiles);
  }
}
