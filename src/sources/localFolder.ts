/** The images of a local survey folder and its subfolders, listed as they are read (`fs.opendir`). */
import { opendir } from 'node:fs/promises';
import { extname, join, relative, sep } from 'node:path';
import type { ImageRef } from '../model.js';

/** Extensions CoralNet accepts (JPEG, PNG, MPO) and that sharp reads; compared case-insensitively. */
export const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.mpo', '.tif', '.tiff', '.webp']);

export const isImageName = (name: string): boolean => IMAGE_EXTENSIONS.has(extname(name).toLowerCase());

/**
 * Yields every image below `root`, depth first, names relative to `root` with `/`.
 * @example for await (const image of walkFolder('/surveys/lagoon')) console.log(image.name)
 */
export async function* walkFolder(root: string): AsyncGenerator<ImageRef> {
  const pending = [root];
  while (pending.length > 0) {
    const folder = pending.pop()!;
    let dir;
    try {
      // Entries fetched 1,024 at a time rather than 32: a survey folder holds thousands of photos.
      dir = await opendir(folder, { bufferSize: 1024 });
    } catch (error) {
      const code = (error as { code?: string }).code;
      throw new Error(`Cannot read the folder ${folder} (${code ?? (error as Error).message}): check that it exists and that you may read it.`);
    }
    const subfolders: string[] = [];
    for await (const entry of dir) {
      if (entry.name.startsWith('.')) continue;
      const path = join(folder, entry.name);
      if (entry.isDirectory()) subfolders.push(path);
      else if (entry.isFile() && isImageName(entry.name)) yield { name: relative(root, path).split(sep).join('/'), path };
    }
    pending.push(...subfolders.sort().reverse());
  }
}
