/**
 * Reads what point placement and the CSV need from an image without decoding its pixels: the
 * displayed size (EXIF orientation applied), EXIF DateTimeOriginal and GPS position.
 */
import { open } from 'node:fs/promises';
import exifr from 'exifr';
import sharp, { type Metadata } from 'sharp';
import { fetch } from 'undici';
import type { ImageRef, ProbedImage } from '../model.js';

/** Enough of a JPEG to hold its EXIF block and frame header in practice. */
const HEAD_BYTES = 64 * 1024;

export class ImageProbeError extends Error {
  override name = 'ImageProbeError';
}

async function readHead(image: ImageRef): Promise<{ head: Buffer; complete: boolean }> {
  if (image.path !== undefined) {
    const file = await open(image.path, 'r');
    try {
      const { size } = await file.stat();
      const head = Buffer.alloc(Math.min(size, HEAD_BYTES));
      await file.read(head, 0, head.length, 0);
      return { head, complete: size <= HEAD_BYTES };
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
 * The image with its displayed width and height, and EXIF date and position when present.
 * Throws {@link ImageProbeError} for files that are not images.
 * @example await probeImage({ name: 'IMG_0001.JPG', path: '/surveys/site1/IMG_0001.JPG' })
 */
export async function probeImage(image: ImageRef): Promise<ProbedImage> {
  const { head, complete } = await readHead(image);
  if (head.length === 0) throw new ImageProbeError('is an empty file');
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
  const turned = (meta.orientation ?? 1) >= 5;
  const probed: ProbedImage = { ...image, width: turned ? meta.height : meta.width, height: turned ? meta.width : meta.height };
  if (meta.exif) {
    try {
      // exifr reads the EXIF block from the file's first bytes (it does not take sharp's raw block).
      const tags = (await exifr.parse(head, { pick: ['DateTimeOriginal', 'GPSLatitude', 'GPSLongitude', 'GPSLatitudeRef', 'GPSLongitudeRef'], reviveValues: false })) as
        | { DateTimeOriginal?: string; latitude?: number; longitude?: number }
        | undefined;
      if (typeof tags?.DateTimeOriginal === 'string') probed.dateTimeOriginal = tags.DateTimeOriginal;
      if (Number.isFinite(tags?.latitude) && Number.isFinite(tags?.longitude)) {
        probed.latitude = tags!.latitude;
        probed.longitude = tags!.longitude;
      }
    } catch {
      // EXIF that cannot be read leaves the metadata columns empty; the image is still usable.
    }
  }
  return probed;
}
