/**
 * Reads what point placement and the CSV need from an image without decoding its pixels: the
 * displayed size (EXIF orientation applied), EXIF DateTimeOriginal and GPS position.
 */
import { close, open, read } from 'node:fs';
import { promisify } from 'node:util';
import exifr from 'exifr';
import { jpegHeader } from './jpegHeader.js';
import sharp, { type Metadata } from 'sharp';
import { fetch } from 'undici';
import type { ImageRef, ProbedImage } from '../model.js';

/** Enough of a JPEG to hold its EXIF block and frame header in practice. */
const HEAD_BYTES = 64 * 1024;

export class ImageProbeError extends Error {
  override name = 'ImageProbeError';
}

const openFile = promisify(open);
const readInto = promisify(read);
const closeFile = promisify(close);

async function readHead(image: ImageRef): Promise<{ head: Buffer; complete: boolean }> {
  if (image.path !== undefined) {
    // The callback API: FileHandle's bookkeeping costs more than the read itself at thousands of photos a second.
    const fd = await openFile(image.path, 'r');
    try {
      // One byte more than the head: a file that fits wholly is known to, without asking its size.
      const buffer = Buffer.allocUnsafe(HEAD_BYTES + 1);
      const { bytesRead } = await readInto(fd, buffer, 0, buffer.length, 0);
      return { head: buffer.subarray(0, Math.min(bytesRead, HEAD_BYTES)), complete: bytesRead <= HEAD_BYTES };
    } finally {
      await closeFile(fd);
    }
  }
  if (image.url === undefined) throw new ImageProbeError('has neither a file nor a URL');
  const res = await fetch(image.url, { headers: { range: `bytes=0-${HEAD_BYTES - 1}` } });
  if (res.status !== 200 && res.status !== 206) {
    await res.body?.cancel();
    throw new ImageProbeError(`could not be read (HTTP ${res.status})`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  const reader = res.body!.getReader();
  while (size < HEAD_BYTES) {
    const { done, value } = (await reader.read()) as { done: boolean; value?: Uint8Array };
    if (done || value === undefined) break;
    chunks.push(Buffer.from(value));
    size += value.length;
  }
  const complete = size < HEAD_BYTES;
  if (!complete) await reader.cancel();
  return { head: Buffer.concat(chunks).subarray(0, HEAD_BYTES), complete };
}

async function readWhole(image: ImageRef): Promise<Buffer | string> {
  if (image.path !== undefined) return image.path;
  const res = await fetch(image.url!);
  if (!res.ok) throw new ImageProbeError(`could not be read (HTTP ${res.status})`);
  return Buffer.from(await res.arrayBuffer());
}

/**
 * The image with its displayed width and height, and EXIF date and position when present.
 * Throws {@link ImageProbeError} for files that are not images.
 * @example await probeImage({ name: 'IMG_0001.JPG', path: '/surveys/site1/IMG_0001.JPG' })
 */
export async function probeImage(image: ImageRef): Promise<ProbedImage> {
  const { head, complete } = await readHead(image);
  if (head.length === 0) throw new ImageProbeError('is an empty file');
  const size: StoredSize = jpegHeader(head) ?? (await sharpSize(image, head, complete));
  const tags = size.hasExif ? await exifTags(head) : undefined;
  const orientation = tags?.Orientation ?? size.orientation ?? 1;
  const turned = orientation >= 5 && orientation <= 8;
  const probed: ProbedImage = { ...image, width: turned ? size.height : size.width, height: turned ? size.width : size.height };
  if (typeof tags?.DateTimeOriginal === 'string') probed.dateTimeOriginal = tags.DateTimeOriginal;
  if (Number.isFinite(tags?.latitude) && Number.isFinite(tags?.longitude)) {
    probed.latitude = tags!.latitude;
    probed.longitude = tags!.longitude;
  }
  return probed;
}

interface StoredSize {
  width: number;
  height: number;
  hasExif: boolean;
  orientation?: number;
}

/** Any format sharp reads: from the head, or from the whole image when the head is not enough. */
async function sharpSize(image: ImageRef, head: Buffer, complete: boolean): Promise<StoredSize> {
  let meta: Metadata;
  try {
    meta = await sharp(head).metadata();
  } catch {
    if (complete) throw new ImageProbeError('is not an image sharp can read');
    try {
      meta = await sharp(await readWhole(image)).metadata();
    } catch {
      throw new ImageProbeError('is not an image sharp can read');
    }
  }
  if (!meta.width || !meta.height) throw new ImageProbeError('has no width and height');
  return { width: meta.width, height: meta.height, hasExif: meta.exif !== undefined, orientation: meta.orientation };
}

/**
 * One options object for every call: exifr prepares its tag filters once per options object, and
 * that preparation costs ten times the reading. Values stay raw (Orientation a number, the date as written).
 */
const EXIF_OPTIONS = {
  pick: ['Orientation', 'DateTimeOriginal', 'GPSLatitude', 'GPSLongitude', 'GPSLatitudeRef', 'GPSLongitudeRef'],
  reviveValues: false,
  translateValues: false,
};

interface ExifTags {
  Orientation?: number;
  DateTimeOriginal?: string;
  latitude?: number;
  longitude?: number;
}

/** EXIF that cannot be read leaves the metadata columns empty; the image is still usable. */
async function exifTags(head: Buffer): Promise<ExifTags | undefined> {
  try {
    const tags = (await exifr.parse(head, EXIF_OPTIONS)) as ExifTags | undefined;
    if (tags !== undefined && typeof tags.Orientation !== 'number') delete tags.Orientation;
    return tags;
  } catch {
    return undefined;
  }
}
