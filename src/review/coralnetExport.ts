/**
 * Reviewed points back to CoralNet: the annotation upload CSV of a CoralNet source (`Name,Row,
 * Column,Label code`; rows and columns 0-based on the stored grid, as CoralNet numbers them), so
 * that a team can upload the corrected points into the source its classifier was trained in.
 * Only points a person reviewed are written (a point a reviewer removed is not).
 *
 * CoralNet finds each image by its name in the source and replaces that image's points with the
 * uploaded ones; an image name it does not know is passed over. A `--name-map` gives the source's
 * names when the survey's differ.
 */
import { readFile } from 'node:fs/promises';
import { parseString } from 'fast-csv';
import { CsvFile } from '../sinks/csv.js';
import type { ReviewedImage } from './compare.js';

export interface CoralNetExportSummary {
  images: number;
  points: number;
  /** Reviewed images the name map does not list: not written. */
  unmapped: string[];
  /** Labels reviewers gave that the machine never gave as a first choice. */
  unknownLabels: string[];
  /** Names written with a folder (`site1/IMG_1.JPG`), which a CoralNet source, knowing images by their uploaded file names, does not have. */
  withFolders: number;
}

/**
 * A name map: a CSV whose first column is the survey's name of an image and whose second is its
 * name in the CoralNet source, after a header row.
 * @example const names = await readNameMap('names.csv'); names.get('site1/IMG_1.JPG') // 'IMG_1.JPG'
 */
export async function readNameMap(file: string): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  let line = 1;
  try {
    const rows = parseString(await readFile(file, 'utf8'), { headers: false, ignoreEmpty: true, trim: true, skipLines: 1 });
    for await (const row of rows as AsyncIterable<string[]>) {
      line++;
      const [survey, coralnet] = row;
      if (!survey || !coralnet) throw new Error(`line ${line} has no two names`);
      if (names.has(survey) && names.get(survey) !== coralnet) throw new Error(`line ${line} names ${survey} again, as ${coralnet}`);
      names.set(survey, coralnet);
    }
  } catch (error) {
    const why = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'it is not there' : (error as Error).message;
    throw new Error(`${file} cannot be read as a name map (${why}): give a CSV of two columns, the survey's image name and its name in the CoralNet source, after a header row.`, { cause: error });
  }
  return names;
}

/**
 * Writes the reviewed points as CoralNet's annotation upload CSV, images in the order given.
 * @example await writeCoralNetAnnotations(reviewed.values(), 'annotations.csv', { names })
 */
export async function writeCoralNetAnnotations(
  reviewed: Iterable<ReviewedImage>,
  out: string,
  options: { names?: Map<string, string>; machineLabels?: string[] } = {},
): Promise<CoralNetExportSummary> {
  const summary: CoralNetExportSummary = { images: 0, points: 0, unmapped: [], unknownLabels: [], withFolders: 0 };
  const known = options.machineLabels === undefined ? undefined : new Set(options.machineLabels);
  const unknown = new Set<string>();
  const csv = await CsvFile.open(out, ['Name', 'Row', 'Column', 'Label code']);
  try {
    for (const image of reviewed) {
      if (image.points.length === 0) continue;
      const name = options.names === undefined ? image.name : options.names.get(image.name);
      if (name === undefined) {
        summary.unmapped.push(image.name);
        continue;
      }
      summary.images++;
      summary.points += image.points.length;
      if (name.includes('/')) summary.withFolders++;
      for (const p of image.points) if (known !== undefined && !known.has(p.label)) unknown.add(p.label);
      await csv.write(image.points.map((p) => [name, String(p.row), String(p.column), p.label]));
    }
  } finally {
    await csv.close();
  }
  summary.unknownLabels = [...unknown].sort((a, b) => a.localeCompare(b));
  return summary;
}
