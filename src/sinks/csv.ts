/**
 * CoralNet's export CSV, written at the disk's pace. Fields are quoted as fast-csv quotes them
 * (only when they hold a comma, a quote or a line break; quotes doubled), formatted here in one
 * pass: a survey writes tens of millions of rows.
 */
import { OutputFile } from './lineFile.js';

const NEEDS_QUOTES = /[",\r\n]/;

/** One field as it stands in a line: quoted when it holds a comma, a quote or a line break. */
export const csvField = (field: string): string => (NEEDS_QUOTES.test(field) ? `"${field.replaceAll('"', '""')}"` : field);

/** One CSV line, with its line break. */
export function csvLine(fields: readonly string[]): string {
  let line = '';
  for (let i = 0; i < fields.length; i++) {
    if (i > 0) line += ',';
    line += csvField(fields[i]!);
  }
  return `${line}\n`;
}

export class CsvFile {
  private constructor(readonly file: OutputFile) {}

  /** Opens `path` and writes the header; with `resumeAt`, cuts back to that checkpoint and appends. */
  static async open(path: string, header: string[], resumeAt?: number): Promise<CsvFile> {
    const file = await OutputFile.open(path, resumeAt);
    if (resumeAt === undefined) await file.write(csvLine(header));
    return new CsvFile(file);
  }

  async write(rows: string[][]): Promise<void> {
    if (rows.length > 0) await this.file.write(rows.map(csvLine).join(''));
  }

  /** Lines already formatted, each with its line break (see `writeCsvLines`). */
  async writeBytes(lines: Uint8Array): Promise<void> {
    if (lines.length > 0) await this.file.write(lines);
  }

  checkpoint(): Promise<number> {
    return this.file.checkpoint();
  }

  close(): Promise<void> {
    return this.file.close();
  }
}
