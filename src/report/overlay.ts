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

/** A text box: left, top, right, bottom. */
type Box = [number, number, number, number];
const overlaps = (a: Box, b: Box): boolean => a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3];

/**
 * The SVG layer of rings and codes for an image of `width` × `height`. Each code goes beside its
 * ring on the first side (right, left, above, below) where it is inside the photo and clear of the
 * codes placed before it and of the other rings; with no such side it is left out (the ring's colour still says the
 * label). `sizes` overrides the ring's (a picture shown smaller needs larger marks to stay legible).
 */
export function pointsLayer(width: number, height: number, points: readonly LabelledPoint[], colours: ReadonlyMap<string, string>, sizes = ringSize(width, height)): string {
  const { radius, stroke, font } = sizes;
  const placed: Box[] = [];
  // Every ring's box: a code is kept off the other points' rings as well.
  const reach = radius + stroke;
  const rings: Box[] = points.map(({ row, column }) => [column - reach, row - reach, column + reach, row + reach]);
  const marks = points.map(({ row, column, label }, i) => {
    const colour = colours.get(label) ?? '#ffffff';
    const textWidth = font * 0.65 * label.length;
    const gap = radius + stroke;
    const sides: Array<{ x: number; y: number; anchor: 'start' | 'end' | 'middle'; box: Box }> = [
      { x: column + gap, y: row + font / 3, anchor: 'start', box: [column + gap, row - font / 2, column + gap + textWidth, row + font / 2] },
      { x: column - gap, y: row + font / 3, anchor: 'end', box: [column - gap - textWidth, row - font / 2, column - gap, row + font / 2] },
      { x: column, y: row - gap - font / 4, anchor: 'middle', box: [column - textWidth / 2, row - gap - font, column + textWidth / 2, row - gap] },
      { x: column, y: row + gap + font, anchor: 'middle', box: [column - textWidth / 2, row + gap, column + textWidth / 2, row + gap + font] },
    ];
    const clear = (box: Box): boolean => !placed.some((other) => overlaps(box, other)) && !rings.some((ring, j) => j !== i && overlaps(box, ring));
    const side = sides.find(({ box }) => box[0] >= 0 && box[1] >= 0 && box[2] <= width && box[3] <= height && clear(box));
    if (side) placed.push(side.box);
    const text = side
      ? `<text x="${side.x}" y="${side.y}" text-anchor="${side.anchor}" font-family="sans-serif" font-weight="bold" font-size="${font}" fill="${colour}" stroke="#000" stroke-width="${Math.max(1, stroke / 2)}" paint-order="stroke">${escapeXml(label)}</text>`
      : '';
    return (
      `<circle cx="${column}" cy="${row}" r="${radius}" fill="none" stroke="#000" stroke-width="${stroke + 2}"/>` +
      `<circle cx="${column}" cy="${row}" r="${radius}" fill="none" stroke="${colour}" stroke-width="${stroke}"/>` +
      text
    );
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${marks.join('')}</svg>`;
}

/**
 * Where a point of the stored grid (CoralNet's rows and columns) is seen once the photo is turned
 * upright by its EXIF orientation tag, in a photo stored `width` × `height`.
 * @example uprightPoint({ row: 0, column: 0 }, 6, 4000, 3000) // { row: 0, column: 2999 }: rotated 90° clockwise
 */
export function uprightPoint<P extends { row: number; column: number }>(point: P, orientation: number, width: number, height: number): P {
  const { row: y, column: x } = point;
  const [column, row] =
    orientation === 2 ? [width - 1 - x, y]
    : orientation === 3 ? [width - 1 - x, height - 1 - y]
    : orientation === 4 ? [x, height - 1 - y]
    : orientation === 5 ? [y, x]
    : orientation === 6 ? [height - 1 - y, x]
    : orientation === 7 ? [height - 1 - y, width - 1 - x]
    : orientation === 8 ? [y, width - 1 - x]
    : [x, y];
  return { ...point, row, column };
}

/**
 * Draws the points on the photo turned upright, each over the pixel CoralNet read (the stored grid
 * turned with the photo), and returns a JPEG, scaled down to `maxWidth` when given.
 * @example await drawPoints('IMG_0001.JPG', [{ row: 449, column: 599, label: 'CORAL' }], labelColours(['CORAL']))
 */
export async function drawPoints(image: string | Buffer, points: readonly LabelledPoint[], colours: ReadonlyMap<string, string>, options: { maxWidth?: number } = {}): Promise<Buffer> {
  const stored = await sharp(image).metadata();
  const orientation = stored.orientation ?? 1;
  const upright = await sharp(image).rotate().toBuffer({ resolveWithObject: true });
  const { width, height } = upright.info;
  const turned = points.map((point) => uprightPoint(point, orientation, stored.width, stored.height));
  // Shown at `maxWidth`, the marks are sized for that width: a code stays at least 18 pixels tall.
  const scale = options.maxWidth !== undefined && width > options.maxWidth ? options.maxWidth / width : 1;
  const shown = ringSize(width * scale, height * scale);
  const sizes = scale === 1 ? shown : { radius: Math.max(8, shown.radius) / scale, stroke: Math.max(2, shown.stroke) / scale, font: Math.max(18, shown.font) / scale };
  const drawn = sharp(upright.data).composite([{ input: Buffer.from(pointsLayer(width, height, turned, colours, sizes)), top: 0, left: 0 }]);
  if (options.maxWidth !== undefined && width > options.maxWidth) {
    return sharp(await drawn.png().toBuffer()).resize({ width: options.maxWidth }).jpeg({ quality: 85 }).toBuffer();
  }
  return drawn.jpeg({ quality: 90 }).toBuffer();
}
