/**
 * CSV files written with fast-csv's formatter (fields quoted only when they need it, quotes
 * doubled), each image's rows at once, checkpointed like every output.
 */
import { writeToString } from 'fast-csv';
import { OutputFile } from './outputFile.js';

/**
 * Rows as CSV text, each line ended.
 * @example await csvText([['a,b', 'c']])  // '"a,b",c\n'
 */
export function csvText(rows: ReadonlyArray<readonly string[]>): Promise<string> {
  return writeToString(rows as string[][], { includeEndRowDelimiter: true });
}

export class CsvFile {
  private constructor(readonly file: OutputFile) {}

  /** Opens `path` and writes the header; with `resumeAt`, cuts back to that checkpoint and appends. */
  static async open(path: string, header: string[], resumeAt?: number): Promise<CsvFile> {
    const file = await OutputFile.open(path, resumeAt);
    if (resumeAt === undefined) await file.write(await csvText([header]));
    return new CsvFile(file);
  }

  async write(rows: ReadonlyArray<readonly string[]>): Promise<void> {
    if (rows.length > 0) await this.file.write(await csvText(rows));
  }

  checkpoint(): Promise<number> {
    return this.file.checkpoint();
  }

  close(): Promise<void> {
    return this.file.close();
  }
}
