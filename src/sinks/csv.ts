/** CoralNet's export CSV: rows formatted by fast-csv, written at the disk's pace. */
import { writeToString } from 'fast-csv';
import { OutputFile } from './lineFile.js';

const CSV_OPTIONS = { headers: false, includeEndRowDelimiter: true } as const;

export class CsvFile {
  private constructor(readonly file: OutputFile) {}

  /** Opens `path` and writes the header; with `resumeAt`, cuts back to that checkpoint and appends. */
  static async open(path: string, header: string[], resumeAt?: number): Promise<CsvFile> {
    const file = await OutputFile.open(path, resumeAt);
    if (resumeAt === undefined) await file.write(await writeToString([header], CSV_OPTIONS));
    return new CsvFile(file);
  }

  async write(rows: string[][]): Promise<void> {
    if (rows.length > 0) await this.file.write(await writeToString(rows, CSV_OPTIONS));
  }

  checkpoint(): Promise<number> {
    return this.file.checkpoint();
  }

  close(): Promise<void> {
    return this.file.close();
  }
}
