/**
 * Local images must be reachable by CoralNet, which downloads each by URL: served on loopback for a
 * server on this machine (the simulator), or published by the user under a public URL prefix.
 */
import { stat } from 'node:fs/promises';
import { map, type OperatorFunction } from 'rxjs';
import type { ImageRef } from '../model.js';
import { isFailed, type OrFailed } from '../operators/failures.js';
import type { ImageSource } from '../operators/listImages.js';
import { serveFolder, type ServedFolder } from '../sources/folderServer.js';
import { isLoopbackHost } from '../util/loopback.js';

/** Where a run's local images are, and how each gets its URL (`served` is set once the folder is served). */
export interface Publishing {
  folder?: string;
  urlOf?: (image: ImageRef) => string;
  served?: ServedFolder;
}

/** The folder of a run's local images (a folder source, or where a source downloads to), and how their URLs are made. */
export async function publishing(source: ImageSource, options: { imagesFolder?: string; urlPrefix?: string; apiUrl: URL }): Promise<Publishing> {
  const folder = options.imagesFolder ?? (typeof source === 'string' && (await stat(source).catch(() => undefined))?.isDirectory() ? source : undefined);
  if (options.urlPrefix !== undefined) {
    const prefix = options.urlPrefix.endsWith('/') ? options.urlPrefix : `${options.urlPrefix}/`;
    return { folder, urlOf: (image) => prefix + image.name.split('/').map(encodeURIComponent).join('/') };
  }
  if (folder === undefined) return {};
  if (!isLoopbackHost(options.apiUrl.hostname)) {
    throw new Error(
      `CoralNet downloads each image by URL, so the images in ${folder} must be published first: put the folder where the web can read it (a public Dropbox or S3 folder, a web server) and give its URL with --url-prefix (image names are appended to it), or give a URL list as --source.`,
    );
  }
  const publishing: Publishing = { folder };
  publishing.urlOf = (image) => publishing.served!.urlOf(image.name);
  return publishing;
}

/** Gives each local image a URL CoralNet can download. */
export function publish<T extends OrFailed<ImageRef>>(urlOf: ((image: ImageRef) => string) | undefined): OperatorFunction<T, T> {
  return map((image) => (isFailed(image) || image.url !== undefined || urlOf === undefined ? image : { ...image, url: urlOf(image) }));
}

/** Where a local folder is served for a server on this machine: at the address of the run before, when it is free. */
export async function serveAgain(folder: string, previous: string | undefined, log: (line: string) => void): Promise<ServedFolder> {
  const port = previous === undefined ? undefined : Number(new URL(previous).port);
  if (port !== undefined) {
    try {
      return await serveFolder(folder, { port });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
      log(`${previous} is taken by another program: the folder is served at a new address, so images of jobs in flight are downloaded from there when sent again`);
    }
  }
  return serveFolder(folder);
}
