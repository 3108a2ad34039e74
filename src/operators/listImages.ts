import { stat } from 'node:fs/promises';
import type { Observable } from 'rxjs';
import { pull, type Credits } from '../flow/credits.js';
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

/**
 * Lists a survey's images, one at a time as they are pulled; with `credits`, only as many as the
 * credit window allows are in flight.
 * @example
 * listImages('/surveys/lagoon').subscribe((image) => console.log(image.name));
 * listImages('urls.csv', credits).pipe(probe(), samplePoints({ method: 'stratified:5x6x1' }));
 */
export function listImages(source: ImageSource, credits?: Credits): Observable<OrFailed<ImageRef>> {
  return pull(imagesOf(source), credits);
}
