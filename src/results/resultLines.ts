/** Reading back a run's NDJSON (`--ndjson`), one image at a time: for cover, the report, COCO and review. */
import { constants, createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Classification } from '../coralnet/schemas.js';

/** One line of a run's NDJSON, as far as readers of it need. */
export interface ResultLine {
  name: string;
  url?: string;
  /** The local file, when the run read one. */
  path?: string;
  /** Width and height as stored: rows and columns are on this grid. */
  width?: number;
  height?: number;
  /** The EXIF orientation tag (2–8) of a photo shown turned or mirrored. */
  orientation?: number;
  dateTimeOriginal?: string;
  latitude?: number;
  longitude?: number;
  aux?: Record<string, string>;
  points: Array<{ row: number; column: number; classifications: Classification[] }>;
}

/** Resolves when `file` can be read; else says which file and what to give. */
export async function checkResultsFile(file: string): Promise<void> {
  await access(file, constants.R_OK).catch((error: NodeJS.ErrnoException) => {
    throw new Error(`${file} cannot be read (${error.code ?? error.message}): give the --ndjson output of reefstream run.`, { cause: error });
  });
}

/** The images of a run's NDJSON in file order; a line that is not one names the file and line. */
export async function* readResultLines(file: string): AsyncGenerator<ResultLine> {
  await checkResultsFile(file);
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  let n = 0;
  for await (const line of lines) {
    n++;
    if (line.trim() === '') continue;
    let image: ResultLine;
    try {
      image = JSON.parse(line) as ResultLine;
    } catch {
      throw new Error(`${file}, line ${n}: not JSON; give the --ndjson output of reefstream run.`);
    }
    if (typeof image.name !== 'string' || !Array.isArray(image.points)) throw new Error(`${file}, line ${n}: no name and points; give the --ndjson output of reefstream run.`);
    yield image;
  }
}
