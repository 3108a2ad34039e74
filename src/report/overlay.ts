/**
 * An image with its machine points drawn on it: a ring at each point and the label code beside it,
 * in the label's display colour, sized to the image, so that a person can check the machine by eye.
 */
import sharp from 'sharp';
import { escapeXml } from './palette.js';

export interface LabelledPoint {
  row: number;
  column: number;
  label: string;
}

/** Ring radius and line width for an image: they grow with its shorter side. */
export function ringSize(width: number, height: number): { radius: number; stroke: number; font: number } {
  const radius = Math.max(6, Math.round(Math.min(width, height) / 60));
  return { radius, stroke: Math.max(2, Math.round(radius / 4)), font: Math.round(radius * 1.4) };
}

/** The SVG layer of rings and codes for an image of `width` × `height`. */
export function pointsLayer(width: number, height: number, points: readonly LabelledPoint[], colours: ReadonlyMap<string, string>): string {
  const { radius, stroke, font } = ringSize(width, height);
  const marks = points.map(({ row, column, label }) => {
    const colour = colours.get(label) ?? '#ffffff';
    return (
      `<circle cx="${column}" cy="${row}" r="${radius}" fill="none" stroke="#000" stroke-width="${stroke + 2}"/>` +
      `<circle cx="${column}" cy="${row}" r="${radius}" fill="none" stroke="${colour}" stroke-width="${stroke}"/>` +
      `<text x="${column + radius + stroke}" y="${row + font / 3}" font-family="sans-serif" font-weight="bold" font-size="${font}" fill="${colour}" stroke="#000" stroke-width="${Math.max(1, stroke / 2)}" paint-order="stroke">${escapeXml(label)}</text>`
    );
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${marks.join('')}</svg>`;
}

/**
 * Draws the points on the image (EXIF orientation applied, as CoralNet sees it) and returns a JPEG,
 * scaled down to `maxWidth` when given.
 * @example await drawPoints('IMG_0001.JPG', [{ row: 449, column: 599, label: 'CORAL' }], labelColours(['CORAL']))
 */
export async function drawPoints(image: string | Buffer, points: readonly LabelledPoint[], colours: ReadonlyMap<string, string>, options: { maxWidth?: number } = {}): Promise<Buffer> {
  const upright = await sharp(image).rotate().toBuffer({ resolveWithObject: true });
  const { width, height } = upright.info;
  const drawn = sharp(upright.data).composite([{ input: Buffer.from(pointsLayer(width, height, points, colours)), top: 0, left: 0 }]);
  if (options.maxWidth !== undefined && width > options.maxWidth) {
    return sharp(await drawn.png().toBuffer()).resize({ width: options.maxWidth }).jpeg({ quality: 85 }).toBuffer();
  }
  return drawn.jpeg({ quality: 90 }).toBuffer();
}
