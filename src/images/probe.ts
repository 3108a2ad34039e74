/**
 * Reads what point placement and the CSV need from an image without decoding its pixels: the
 * stored size and EXIF orientation (sharp's `metadata()`), EXIF DateTimeOriginal and GPS position
 * (exifr), from the first 64 KB of the file, or of the URL by a Range request.
 */
import { open } from 'node:fs/promises';
import { Credits } from '../flow/credits.js';
import { HEAD_BYTES, photoFields, type StoredSize } from './photoFields.js';
import sharp, { type Metadata } from 'sharp';
import { fetch } from 'undici';
import type { ImageRef, ProbedImage } from '../model.js';

export class ImageProbeError extends Error {
  override name = 'ImageProbeError';
  readonly code = 'IMAGE_UNREADABLE';
}

/** The first {@link HEAD_BYTES} of the image, and whether that is all of it. */
async function readHead(image: ImageRef): Promise<{ head: Buffer; complete: boolean }> {
  if (image.path !== undefined) {
    const file = await open(image.path, 'r');
    try {
      // One byte more than the head: a file that fits wholly is known to, without asking its size.
      const buffer = Buffer.alloc(HEAD_BYTES + 1);
      const { bytesRead } = await file.read(buffer, 0, buffer.length, 0);
      return { head: buffer.subarray(0, Math.min(bytesRead, HEAD_BYTES)), complete: bytesRead <= HEAD_BYTES };
    } finally {
      await file.close();
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
 * The image with its stored width and height, and EXIF orientation, date and position when present.
 * Throws {@link ImageProbeError} for files that are not images.
 * @example await probeImage({ name: 'IMG_0001.JPG', path: '/surveys/site1/IMG_0001.JPG' })
 */
export async function probeImage(image: ImageRef): Promise<ProbedImage> {
  const fromUrl = image.path === undefined;
  if (fromUrl) await urlReads.take();
  try {
    const { head, complete } = await readHead(image);
    if (head.length === 0) throw new ImageProbeError('is an empty file');
    return { ...image, ...(await photoFields(await sharpSize(image, head, complete), head)) };
  } finally {
    if (fromUrl) urlReads.give();
  }
}

/** Range requests to image hosts at once, at most, however many images the probe reads at once. */
const urlReads = new Credits(8);

/** Any format sharp reads: from the head, or from the whole image when the head is not enough. */
async function sharpSize(image: ImageRef, head: Buffer, complete: boolean): Promise<StoredSize> {
  let meta: Metadata;
  try {
    meta = await sharp(head).metadata();
  } catch {
    if (complete) throw new ImageProbeError('is not an image that can be read (JPEG, PNG, TIFF or WebP): check the file, or convert it to JPEG');
    try {
      meta = await sharp(await readWhole(image)).metadata();
    } catch {
      throw new ImageProbeError('is not an image that can be read (JPEG, PNG, TIFF or WebP): check the file, or convert it to JPEG');
    }
  }
  if (!meta.width || !meta.height) throw new ImageProbeError('has no width and height');
  return { width: meta.width, height: meta.height, hasExif: meta.exif !== undefined, orientation: meta.orientation };
}
