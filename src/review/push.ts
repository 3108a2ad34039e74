/**
 * Machine points into COCO Annotator for people to review: the dataset (made if missing), the
 * images under flat file names (`site1/IMG_1.JPG` → `site1__IMG_1.JPG`), one point category per
 * label attached to the dataset, and the points imported in bulk as a task.
 *
 * A push never undoes a review. COCO Annotator's import matches a point by (image, category,
 * keypoints) — deleted ones included, which it brings back — so a point imported again after a
 * reviewer relabelled or deleted it comes back under the machine's label. So only points that the
 * push record (`pushRecord.ts`) does not list are imported; an image the dataset shows as annotated
 * that no record lists is left alone and counted. What the import task drops (its warnings and
 * errors) is not recorded, is reported, and is sent by the next push.
 *
 * Review where it matters: with `below`, only images with a point the machine scored under it go up
 * (with `points: 'below'`, only those points), and `sample` of the others, chosen by a seeded hash
 * of their names; the record says why each image went up.
 *
 * Memory: the results are read line by line (uploads against credits); the images of this push and
 * their points' positions are held until the import is done, to record what arrived.
 */
import { constants, openAsBlob } from 'node:fs';
import { createHash } from 'node:crypto';
import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, extname, join, resolve } from 'node:path';
import { lastValueFrom, mergeMap } from 'rxjs';
import { fetch } from 'undici';
import { Credits, pull } from '../flow/credits.js';
import { labelColours } from '../report/palette.js';
import { OutputFile } from '../sinks/outputFile.js';
import { readResultLines, type ResultLine } from '../results/resultLines.js';
import { CocoAnnotator, CocoAnnotatorError, type Category, type CocoAnnotatorLogin, type CocoTask, type DatasetImage, type TaskLogLine } from './cocoAnnotator.js';
import { appendPushRecord, pointKey, pushRecordPath, readPushRecord, type PushedImage } from './pushRecord.js';
import { reviewFileName } from './reviewNames.js';

export interface PushOptions extends CocoAnnotatorLogin {
  /** The dataset to review in; made when there is none of that name. */
  dataset: string;
  /** The run's NDJSON (`--ndjson`): images, sizes and points. */
  results: string;
  /** The record of what was pushed. Default: beside `results` (`results.pushed.ndjson`). */
  record?: string;
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
  /** Push only the images that have a point whose top score is under this (0–1), and `sample` of the others. */
  below?: number;
  /** How many of the other images to push too, so that accuracy above `below` keeps being measured: a random sample, the same for the same `seed`. */
  sample?: number;
  /** The sample's seed. Default `1`. */
  seed?: string;
  /** `below`: of an uncertain image, push only its points under `below` (a sampled image: all). Default `all`. */
  points?: 'all' | 'below';
}

/** Which images a push chose, when it chose (`below`). */
export interface PushSelection {
  below: number;
  /** Images with a point under `below`; images sampled from the others; images left out. */
  uncertain: number;
  sampled: number;
  leftOut: number;
  points: 'all' | 'below';
  seed?: string;
}

/** Points that did not arrive, and why, by the image's survey name. */
export interface PushLosses {
  points: number;
  images: number;
  reasons: Array<{ name: string; points: number; reason: string }>;
}

export interface PushSummary {
  dataset: string;
  datasetId: number;
  datasetCreated: boolean;
  /** Images in the results. */
  images: number;
  uploaded: number;
  alreadyThere: number;
  /** Images whose every point was pushed before: left as people reviewed them. */
  pushedBefore: number;
  /** Images the dataset shows as annotated that the record does not list: left as they are. */
  unrecorded: number;
  categories: string[];
  categoriesCreated: number;
  /** Points sent in this push's import. */
  annotations: number;
  /** The import task; none when there was nothing new to import. */
  task?: CocoTask;
  lost: PushLosses;
  record: string;
  selection?: PushSelection;
}

const CONTENT_TYPES: Record<string, string> = { '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.png': 'image/png', '.tif': 'image/tiff', '.tiff': 'image/tiff', '.webp': 'image/webp' };

/** A file name longer than this cannot be saved on the server's disk. */
const MAX_FILE_NAME_BYTES = 255;

/** The image's bytes: from `folder`, or its file when the run had one, else its URL. */
async function bytesOf(image: ResultLine, folder: string | undefined): Promise<Uint8Array> {
  const path = folder !== undefined ? join(folder, ...image.name.split('/')) : image.path;
  if (path !== undefined) {
    return readFile(path).catch((error: unknown) => {
      throw new CocoAnnotatorError(`cannot read ${path} (${(error as { code?: string }).code ?? (error as Error).message}) to upload it; give the folder of the survey's images with --images.`);
    });
  }
  if (image.url === undefined) throw new CocoAnnotatorError(`neither a file nor a URL in the results; give the --ndjson of reefstream run.`);
  const res = await fetch(image.url);
  if (!res.ok) {
    await res.body?.cancel();
    throw new CocoAnnotatorError(`${new URL(image.url).host} answered ${res.status} for its URL, so it cannot be uploaded.`);
  }
  return new Uint8Array(await res.arrayBuffer());
}

/**
 * Each label's category: one this user sees of that name in any case (the lowest id, as the
 * import's lookup finds it), else one made now. A name this user has in the undo tab stops the
 * push before anything is sent: points imported under a deleted category would not be seen.
 */
async function categoriesFor(annotator: CocoAnnotator, codes: string[], username: string): Promise<{ found: Map<string, Category>; created: number }> {
  const colours = labelColours(codes);
  let visible = await annotator.categories();
  const found = new Map<string, Category>();
  let created = 0;
  const live = (code: string) => visible.filter((c) => c.deleted !== true && c.name.toLowerCase() === code.toLowerCase()).sort((a, b) => a.id - b.id)[0];
  const undoTab = (code: string) => visible.find((c) => c.deleted === true && c.creator === username && c.name.toLowerCase() === code.toLowerCase());
  const refuse = (name: string) => new CocoAnnotatorError(`COCO Annotator has your category ${name} in its undo tab (deleted): restore it there, or delete it fully, then push again.`);
  for (const code of codes) {
    const deleted = undoTab(code);
    if (deleted) throw refuse(deleted.name);
    let category = live(code);
    if (!category) {
      category = await annotator.createCategory(code, colours.get(code)!);
      if (category) created++;
      else {
        visible = await annotator.categories(); // made meanwhile, or this user's and deleted
        category = live(code);
        if (!category) throw refuse(code);
      }
    }
    found.set(code, category);
  }
  return { found, created };
}

/** What the import task's warnings and errors say was dropped: by COCO image id, by annotation id, and what was not understood. */
function dropsOf(logs: TaskLogLine[], imageIdOf: Map<string, number>): { images: Map<number, string>; annotations: Map<number, string>; other: string[] } {
  const images = new Map<number, string>();
  const annotations = new Map<number, string>();
  const other: string[] = [];
  for (const { message } of logs) {
    let m: RegExpExecArray | null;
    if ((m = /^Could not find image assoicated with annotation (\d+)$/.exec(message) ?? /^Annotation (\d+) has no segmentation or keypoints$/.exec(message))) {
      annotations.set(Number(m[1]), message);
    } else if ((m = /^Could not find image (.*)$/.exec(message) ?? /^Too many images found with the same file name: (.*)$/.exec(message))) {
      const id = imageIdOf.get(m[1]!);
      if (id !== undefined) images.set(id, message);
      else other.push(message);
    } else if (!/category not found \(creating a new one\)$/.test(message)) {
      other.push(message);
    }
  }
  return { images, annotations, other };
}

const topScore = (point: ResultLine['points'][number]): number => point.classifications[0]?.score ?? 0;

/** Whether any point of the image has a top label scored under `below`. */
const isUncertain = (image: ResultLine, below: number): boolean => image.points.some((p) => p.classifications[0] !== undefined && topScore(p) < below);

/** An image's place in the seeded random order: the sample is the first `n` of the others in it, whatever the file's order. */
const sampleRank = (seed: string, name: string): number => createHash('sha256').update(`${seed}\n${name}`).digest().readUIntBE(0, 6);

/** The `n` names of lowest rank seen. */
class Sample {
  readonly #kept: Array<[number, string]> = [];
  constructor(private readonly n: number) {}
  offer(rank: number, name: string): void {
    const kept = this.#kept;
    if (this.n === 0 || (kept.length === this.n && rank >= kept.at(-1)![0])) return;
    let i = kept.length;
    while (i > 0 && kept[i - 1]![0] > rank) i--;
    kept.splice(i, 0, [rank, name]);
    if (kept.length > this.n) kept.pop();
  }
  names(): Set<string> {
    return new Set(this.#kept.map(([, name]) => name));
  }
}

/** One image of this push as the COCO file holds it: its id there, its first annotation's id and its points. */
interface Sent {
  name: string;
  file: string;
  imageId: number;
  firstAnnotation: number;
  points: Array<[number, number]>;
  why?: PushedImage['why'];
}

/**
 * Pushes a run's machine points into a COCO Annotator dataset for review; pushing again (the same
 * run, or a longer one) sends only what was never pushed, and never undoes a review.
 * @example await pushForReview({ url: 'https://annotator.example.org/', username, password, dataset: 'Lagoon 2024', results: 'results.ndjson' })
 */
export async function pushForReview(options: PushOptions): Promise<PushSummary> {
  const annotator = options.annotator ?? (await CocoAnnotator.connect(options));
  // The record must take what arrives: a record that cannot be written is found before anything is sent.
  const record = options.record ?? pushRecordPath(options.results);
  await access(dirname(resolve(record)), constants.W_OK).catch((error: NodeJS.ErrnoException) => {
    throw new CocoAnnotatorError(`The push record ${record} cannot be written (${error.code ?? error.message}): give a --record path in a folder you can write to.`);
  });

  // The labels first: a category problem stops the push before anything is sent. With `below`, the
  // sample of the other images is drawn on the way.
  const { below, seed = '1' } = options;
  const sample = new Sample(below === undefined ? 0 : (options.sample ?? 0));
  const labels = new Set<string>();
  for await (const image of readResultLines(options.results)) {
    for (const point of image.points) {
      const best = point.classifications[0];
      if (best !== undefined) labels.add(best.label_code);
    }
    if (below !== undefined && !isUncertain(image, below)) sample.offer(sampleRank(seed, image.name), image.name);
  }
  const sampled = sample.names();
  const selection: PushSelection | undefined = below === undefined ? undefined : { below, uncertain: 0, sampled: 0, leftOut: 0, points: options.points ?? 'all', ...(options.sample ? { seed } : {}) };
  /** Why an image goes up, or undefined when it does not. */
  const whyOf = (image: ResultLine): PushedImage['why'] | undefined => {
    if (selection === undefined) return 'all';
    if (isUncertain(image, selection.below)) return 'below';
    if (sampled.has(image.name)) return 'sample';
    return undefined;
  };
  const codes = [...labels].sort((a, b) => a.localeCompare(b));
  const { found, created: categoriesCreated } = await categoriesFor(annotator, codes, options.username);

  const { dataset, created } = await annotator.datasetMade(options.dataset);
  const there = new Map<string, DatasetImage>();
  const twice = new Set<string>();
  if (!created) {
    for await (const image of annotator.images(dataset.id)) {
      if (there.has(image.file_name)) twice.add(image.file_name);
      there.set(image.file_name, image);
    }
  }
  const had = await annotator.datasetCategories(dataset.id);
  const hadIds = new Set(had.map((c) => c.id));
  const missing = [...new Set([...found.values()].filter((c) => !hadIds.has(c.id)).map((c) => c.name))];
  if (missing.length > 0) await annotator.setDatasetCategories(dataset.id, [...had.map((c) => c.name), ...missing]);

  const server = annotator.url.origin;
  const pushed = await readPushRecord(record, server, dataset.id);

  const folder = await mkdtemp(join(tmpdir(), 'reefstream-review-'));
  try {
    const imagesPart = await OutputFile.open(join(folder, 'images.json'));
    const annotationsPart = await OutputFile.open(join(folder, 'annotations.json'));
    const sent: Sent[] = [];
    const reasons: PushLosses['reasons'] = [];
    let images = 0;
    let uploaded = 0;
    let alreadyThere = 0;
    let pushedBefore = 0;
    let unrecorded = 0;
    let annotations = 0;
    let done = 0;
    const categoryIds = new Map<string, number>();

    // One image: uploaded if the dataset lacks it, and its points never pushed before written into the COCO file.
    const pushImage = async (image: ResultLine): Promise<void> => {
      images++;
      const why = whyOf(image);
      if (selection !== undefined) {
        if (why === 'below') selection.uncertain++;
        else if (why === 'sample') selection.sampled++;
        else return void selection.leftOut++;
      }
      const file = reviewFileName(image.name);
      const before = pushed.get(image.name);
      const onlyBelow = why === 'below' && selection?.points === 'below';
      const fresh = image.points.filter((p) => p.classifications[0] !== undefined && !before?.has(pointKey(p.row, p.column)) && (!onlyBelow || topScore(p) < selection.below));
      const inDataset = there.get(file);
      if (inDataset) alreadyThere++;
      if (fresh.length === 0) {
        if (before) pushedBefore++;
        return;
      }
      if (before === undefined && inDataset !== undefined && (inDataset.annotated === true || (inDataset.num_annotations ?? 0) > 0)) {
        unrecorded++;
        return;
      }
      const lose = (reason: string): void => {
        reasons.push({ name: image.name, points: fresh.length, reason });
      };
      if (twice.has(file)) return lose(`two images of dataset ${dataset.name} are named ${file}; remove one in COCO Annotator`);
      if (image.width === undefined || image.height === undefined) return lose(`no width and height in ${options.results}; give the --ndjson of reefstream run`);
      if (inDataset === undefined) {
        if (Buffer.byteLength(file) > MAX_FILE_NAME_BYTES) return lose(`its file name ${file} is longer than ${MAX_FILE_NAME_BYTES} bytes, more than the server's disk allows; shorten the folder names`);
        try {
          const bytes = await bytesOf(image, options.images);
          if (!(await annotator.upload(dataset.id, file, bytes, CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream'))) {
            return lose(`a file named ${file} is in the dataset's folder but not among its images (deleted in COCO Annotator?); restore it or remove the file there`);
          }
          uploaded++;
        } catch (error) {
          return lose((error as Error).message);
        }
      }
      const imageId = sent.length + 1;
      const firstAnnotation = annotations + 1;
      const points: Array<[number, number]> = [];
      const lines = fresh.map((p) => {
        const best = p.classifications[0]!;
        categoryIds.set(best.label_code, best.label_id);
        annotations++;
        points.push([p.row, p.column]);
        return JSON.stringify({ id: annotations, image_id: imageId, category_id: best.label_id, keypoints: [p.column, p.row, 2], num_keypoints: 1, iscrowd: 0, area: 1, bbox: [p.column, p.row, 1, 1], segmentation: [] });
      });
      sent.push({ name: image.name, file, imageId, firstAnnotation, points, why });
      await Promise.all([
        imagesPart.write(`${imageId > 1 ? ',\n' : ''}${JSON.stringify({ id: imageId, width: image.width, height: image.height, file_name: file })}`),
        annotationsPart.write(`${firstAnnotation > 1 ? ',\n' : ''}${lines.join(',\n')}`),
      ]);
    };

    // Lines are pulled against credits, so that no more than `concurrency` images are held at once.
    const concurrency = options.concurrency ?? 4;
    const credits = new Credits(concurrency);
    const uploads = pull(readResultLines(options.results), credits).pipe(
      mergeMap(async (image) => {
        await pushImage(image);
        options.onProgress?.({ step: 'upload', done: ++done });
        credits.give();
      }, concurrency),
    );
    await lastValueFrom(uploads, { defaultValue: undefined });
    await imagesPart.close();
    await annotationsPart.close();

    let task: CocoTask | undefined;
    const arrived: PushedImage[] = [];
    if (annotations > 0) {
      const categories = [...categoryIds].map(([code, id]) => ({ id, name: found.get(code)!.name, supercategory: '', keypoints: ['point'], skeleton: [] }));
      const coco = new Blob([
        `{"info":${JSON.stringify({ description: `Machine annotations from ${options.results}` })},"licenses":[],"categories":${JSON.stringify(categories)},\n"images":[\n`,
        await openAsBlob(join(folder, 'images.json')),
        '\n],\n"annotations":[\n',
        await openAsBlob(join(folder, 'annotations.json')),
        '\n]}\n',
      ], { type: 'application/json' });
      const taskId = await annotator.importCoco(dataset.id, coco, `${options.dataset}.coco.json`);
      const result = await annotator.taskDone(taskId, {
        intervalMs: options.pollMs,
        onProgress: (t) => options.onProgress?.({ step: 'import', done: t.progress, total: 100 }),
      });
      task = result.task;
      const drops = dropsOf(result.logs, new Map(sent.map((s) => [s.file, s.imageId])));
      const at = new Date().toISOString();
      for (const s of sent) {
        const imageDrop = drops.images.get(s.imageId);
        if (imageDrop !== undefined) {
          reasons.push({ name: s.name, points: s.points.length, reason: imageDrop });
          continue;
        }
        const droppedAt = s.points.map((_, i) => drops.annotations.get(s.firstAnnotation + i));
        const kept = s.points.filter((_, i) => droppedAt[i] === undefined);
        const firstDrop = droppedAt.find((reason) => reason !== undefined);
        if (firstDrop !== undefined) reasons.push({ name: s.name, points: s.points.length - kept.length, reason: firstDrop });
        if (kept.length > 0) arrived.push({ server, dataset: dataset.id, name: s.name, file: s.file, points: kept, task: task.id, at, why: s.why, ...(selection ? { below: selection.below } : {}) });
      }
      // What the log says that is not understood may be a loss: said, and not hidden.
      for (const message of drops.other) reasons.push({ name: `task ${task.id}`, points: 0, reason: message });
      await appendPushRecord(record, arrived);
    }
    const lostPoints = reasons.reduce((n, r) => n + r.points, 0);
    return {
      dataset: dataset.name,
      datasetId: dataset.id,
      datasetCreated: created,
      images,
      uploaded,
      alreadyThere,
      pushedBefore,
      unrecorded,
      categories: codes,
      categoriesCreated,
      annotations,
      task,
      lost: { points: lostPoints, images: new Set(reasons.filter((r) => r.points > 0).map((r) => r.name)).size, reasons },
      record,
      ...(selection ? { selection } : {}),
    };
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}
