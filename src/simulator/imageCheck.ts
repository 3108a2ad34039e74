/**
 * What the server does with one image of a job: download it by URL, open it, check its size and
 * points, and read the pixel under each point. Failures carry the server's own messages.
 */
import sharp, { type OutputInfo } from 'sharp';
import { Agent, fetch } from 'undici';
import type { PointList } from './jobs.js';
import { packRgb } from './labelset.js';

/** 8000 × 8000: larger images are refused. */
export const MAX_IMAGE_PIXELS = 64_000_000;

/** `pixels`: the colour under each point, packed `0xRRGGBB`. */
export type UnitOutcome = { ok: true; pixels: number[] } | { ok: false; error: string };

export interface ImageCheckOptions {
  downloadTimeoutMs: number;
  maxImagePixels: number;
}

/** A Python-like object address, so that messages look like the server's. */
function fakeAddress(text: string): string {
  let h = 0x7f3a00000000;
  for (let i = 0; i < text.length; i++) h = (h * 31 + text.charCodeAt(i)) % 0xffffffffff;
  return `0x7f${h.toString(16).padStart(10, '0')}`;
}

function downloadError(url: string, details: string): UnitOutcome {
  return { ok: false, error: `spacer.exceptions.URLDownloadError: Failed to download from the URL '${url}'. / Details - ${details}` };
}

/** How Python's urllib words the socket errors that Node names by code. */
const URLLIB_REASONS: Record<string, string> = {
  ECONNREFUSED: '[Errno 111] Connection refused',
  ECONNRESET: '[Errno 104] Connection reset by peer',
  ENOTFOUND: '[Errno -2] Name or service not known',
  EHOSTUNREACH: '[Errno 113] No route to host',
};

/** Downloads as urllib does with a time-out: `timeoutMs` to connect and for each wait for bytes, not in total. */
const downloaders = new Map<number, Agent>();
const downloader = (timeoutMs: number): Agent => {
  let agent = downloaders.get(timeoutMs);
  if (agent === undefined) downloaders.set(timeoutMs, (agent = new Agent({ connectTimeout: timeoutMs, headersTimeout: timeoutMs, bodyTimeout: timeoutMs })));
  return agent;
};

async function download(url: string, timeoutMs: number): Promise<Buffer | UnitOutcome> {
  // urllib takes only what names its scheme: a bare string is not a URL to it.
  if (!/^[a-z][a-z0-9+.-]*:/i.test(url)) return downloadError(url, `ValueError: unknown url type: '${url}'`);
  let res;
  try {
    res = await fetch(url, { dispatcher: downloader(timeoutMs), redirect: 'follow' });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const code = cause?.code ?? '';
    const timedOut = code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT';
    const reason = timedOut ? 'timed out' : (URLLIB_REASONS[code] ?? cause?.message ?? (error as Error).message);
    return downloadError(url, `URLError: <urlopen error ${reason}>`);
  }
  if (!res.ok) {
    await res.body?.cancel();
    return downloadError(url, `HTTPError: HTTP Error ${res.status}: ${res.statusText}`);
  }
  try {
    return Buffer.from(await res.arrayBuffer());
  } catch (error) {
    // The answer began and was cut: spacer words this one apart.
    const cause = (error as { cause?: { message?: string } }).cause?.message ?? (error as Error).message;
    return { ok: false, error: `spacer.exceptions.URLDownloadError: Couldn't read the full response from the URL '${url}'. / Details - IncompleteRead: ${cause}` };
  }
}

function pointOutside(url: string, points: PointList, width: number, height: number): UnitOutcome | undefined {
  for (let i = 0; i < points.length; i += 2) {
    const row = points[i]!;
    const column = points[i + 1]!;
    if (row > height - 1) return { ok: false, error: `spacer.exceptions.RowColumnInvalidError: ${url}: Row value ${row} falls outside this image's valid range of 0-${height - 1}.` };
    if (column > width - 1) return { ok: false, error: `spacer.exceptions.RowColumnInvalidError: ${url}: Column value ${column} falls outside this image's valid range of 0-${width - 1}.` };
  }
  return undefined;
}

/** FNV-1a of a URL: the seed of a fake image's pixels. */
function urlHash(url: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < url.length; i++) h = Math.imul(h ^ url.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * The colour of a fake image's pixel: the colour of label number
 * `(fnv1a(url) + 7919 × ⌊row / 50⌋ + 104729 × ⌊column / 50⌋) mod labelCount` (0-based, labelset order):
 * patches of 50 × 50 pixels, each of one label colour, different for every URL.
 */
export function fakePixel(url: string, row: number, column: number, colours: readonly (readonly [number, number, number])[]): readonly [number, number, number] {
  return colours[(urlHash(url) + 7919 * Math.floor(row / 50) + 104729 * Math.floor(column / 50)) % colours.length]!;
}

/**
 * An image that is not downloaded (`--fake-images WxH`): every URL is an image of that size
 * painted by {@link fakePixel}. For benchmarks of a million images.
 */
export function checkFakeImage(
  url: string,
  points: PointList,
  size: { width: number; height: number },
  colours: readonly (readonly [number, number, number])[],
): UnitOutcome {
  const outside = pointOutside(url, points, size.width, size.height);
  if (outside) return outside;
  const pixels = new Array<number>(points.length / 2);
  for (let i = 0; i < points.length; i += 2) pixels[i / 2] = packRgb(fakePixel(url, points[i]!, points[i + 1]!, colours));
  return { ok: true, pixels };
}

/**
 * Checks one image as the server does, and reads the pixel under each point from the grid as
 * stored: CoralNet does not apply EXIF orientation.
 */
export async function checkImage(
  url: string,
  points: PointList,
  options: ImageCheckOptions,
): Promise<UnitOutcome> {
  const data = await download(url, options.downloadTimeoutMs);
  if (!Buffer.isBuffer(data)) return data;
  let width: number, height: number;
  try {
    const meta = await sharp(data).metadata();
    if (!meta.width || !meta.height) throw new Error('no dimensions');
    width = meta.width;
    height = meta.height;
  } catch {
    return { ok: false, error: `PIL.UnidentifiedImageError: cannot identify image file <_io.BytesIO object at ${fakeAddress(url)}>` };
  }
  // Pillow refuses to open an image over twice its limit (the classifier's limit + 20,000).
  const bombLimit = 2 * (options.maxImagePixels + 20_000);
  if (width * height > bombLimit) {
    return { ok: false, error: `PIL.Image.DecompressionBombError: Image size (${width * height} pixels) exceeds limit of ${bombLimit} pixels, could be decompression bomb DOS attack.` };
  }
  if (width * height > options.maxImagePixels) {
    return {
      ok: false,
      error: `spacer.exceptions.DataLimitError: Image ${url} has ${width} x ${height} = ${width * height} total pixels, which is larger than the max allowed of ${options.maxImagePixels}.`,
    };
  }
  const outside = pointOutside(url, points, width, height);
  if (outside) return outside;
  let raw: { data: Buffer; info: OutputInfo };
  try {
    raw = await sharp(data).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  } catch {
    return { ok: false, error: `PIL.UnidentifiedImageError: cannot identify image file <_io.BytesIO object at ${fakeAddress(url)}>` };
  }
  const { channels } = raw.info;
  const pixels = new Array<number>(points.length / 2);
  for (let i = 0; i < points.length; i += 2) {
    const at = (points[i]! * raw.info.width + points[i + 1]!) * channels;
    const r = raw.data[at]!;
    pixels[i / 2] = channels >= 3 ? packRgb([r, raw.data[at + 1]!, raw.data[at + 2]!]) : packRgb([r, r, r]);
  }
  return { ok: true, pixels };
}
