/** Overlays for a whole run: each photo of the NDJSON found in a folder, drawn with its points. */
import { createReadStream } from 'node:fs';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { readAnnotatedImages } from '../cover/coverFile.js';
import { drawPoints } from './overlay.js';
import { labelColours } from './palette.js';

export interface OverlayOptions {
  input: string;
  images: string;
  out: string;
}

/** Writes `out/<name>.jpg` for each photo; returns how many were drawn and which were not found. */
export async function writeOverlays(options: OverlayOptions): Promise<{ drawn: number; missing: string[] }> {
  const codes = new Set<string>();
  for await (const image of readAnnotatedImages(options.input)) for (const label of image.labels) codes.add(label);
  const colours = labelColours(codes);
  let drawn = 0;
  const missing: string[] = [];
  for await (const line of createInterface({ input: createReadStream(options.input), crlfDelay: Infinity })) {
    if (line.trim() === '') continue;
    const image = JSON.parse(line) as { name: string; points: Array<{ row: number; column: number; classifications: Array<{ label_code: string }> }> };
    const source = join(options.images, image.name);
    if (!(await stat(source).catch(() => undefined))?.isFile()) {
      missing.push(image.name);
      continue;
    }
    const jpeg = await drawPoints(source, image.points.map((p) => ({ row: p.row, column: p.column, label: p.classifications[0]?.label_code ?? '' })), colours);
    const target = join(options.out, image.name.replace(/\.[^./]+$/, '') + '.jpg');
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, jpeg);
    drawn++;
  }
  return { drawn, missing };
}
