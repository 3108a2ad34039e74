import { stat } from 'node:fs/promises';
import { map, type Observable } from 'rxjs';
import { Credits, pull, ticketFor } from '../flow/credits.js';
import type { ImageRef } from '../model.js';
import type { OrFailed } from './failures.js';
import { walkFolder } from '../sources/localFolder.js';
import { readUrlList } from '../sources/urlList.js';

/**
 * Where a survey's images come from: a folder, a URL list file, or any (async) iterable of refs. A
 * source may give an image it could not list as a failed image (an unreadable subfolder, a photo in
 * a format CoralNet cannot read), which goes to the errors file.
 */
export type ImageSource = string | AsyncIterable<OrFailed<ImageRef>> | Iterable<OrFailed<ImageRef>>;

async function* fromPath(path: string): AsyncGenerator<OrFailed<ImageRef>> {
  let info;
  try {
    info = await stat(path);
  } catch {
    throw new Error(`The source ${path} does not exist: give a folder of images or a URL list file.`);
  }
  yield* info.isDirectory() ? walkFolder(path) : readUrlList(path);
}

/** The images of a source as an async iterable, without holding the list. */
export function imagesOf(source: ImageSource): AsyncIterable<OrFailed<ImageRef>> | Iterable<OrFailed<ImageRef>> {
  return typeof source === 'string' ? fromPath(source) : source;
}

/** Images in flight by default: the jobs CoralNet runs at once (5 × 100), as many ready to go, and 100 being written. */
export const DEFAULT_WINDOW = 1100;

export interface ListOptions {
  /** Images handed out and not yet written, at most. Default {@link DEFAULT_WINDOW}. */
  window?: number;
  /** A window shared with other code (`runSurvey` counts images in flight with it). */
  credits?: Credits;
}

/**
 * Lists a survey's images, one at a time as they are pulled, each against a credit of the window:
 * no more than `window` images are in flight until a sink (`writeCsv`, `writeNdjson`,
 * `writeErrors`) has written them or `skipImages` has dropped them, so memory stays flat however
 * long the survey. Each image carries the ticket of its credit.
 * @example
 * listImages('urls.csv').pipe(probe(), samplePoints({ method: 'stratified:5x6x1' }), chunk(100), annotate(client, { classifierId }), writeCsv('results.csv'));
 */
export function listImages(source: ImageSource, options: ListOptions = {}): Observable<OrFailed<ImageRef>> {
  const credits = options.credits ?? new Credits(options.window ?? DEFAULT_WINDOW);
  return pull(imagesOf(source), credits).pipe(map((image) => ({ ...image, ticket: ticketFor(credits) })));
}
