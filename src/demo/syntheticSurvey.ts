/**
 * Synthetic survey photos, painted in blocks of the simulator's label colours, so that the label
 * CoralNet's simulator gives each point can be known from the picture itself.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import sharp, { type Exif } from 'sharp';
import { seededRandom } from '../util/random.js';
import { DEFAULT_LABELSET, hexToRgb, type Label } from '../simulator/labelset.js';

export interface PaintedImage {
  /** File name inside the survey folder. */
  name: string;
  path: string;
  width: number;
  height: number;
  blockRows: number;
  blockColumns: number;
  /** Label code painted in each block, row-major. */
  blocks: string[];
}

/** The label painted under a pixel. */
export function paintedLabel(image: PaintedImage, row: number, column: number): string {
  const blockRow = Math.floor((row * image.blockRows) / image.height);
  const blockColumn = Math.floor((column * image.blockColumns) / image.width);
  return image.blocks[blockRow * image.blockColumns + blockColumn]!;
}

/** The centre pixel of each block: points where the painted label is unambiguous. */
export function blockCentres(image: PaintedImage): Array<{ row: number; column: number }> {
  const centres: Array<{ row: number; column: number }> = [];
  for (let r = 0; r < image.blockRows; r++) {
    for (let c = 0; c < image.blockColumns; c++) {
      centres.push({
        row: Math.floor(((r + 0.5) * image.height) / image.blockRows),
        column: Math.floor(((c + 0.5) * image.width) / image.blockColumns),
      });
    }
  }
  return centres;
}

export interface PaintOptions {
  width?: number;
  height?: number;
  blockRows?: number;
  blockColumns?: number;
  seed?: number | string;
  labelset?: readonly Label[];
  format?: 'jpeg' | 'png';
  /** EXIF written into a JPEG: DateTimeOriginal (`2024:03:05 10:11:12`) and GPS position. */
  exif?: { dateTimeOriginal?: string; latitude?: number; longitude?: number };
}

/** Degrees as EXIF's three rationals: `17/1 30/1 3600/100`. */
function exifDegrees(value: number): string {
  const abs = Math.abs(value);
  const degrees = Math.floor(abs);
  const minutes = Math.floor((abs - degrees) * 60);
  const seconds = Math.round(((abs - degrees) * 60 - minutes) * 60 * 10000);
  return `${degrees}/1 ${minutes}/1 ${seconds}/10000`;
}

function exifTags(exif: NonNullable<PaintOptions['exif']>): Exif {
  const tags: Exif = { IFD0: { Make: 'reefstream', Model: 'synthetic survey' } };
  if (exif.dateTimeOriginal) tags.IFD2 = { DateTimeOriginal: exif.dateTimeOriginal };
  if (exif.latitude !== undefined && exif.longitude !== undefined) {
    tags.IFD3 = {
      GPSLatitudeRef: exif.latitude < 0 ? 'S' : 'N',
      GPSLatitude: exifDegrees(exif.latitude),
      GPSLongitudeRef: exif.longitude < 0 ? 'W' : 'E',
      GPSLongitude: exifDegrees(exif.longitude),
    };
  }
  return tags;
}

/**
 * Paints one image of blocks in label colours and writes it to `path`.
 * @example await paintImage('/tmp/survey/IMG_0001.jpg', { seed: 1 })
 */
export async function paintImage(path: string, options: PaintOptions = {}): Promise<PaintedImage> {
  const width = options.width ?? 800;
  const height = options.height ?? 600;
  const blockRows = options.blockRows ?? 4;
  const blockColumns = options.blockColumns ?? 5;
  const labelset = options.labelset ?? DEFAULT_LABELSET;
  const rng = seededRandom(options.seed ?? path);
  const blocks = Array.from({ length: blockRows * blockColumns }, () => labelset[rng.int(0, labelset.length - 1)]!);
  const pixels = Buffer.alloc(width * height * 3);
  const rowBytes = width * 3;
  for (let blockRow = 0; blockRow < blockRows; blockRow++) {
    // Paint the first pixel row of this band of blocks, then copy it down the band.
    const top = Math.ceil((blockRow * height) / blockRows);
    const bottom = Math.ceil(((blockRow + 1) * height) / blockRows);
    for (let column = 0; column < width; column++) {
      const label = blocks[blockRow * blockColumns + Math.floor((column * blockColumns) / width)]!;
      pixels.set(hexToRgb(label.colour), top * rowBytes + column * 3);
    }
    for (let row = top + 1; row < bottom; row++) pixels.copy(pixels, row * rowBytes, top * rowBytes, (top + 1) * rowBytes);
  }
  const image = sharp(pixels, { raw: { width, height, channels: 3 } });
  const encoded = options.format === 'png' ? image.png() : image.jpeg({ quality: 92, chromaSubsampling: '4:4:4' });
  await (options.exif && options.format !== 'png' ? encoded.withExif(exifTags(options.exif)) : encoded).toFile(path);
  const name = path.split(/[\\/]/).pop()!;
  return { name, path, width, height, blockRows, blockColumns, blocks: blocks.map((label) => label.code) };
}

/** The EXIF of the `i`-th photo of a tow: one a second from 09:00:00, heading east along a winding reef edge. */
export function towExif(i: number): NonNullable<PaintOptions['exif']> {
  const seconds = i - 1;
  const time = `${String(9 + Math.floor(seconds / 3600)).padStart(2, '0')}:${String(Math.floor(seconds / 60) % 60).padStart(2, '0')}:${String(seconds % 60).padStart(2, '0')}`;
  return { dateTimeOriginal: `2024:03:05 ${time}`, latitude: -17.5 + 0.0004 * Math.sin(seconds / 40), longitude: 149.75 + seconds * 0.0001 };
}

/** Paints `count` images named `IMG_0001.jpg`… into `folder`, with a tow's EXIF when `tow` is set. */
export async function paintSurvey(folder: string, count: number, options: PaintOptions & { tow?: boolean } = {}): Promise<PaintedImage[]> {
  await mkdir(folder, { recursive: true });
  const images: PaintedImage[] = [];
  for (let i = 1; i <= count; i++) {
    const name = `IMG_${String(i).padStart(4, '0')}.${options.format === 'png' ? 'png' : 'jpg'}`;
    const exif = options.tow ? towExif(i) : options.exif;
    images.push(await paintImage(join(folder, name), { ...options, exif, seed: `${options.seed ?? 'survey'}-${i}` }));
  }
  return images;
}
