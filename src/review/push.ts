/**
 * Machine points into COCO Annotator for people to review: the dataset (made if missing), the
 * images, one point category per label attached to the dataset, and the points imported in bulk.
 * Every step can be run again: images already there are not uploaded (nor downloaded), existing
 * categories are kept, the dataset's other categories are kept (attaching replaces its list, so the
 * whole list is sent), and COCO Annotator does not duplicate an identical imported annotation.
 */
import { openAsBlob } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { lastValueFrom, mergeMap } from 'rxjs';
import { fetch } from 'undici';
import { Credits, pull } from '../flow/credits.js';
import { labelColours } from '../report/palette.js';
import { writeCoco } from '../sinks/coco.js';
import { readResultLines, type ResultLine } from '../sinks/resultsFile.js';
import { CocoAnnotator, CocoAnnotatorError, type CocoAnnotatorLogin, type CocoTask } from './cocoAnnotator.js';

export interface PushOptions extends CocoAnnotatorLogin {
  /** The dataset to review in; made when there is none of that name. */
  dataset: string;
  /** The run's NDJSON (`--ndjson`): images, sizes and points. */
  results: string;
  /** A folder holding the images under their names; else each line's file, else its URL. */
  images?: string;
  /** Uploads at once. Default 4. */
  concurrency?: number;
  /** An annotator already logged in; the login above is then unused. */
  annotator?: CocoAnnotator;
  /** Told as images go up and as the import runs. */
  onProgress?: (progress: { step: 'upload' | 'import'; done: number; total?: number }) => void;
  /** Poll interval of the import task. Default 1000 ms. */
  pollMs?: number;
}

export interface PushSummary {
  dataset: string;
  datasetId: number;
  datasetCreated: boolean;
  images: number;
  uploaded: number;
  alreadyThere: number;
  categories: string[];
  categoriesCreated: number;
  annotations: number;
  task: CocoTask;
  /** The import task's log lines when it reported errors or warnings. */
  logs: string[];
}

const CONTENT_TYPES: Record<string, string> = { '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.mpo': 'image/jpeg', '.png': 'image/png', '.tif': 'image/tiff', '.tiff': 'image/tiff', '.webp': 'image/webp' };

/** The image's bytes: from `folder`, or its file when the run had one, else its URL. */
async function bytesOf(image: ResultLine, folder: string | undefined): Promise<Uint8Array> {
  const path = folder !== undefined ? join(folder, ...image.name.split('/')) : image.path;
  if (path !== undefined) {
    return readFile(path).catch((error: unknown) => {
      throw new CocoAnnotatorError(`${image.name}: cannot read ${path} (${(error as { code?: string }).code ?? (error as Error).message}) to upload it; give the folder of the survey's images with --images.`);
    });
  }
  if (image.url === undefined) throw new CocoAnnotatorError(`${image.name} has neither a file nor a URL in the results; give the --ndjson of reefstream run.`);
  const res = await fetch(image.url);
  if (!res.ok) {
    await res.body?.cancel();
    throw new CocoAnnotatorError(`${image.name}: ${new URL(image.url).host} answered ${res.status} for its URL, so it cannot be uploaded.`);
  }
  return new Uint8Array(await res.arrayBuffer());
}

/**
 * Pushes a run's machine points into a COCO Annotator dataset for review.
 * @example await pushForReview({ url: 'https://annotator.example.org/', username, password, dataset: 'Lagoon 2024', results: 'results.ndjson' })
 */
export async function pushForReview(options: PushOptions): Promise<PushSummary> {
  const annotator = options.annotator ?? (await CocoAnnotator.connect(options));
  const { dataset, created } = await annotator.datasetMade(options.dataset);

  // Images: those of that file name already in the dataset are neither fetched nor sent.
  const there = new Set<string>();
  if (!created) for await (const image of annotator.images(dataset.id)) there.add(image.file_name);
  const labels = new Set<string>();
  let images = 0;
  let uploaded = 0;
  let done = 0;
  // Lines are pulled against credits, so that no more than `concurrency` images are held at once.
  const concurrency = options.concurrency ?? 4;
  const credits = new Credits(concurrency);
  const uploads = pull(readResultLines(options.results), credits).pipe(
    mergeMap(async (image) => {
      images++;
      for (const point of image.points) {
        const best = point.classifications[0];
        if (best !== undefined) labels.add(best.label_code);
      }
      if (!there.has(image.name)) {
        there.add(image.name);
        const bytes = await bytesOf(image, options.images);
        if (await annotator.upload(dataset.id, image.name, bytes, CONTENT_TYPES[extname(image.name).toLowerCase()] ?? 'application/octet-stream')) uploaded++;
      }
      options.onProgress?.({ step: 'upload', done: ++done });
      credits.give();
    }, concurrency),
  );
  await lastValueFrom(uploads, { defaultValue: undefined });

  // Categories: ours made if missing, then the dataset's list set to what it had and ours.
  const codes = [...labels].sort((a, b) => a.localeCompare(b));
  const colours = labelColours(codes);
  let categoriesCreated = 0;
  for (const code of codes) if (await annotator.createCategory(code, colours.get(code)!)) categoriesCreated++;
  const had = (await annotator.datasetCategories(dataset.id)).map((c) => c.name);
  const known = new Set(had.map((name) => name.toLowerCase()));
  const missing = codes.filter((code) => !known.has(code.toLowerCase()));
  if (missing.length > 0) await annotator.setDatasetCategories(dataset.id, [...had, ...missing]);

  // Points: one COCO file, imported as a task and waited for.
  const folder = await mkdtemp(join(tmpdir(), 'reefstream-review-'));
  try {
    const cocoPath = join(folder, 'review.coco.json');
    const written = await writeCoco({ input: options.results, out: cocoPath, results: join(folder, 'review.coco.results.json') });
    const taskId = await annotator.importCoco(dataset.id, await openAsBlob(cocoPath, { type: 'application/json' }), `${options.dataset}.coco.json`);
    const { task, logs } = await annotator.taskDone(taskId, {
      intervalMs: options.pollMs,
      onProgress: (t) => options.onProgress?.({ step: 'import', done: t.progress, total: 100 }),
    });
    return {
      dataset: dataset.name,
      datasetId: dataset.id,
      datasetCreated: created,
      images,
      uploaded,
      alreadyThere: images - uploaded,
      categories: codes,
      categoriesCreated,
      annotations: written.annotations,
      task,
      logs,
    };
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}
