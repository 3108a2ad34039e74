/**
 * Reads what point placement and the CSV need from an image without decoding its pixels: the
 * displayed size (EXIF orientation applied), EXIF DateTimeOriginal and GPS position. Local JPEGs
 * are read on the header reader's thread; URLs, other formats and files it could not read, here.
 */
import { close, open, read } from 'node:fs';
import { promisify } from 'node:util';
import { Credits } from '../flow/credits.js';
import { headerReader } from './headerReader.js';
import { HEAD_BYTES, jpegFields, photoFields, type PhotoFields, type StoredSize } from './photoFields.js';
import sharp, { type Metadata } from 'sharp';
import { fetch } from 'undici';
import type { ImageRef, ProbedImage } from '../model.js';
import { withFields } from '../util/objects.js';

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
  if (image.path !== undefined) return withFields(image, (await headerReader.fieldsOf(image.path)) ?? (await fieldsOf(image)));
  await urlReads.take();
  try {
    return withFields(image, await fieldsOf(image));
  } finally {
    urlReads.give();
  }
}

/** Range requests to image hosts at once, at most, however many images the probe reads at once. */
const urlReads = new Credits(8);

/** The fields read here: a URL, or a file the header reader left (not a JPEG, or not readable). */
async function fieldsOf(image: ImageRef): Promise<PhotoFields> {
  const { head, complete } = await readHead(image);
  if (head.length === 0) throw new ImageProbeError('is an empty file');
  return (await jpegFields(head)) ?? photoFields(await sharpSize(image, head, complete), head);
}

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
