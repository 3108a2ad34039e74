/**
 * The images of a COCO Annotator dataset as a survey source. CoralNet downloads images by URL, and
 * COCO Annotator's image URLs need its login, so each image is downloaded (the stored file, with
 * `original`) into a local folder as it is pulled, and published from there the same way a local
 * folder is (served on loopback for the simulator, or under `--url-prefix`).
 *
 * Names: a file pushed by `review push` as `site1__IMG_1.JPG` is the survey's `site1/IMG_1.JPG`
 * again (`reviewNames.ts`). EXIF: the backend decodes and saves every upload again without its
 * EXIF, so a pushed image has no date, GPS or orientation of its own; with the NDJSON of the run
 * that was pushed (`pushedRun`), each image gets them back from its line there.
 */
import { createWriteStream } from 'node:fs';
import { access, mkdir, rename, stat, unlink } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { ImageRef, PhotoExif } from '../model.js';
import { readResultLines } from '../results/resultLines.js';
import { reviewFileName, surveyName } from '../review/reviewNames.js';
import { CocoAnnotator, CocoAnnotatorError, type CocoAnnotatorLogin } from '../review/cocoAnnotator.js';
import { failedBeforeSending, type OrFailed } from '../operators/failures.js';
import { isImageName } from './localFolder.js';

export interface CocoAnnotatorSourceOptions extends CocoAnnotatorLogin {
  /** The dataset's name. */
  dataset: string;
  /** Where the images are downloaded (and served from). Made if missing; files there already are not fetched again. */
  into: string;
  /** Images listed a page. Default 100. */
  pageSize?: number;
  /** An annotator already logged in; the login above is then unused. */
  annotator?: CocoAnnotator;
  /** The NDJSON of the run pushed into this dataset: names and EXIF (date, GPS, orientation) from there. */
  pushedRun?: string;
  /** Told how many images got their EXIF back from `pushedRun`, once the listing is done. */
  onRecovered?: (recovered: { images: number; fromRun: number }) => void;
}

interface PushedPhoto {
  name: string;
  exif: PhotoExif;
}

/** The pushed run's images by the file name they took in COCO Annotator. */
async function photosOfRun(ndjson: string): Promise<Map<string, PushedPhoto>> {
  const photos = new Map<string, PushedPhoto>();
  await access(ndjson).catch((error: NodeJS.ErrnoException) => {
    throw new CocoAnnotatorError(`--pushed-run ${ndjson} cannot be read (${error.code ?? error.message}): give the --ndjson of the run that was pushed into the dataset.`);
  });
  for await (const line of readResultLines(ndjson)) {
    const { orientation, dateTimeOriginal, latitude, longitude } = line;
    photos.set(reviewFileName(line.name), { name: line.name, exif: { orientation, dateTimeOriginal, latitude, longitude } });
  }
  return photos;
}

/**
 * A dataset's images in file-name order, each downloaded into `into` as it is pulled.
 * @example listImages(cocoAnnotatorImages({ url, username, password, dataset: 'Lagoon 2024', into: 'lagoon-images' }))
 */
export async function* cocoAnnotatorImages(options: CocoAnnotatorSourceOptions): AsyncGenerator<OrFailed<ImageRef>> {
  const pushed = options.pushedRun === undefined ? undefined : await photosOfRun(options.pushedRun);
  const annotator = options.annotator ?? (await CocoAnnotator.connect(options));
  const dataset = await annotator.dataset(options.dataset);
  const root = resolve(options.into);
  await mkdir(root, { recursive: true });
  const seen = new Map<string, number>();
  let images = 0;
  let fromRun = 0;
  for await (const image of annotator.images(dataset.id, options.pageSize)) {
    if (!isImageName(image.file_name)) continue;
    images++;
    const photo = pushed?.get(image.file_name);
    const name = photo?.name ?? surveyName(image.file_name);
    const path = resolve(root, ...name.split('/'));
    const inside = relative(root, path);
    if (inside === '' || inside.startsWith('..') || isAbsolute(inside)) {
      yield failedBeforeSending({ name }, `Dataset ${options.dataset} has an image named ${image.file_name}, which would land outside ${options.into}: rename it in COCO Annotator.`);
      continue;
    }
    const first = seen.get(name);
    if (first !== undefined) {
      yield failedBeforeSending({ name }, `Dataset ${options.dataset} has two images named ${image.file_name} (ids ${first} and ${image.id}), in different folders of the server: only the first is annotated; rename the other in COCO Annotator.`);
      continue;
    }
    seen.set(name, image.id);
    if (photo) fromRun++;
    const ref: ImageRef = { name: inside.split(sep).join('/'), path, version: `coco:${image.id}`, ...(photo ? { exif: photo.exif } : {}) };
    try {
      if (!(await stat(path).catch(() => undefined))?.isFile()) await download(annotator, image.id, path);
    } catch (error) {
      yield failedBeforeSending(ref, (error as Error).message);
      continue;
    }
    yield ref;
  }
  options.onRecovered?.({ images, fromRun });
}

/** To a temporary name first: a download cut by a crash never passes for a whole image. */
async function download(annotator: CocoAnnotator, imageId: number, path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const partial = join(dirname(path), `.${imageId}.partial`);
  const res = await annotator.original(imageId);
  try {
    await pipeline(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), createWriteStream(partial));
    await rename(partial, path);
  } catch (error) {
    await unlink(partial).catch(() => undefined);
    throw new CocoAnnotatorError(`Downloading image ${imageId} to ${path} failed (${(error as Error).message}); run the same command again to go on.`);
  }
}
