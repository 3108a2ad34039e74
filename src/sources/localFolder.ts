/** The images of a local survey folder and its subfolders, listed as they are read (`fs.opendir`). */
import { opendir } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { ImageRef } from '../model.js';

/** Extensions CoralNet accepts (JPEG, PNG, MPO) and that sharp reads; compared case-insensitively. */
export const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.mpo', '.tif', '.tiff', '.webp']);

export const isImageName = (name: string): boolean => IMAGE_EXTENSIONS.has(extname(name).toLowerCase());

/**
 * Yields every image below `root`, depth first, names relative to `root` with `/`.
 * @example for await (const image of walkFolder('/surveys/lagoon')) console.log(image.name)
 */
export async function* walkFolder(root: string): AsyncGenerator<ImageRef> {
  // Each folder with its name relative to `root`: names are built by appending, not by
  // `path.relative`, which resolves both paths for every photo.
  const pending: Array<[folder: string, name: string]> = [[root, '']];
  while (pending.length > 0) {
    const [folder, folderName] = pending.pop()!;
    let dir;
    try {
      // Entries fetched 1,024 at a time rather than 32: a survey folder holds thousands of photos.
      dir = await opendir(folder, { bufferSize: 1024 });
    } catch (error) {
      const code = (error as { code?: string }).code;
      throw new Error(`Cannot read the folder ${folder} (${code ?? (error as Error).message}): check that it exists and that you may read it.`);
    }
    const prefix = folderName === '' ? '' : `${folderName}/`;
    const subfolders: Array<[string, string]> = [];
    for await (const entry of dir) {
      if (entry.name.startsWith('.')) continue;
      if (entry.isDirectory()) subfolders.push([join(folder, entry.name), prefix + entry.name]);
      else if (entry.isFile() && isImageName(entry.name)) yield { name: prefix + entry.name, path: join(folder, entry.name) };
    }
    pending.push(...subfolders.sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0)).reverse());
  }
}
