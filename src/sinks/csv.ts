/** CoralNet's export CSV, written with fast-csv at the disk's pace. */
import type { WriteStream } from 'node:fs';
import { format, type CsvFormatterStream } from 'fast-csv';
import { once } from 'node:events';
import { openFile, writeWithDrain } from './lineFile.js';

export class CsvFile {
  private constructor(
    private readonly formatter: CsvFormatterStream<string[], string[]>,
    private readonly file: WriteStream,
  ) {}

  /** Opens `path` and writes the header. */
  static async open(path: string, header: string[]): Promise<CsvFile> {
    const file = await openFile(path);
    const formatter = format<string[], string[]>({ headers: header, writeHeaders: true, alwaysWriteHeaders: true, includeEndRowDelimiter: true });
    formatter.pipe(file);
    return new CsvFile(formatter, file);
  }

  async write(rows: string[][]): Promise<void> {
    for (const row of rows) await writeWithDrain(this.formatter, row);
  }

  /** Ends the CSV; the formatter ends the file it is piped to. */
  async close(): Promise<void> {
    const finished = once(this.file, 'finish');
    this.formatter.end();
    await finished;
  }
}
