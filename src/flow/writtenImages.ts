/**
 * Which images of a survey are in its outputs, kept beside the journal
 * (`results.journal.written`): one line an image written, its name's and its version's fingerprints.
 * A resume reads it back to skip what is written, whatever the source's order or changes since:
 * photos added, removed, renamed or modified between a crash and the resume.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { ImageRef } from '../model.js';
import { fingerprint, fingerprintHex, FingerprintMap, fromHex } from '../util/fingerprints.js';
import { OutputFile } from '../sinks/outputFile.js';

/** What tells one content of a photo from another under its name: its version, else its URL. */
export const versionOf = (image: ImageRef): string => image.version ?? image.url ?? '';

/** An image as the journal knows it: its name and its version. */
export const identityOf = (image: ImageRef): string => `${image.name}\0${versionOf(image)}`;

/** The written-images file next to the CSV: `results.csv` → `results.journal.written`. */
export const writtenImagesPath = (out: string): string => `${out.replace(/\.csv$/i, '')}.journal.written`;

/** The file the writer appends each written image to. */
export class WrittenImagesFile {
  private constructor(private readonly file: OutputFile) {}

  /** Opens the file anew, or cut back to a checkpoint's length. */
  static async open(path: string, resumeAt?: number): Promise<WrittenImagesFile> {
    return new WrittenImagesFile(await OutputFile.open(path, resumeAt));
  }

  add(image: ImageRef): Promise<void> {
    return this.file.write(`${fingerprintHex(image.name)} ${fingerprintHex(versionOf(image))}\n`);
  }

  checkpoint(): Promise<number> {
    return this.file.checkpoint();
  }

  close(): Promise<void> {
    return this.file.close();
  }
}

export type Written = 'new' | 'written' | 'changed';

/**
 * The images an interrupted run wrote, read back: each name with its version's fingerprint (24 MB
 * for a million images). Checking an image of the source marks its name as still there.
 */
export class WrittenImages {
  private constructor(private readonly versions: FingerprintMap) {}

  static empty(): WrittenImages {
    return new WrittenImages(new FingerprintMap());
  }

  /** The first `length` bytes of the file (what a checkpoint says is on disk). */
  static async read(path: string, length: number): Promise<WrittenImages> {
    const versions = new FingerprintMap();
    if (length > 0) {
      for await (const line of createInterface({ input: createReadStream(path, { start: 0, end: length - 1 }), crlfDelay: Infinity })) {
        const [name, version] = line.split(' ');
        if (name === undefined || version === undefined || version.length !== 16) continue;
        versions.set(fromHex(name), fromHex(version)[1]);
      }
    }
    return new WrittenImages(versions);
  }

  /** Names written. */
  get size(): number {
    return this.versions.size;
  }

  /** Whether the image is new, written as it is, or written and changed since; marks its name as seen. */
  check(image: ImageRef): Written {
    const key = fingerprint(image.name);
    const kept = this.versions.get(key);
    if (kept === undefined) return 'new';
    // A version's fingerprint has bit 0 set: cleared, it marks the name as seen in this listing.
    this.versions.set(key, (kept & ~1) >>> 0);
    return (kept | 1) >>> 0 === fingerprint(versionOf(image))[1] ? 'written' : 'changed';
  }

  /** Whether the image is written as it is, without marking it. */
  has(image: ImageRef): boolean {
    const kept = this.versions.get(image.name);
    return kept !== undefined && (kept | 1) >>> 0 === fingerprint(versionOf(image))[1];
  }

  /** Names written that no checked image had: photos gone from the source since. */
  unseen(): number {
    let n = 0;
    for (const value of this.versions.numbers()) if ((value & 1) === 1) n++;
    return n;
  }
}
