/**
 * A run as COCO keypoint annotations, for review in COCO Annotator or any COCO tool: one category
 * per label (`keypoints: ["point"]`), one annotation per point at x = column, y = row, v = 2, and
 * the scores beside it in a COCO results file (`[{image_id, category_id, keypoints, score}]`, every
 * classification of each point, best first).
 * Written from the run's NDJSON in three passes line by line (labels, images, points), so the
 * survey is never held.
 */
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { readResultLines } from '../results/resultLines.js';

export interface CocoOptions {
  /** The run's NDJSON (`--ndjson`). */
  input: string;
  /** The COCO file, e.g. `results.coco.json`. */
  out: string;
  /** The scores as COCO results. Default: `out` with `.results.json` for `.json`. */
  results?: string;
}

/** `results.coco.json` → `results.coco.results.json`. */
export const cocoResultsPath = (out: string): string => `${out.replace(/\.json$/i, '')}.results.json`;

async function put(stream: WriteStream, text: string): Promise<void> {
  if (!stream.write(text)) await once(stream, 'drain');
}

async function end(stream: WriteStream): Promise<void> {
  stream.end();
  await once(stream, 'finish');
}

/**
 * Writes the COCO file and the results file; resolves with what they hold.
 * @example await writeCoco({ input: 'results.ndjson', out: 'results.coco.json' })
 */
export async function writeCoco(options: CocoOptions): Promise<{ images: number; annotations: number; categories: number; results: string }> {
  // Pass 1: the labels, numbered as CoralNet numbers them.
  const categories = new Map<number, { code: string; name: string }>();
  for await (const image of readResultLines(options.input)) {
    for (const point of image.points) for (const c of point.classifications) if (!categories.has(c.label_id)) categories.set(c.label_id, { code: c.label_code, name: c.label_name });
  }
  const coco = createWriteStream(options.out);
  const resultsPath = options.results ?? cocoResultsPath(options.out);
  const results = createWriteStream(resultsPath);
  const header = {
    info: { description: `Machine annotations by a CoralNet classifier, from ${options.input}`, date_created: new Date().toISOString() },
    licenses: [],
    categories: [...categories]
      .sort(([a], [b]) => a - b)
      .map(([id, { code, name }]) => ({ id, name: code, supercategory: '', keypoints: ['point'], skeleton: [], label_name: name })),
  };
  await put(coco, `${JSON.stringify(header).slice(0, -1)},\n"images":[\n`);
  // Pass 2: the images, numbered from 1 in file order.
  let images = 0;
  for await (const image of readResultLines(options.input)) {
    images++;
    if (image.width === undefined || image.height === undefined) throw new Error(`${options.input}: ${image.name} has no width and height; give the --ndjson output of reefstream run.`);
    await put(coco, `${images > 1 ? ',\n' : ''}${JSON.stringify({ id: images, width: image.width, height: image.height, file_name: image.name, ...(image.url ? { coco_url: image.url } : {}) })}`);
  }
  await put(coco, '\n],\n"annotations":[\n');
  await put(results, '[\n');
  // Pass 3: one annotation per point (the machine's first choice), and its score.
  let annotations = 0;
  let imageId = 0;
  for await (const image of readResultLines(options.input)) {
    imageId++;
    for (const point of image.points) {
      const best = point.classifications[0];
      if (best === undefined) continue;
      annotations++;
      const keypoints = [point.column, point.row, 2];
      const separator = annotations > 1 ? ',\n' : '';
      await put(coco, `${separator}${JSON.stringify({ id: annotations, image_id: imageId, category_id: best.label_id, keypoints, num_keypoints: 1, iscrowd: 0, area: 1, bbox: [point.column, point.row, 1, 1], segmentation: [] })}`);
      // Every classification of the point, best first: a review tool can show the runners-up, and top-5 agreement needs them.
      const scored = point.classifications.map((c) => JSON.stringify({ image_id: imageId, category_id: c.label_id, keypoints, score: c.score }));
      await put(results, `${separator}${scored.join(',\n')}`);
    }
  }
  await put(coco, '\n]}\n');
  await put(results, '\n]\n');
  await Promise.all([end(coco), end(results)]);
  return { images, annotations, categories: categories.size, results: resultsPath };
}
