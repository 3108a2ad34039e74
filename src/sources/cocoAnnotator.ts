/**
 * The images of a COCO Annotator dataset as a survey source. CoralNet downloads images by URL, and
 * COCO Annotator's image URLs need its login, so each image is downloaded (as uploaded, not
 * re-encoded) into a local folder as it is pulled, and published from there the same way a local
 * folder is (served on loopback for the simulator, or under `--url-prefix`).
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rename, stat, unlink } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { ImageRef } from '../model.js';
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
}

/**
 * A dataset's images in file-name order, each downloaded into `into` as it is pulled.
 * @example listImages(cocoAnnotatorImages({ url, username, password, dataset: 'Lagoon 2024', into: 'lagoon-images' }))
 */
export async function* cocoAnnotatorImages(options: CocoAnnotatorSourceOptions): AsyncGenerator<OrFailed<ImageRef>> {
  const annotator = options.annotator ?? (await CocoAnnotator.connect(options));
  const dataset = await annotator.dataset(options.dataset);
  const root = resolve(options.into);
  await mkdir(root, { recursive: true });
  for await (const image of annotator.images(dataset.id, options.pageSize)) {
    if (!isImageName(image.file_name)) continue;
    const path = resolve(root, image.file_name);
    const inside = relative(root, path);
    if (inside === '' || inside.startsWith('..') || isAbsolute(inside)) {
      yield failedBeforeSending({ name: image.file_name }, `Dataset ${options.dataset} has an image named ${image.file_name}, which would land outside ${options.into}: rename it in COCO Annotator.`);
      continue;
    }
    const ref: ImageRef = { name: inside.split(sep).join('/'), path, version: `coco:${image.id}` };
    try {
      if (!(await stat(path).catch(() => undefined))?.isFile()) await download(annotator, image.id, path);
    } catch (error) {
      yield failedBeforeSending(ref, (error as Error).message);
      continue;
    }
    yield ref;
  }
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
