import { createReadStream } from 'node:fs';
import { parse } from 'fast-csv';
import { map, type OperatorFunction } from 'rxjs';
import { areaBounds, parseArea, parsePointMethod, placePoints, WHOLE_IMAGE, type AnnotationArea, type PointMethod } from '../images/points.js';
import type { PlannedImage, Point, ProbedImage } from '../model.js';
import { seededRandom } from '../util/random.js';
import { failedBeforeSending, isFailed, type OrFailed } from './failures.js';

export interface SamplePointsOptions {
  /** `random:30`, `stratified:5x6x1`, `grid:10x10`, or the parsed method. */
  method: string | PointMethod;
  /** `15,85,15,85` (percent) or `px:…`, or the parsed area. Default: the whole image. */
  area?: string | AnnotationArea;
  /** Draws depend on the seed and the image name only, so a run can be repeated in any order. */
  seed?: number | string;
}

/**
 * Places CoralNet's points on each image: simple random, stratified random or uniform grid, inside
 * the annotation area, seeded. An image too small for the grid becomes a failed image.
 * @example probed$.pipe(samplePoints({ method: 'stratified:5x6x1', area: '15,85,15,85', seed: 1 }))
 */
export function samplePoints(options: SamplePointsOptions): OperatorFunction<OrFailed<ProbedImage>, OrFailed<PlannedImage>> {
  const method = typeof options.method === 'string' ? parsePointMethod(options.method) : options.method;
  const area = typeof options.area === 'string' ? parseArea(options.area) : (options.area ?? WHOLE_IMAGE);
  const seed = options.seed ?? 1;
  return map((image) => {
    if (isFailed(image)) return image;
    try {
      const points = placePoints(method, areaBounds(area, image.width, image.height), seededRandom(`${seed}:${image.name}`));
      return { ...image, points, attempts: 0 };
    } catch (error) {
      return failedBeforeSending(image, `${image.name} (${image.width} x ${image.height}): ${(error as Error).message}`);
    }
  });
}

/**
 * Points given per image in a CSV with columns `Name,Row,Column` (CoralNet's import format), read
 * whole: such files list the points of one survey, small beside the images.
 */
export async function readPointsCsv(file: string): Promise<Map<string, Point[]>> {
  const byName = new Map<string, Point[]>();
  let line = 1;
  const rows = createReadStream(file).pipe(parse({ headers: true, trim: true, ignoreEmpty: true }));
  for await (const row of rows as AsyncIterable<Record<string, string>>) {
    line++;
    const row_ = Number(row.Row);
    const column = Number(row.Column);
    if (!row.Name || !Number.isInteger(row_) || !Number.isInteger(column) || row_ < 0 || column < 0) {
      throw new Error(`${file}, line ${line}: needs Name, Row and Column, with Row and Column whole numbers ≥ 0.`);
    }
    const list = byName.get(row.Name) ?? [];
    list.push({ row: row_, column });
    byName.set(row.Name, list);
  }
  return byName;
}

/**
 * Uses the points given for each image (see {@link readPointsCsv}); an image without points, or
 * with a point outside it, becomes a failed image.
 * @example probed$.pipe(givenPoints(await readPointsCsv('points.csv')))
 */
export function givenPoints(points: Map<string, Point[]>): OperatorFunction<OrFailed<ProbedImage>, OrFailed<PlannedImage>> {
  return map((image) => {
    if (isFailed(image)) return image;
    const mine = points.get(image.name) ?? points.get(image.name.split('/').pop()!);
    if (!mine || mine.length === 0) return failedBeforeSending(image, `${image.name}: the points file has no points for this image.`);
    const outside = mine.find((p) => p.row >= image.height || p.column >= image.width);
    if (outside) return failedBeforeSending(image, `${image.name}: point (row ${outside.row}, column ${outside.column}) is outside the image (${image.width} x ${image.height}).`);
    return { ...image, points: mine, attempts: 0 };
  });
}
