/**
 * The images of a local survey folder and its subfolders, each folder's files in name order, then
 * its subfolders in name order. Links are followed (a folder reached twice is listed once); what
 * cannot be read, and photos in formats CoralNet cannot take, come as failed images with the reason.
 */
import { opendir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { FailedImage, ImageRef } from '../model.js';
import { failedBeforeSending, type OrFailed } from '../operators/failures.js';

/** Extensions CoralNet accepts (JPEG, PNG, MPO) and that sharp reads; compared case-insensitively. */
export const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.mpo', '.tif', '.tiff', '.webp']);

/** Photo formats that CoralNet's image library cannot open: phones' HEIF and cameras' raw files. */
export const CONVERT_EXTENSIONS = new Set(['.heic', '.heif', '.dng', '.cr2', '.cr3', '.crw', '.nef', '.nrw', '.arw', '.srf', '.sr2', '.orf', '.rw2', '.raf', '.raw', '.pef', '.srw', '.x3f', '.3fr', '.erf', '.kdc', '.mrw', '.gpr', '.iiq', '.rwl']);

export const isImageName = (name: string): boolean => IMAGE_EXTENSIONS.has(extname(name).toLowerCase());

/** A photo that CoralNet cannot take as it is. */
export const needsConverting = (name: string): boolean => CONVERT_EXTENSIONS.has(extname(name).toLowerCase());

const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

const codeOf = (error: unknown): string => (error as { code?: string }).code ?? (error as Error).message;

/** The version of a file that a resume compares: its size and modification time. */
export const fileVersion = (info: { size: number; mtimeMs: number }): string => `${info.size}:${Math.round(info.mtimeMs)}`;

function failedEntry(name: string, path: string, reason: string): FailedImage {
  return failedBeforeSending({ name, path }, reason);
}

/**
 * Yields every image below `root`, names relative to `root` with `/`. A missing or unreadable
 * `root` throws; anything below it that cannot be read is a failed image, and the walk goes on.
 * Each photo's version (size and time) is read unless `versions` is false (a count needs none).
 * @example for await (const image of walkFolder('/surveys/lagoon')) console.log(image.name)
 */
export async function* walkFolder(root: string, options: { versions?: boolean } = {}): AsyncGenerator<OrFailed<ImageRef>> {
  const rootInfo = await stat(root).catch((error: unknown) => {
    throw new Error(`Cannot read the folder ${root} (${codeOf(error)}): check that it exists and that you may read it.`);
  });
  // Folders by device and inode: one reached again through a link is not listed twice (nor forever).
  const listed = new Map<string, string>([[`${rootInfo.dev}:${rootInfo.ino}`, '.']]);
  const pending: Array<[folder: string, name: string]> = [[root, '']];
  while (pending.length > 0) {
    const [folder, folderName] = pending.pop()!;
    const entries: Array<{ name: string; link: boolean; directory: boolean }> = [];
    try {
      // Entries fetched 1,024 at a time rather than 32: a survey folder holds thousands of photos.
      for await (const entry of await opendir(folder, { bufferSize: 1024 })) {
        if (!entry.name.startsWith('.')) entries.push({ name: entry.name, link: entry.isSymbolicLink(), directory: entry.isDirectory() });
      }
    } catch (error) {
      if (folderName === '') throw new Error(`Cannot read the folder ${folder} (${codeOf(error)}): check that it exists and that you may read it.`);
      yield failedEntry(`${folderName}/`, folder, `The folder ${folder} could not be read (${codeOf(error)}): its photos are not in this run. Make it readable and run the same command again.`);
      continue;
    }
    entries.sort((a, b) => byName(a.name, b.name));
    const prefix = folderName === '' ? '' : `${folderName}/`;
    const subfolders: Array<[string, string]> = [];
    for (const entry of entries) {
      const path = join(folder, entry.name);
      const name = prefix + entry.name;
      if (entry.directory || entry.link) {
        let info;
        try {
          info = await stat(path);
        } catch (error) {
          if (entry.link && (isImageName(entry.name) || needsConverting(entry.name))) yield failedEntry(name, path, `${path} is a link to nothing (${codeOf(error)}): point it at the photo, or remove it.`);
          else if (entry.directory) yield failedEntry(`${name}/`, path, `The folder ${path} could not be read (${codeOf(error)}).`);
          continue;
        }
        if (info.isDirectory()) {
          const key = `${info.dev}:${info.ino}`;
          const first = listed.get(key);
          if (first !== undefined) {
            yield failedEntry(`${name}/`, path, `${path} leads to a folder already listed (${first === '.' ? 'the survey folder itself' : first}): its photos are listed once, under that name.`);
            continue;
          }
          listed.set(key, name);
          subfolders.push([path, name]);
          continue;
        }
        if (!info.isFile()) continue;
      }
      if (needsConverting(entry.name)) {
        yield failedEntry(name, path, `${path} is a ${extname(entry.name).slice(1).toUpperCase()} file, which CoralNet cannot read: convert it to JPEG and add it to the folder.`);
        continue;
      }
      if (!isImageName(entry.name)) continue;
      if (options.versions === false) {
        yield { name, path };
        continue;
      }
      let info;
      try {
        info = await stat(path);
      } catch (error) {
        yield failedEntry(name, path, `${path} could not be read (${codeOf(error)}): it was removed or moved while the run listed the folder.`);
        continue;
      }
      yield { name, path, version: fileVersion(info) };
    }
    pending.push(...subfolders.reverse());
  }
}
