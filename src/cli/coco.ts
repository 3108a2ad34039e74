/** `reefstream coco`: a run's NDJSON as COCO keypoints and results. */
import { z } from 'zod';
import { writeCoco } from '../sinks/coco.js';
import { parse } from './shared.js';

export const help = `  reefstream coco --in results.ndjson --out results.coco.json [--results FILE]
      COCO keypoint annotations (one category per label, one point per annotation at x = column,
      y = row, v = 2) for review in COCO Annotator, and the scores as a COCO results file.
`;

const cocoSchema = z.object({
  in: z.string().min(1),
  out: z.string().min(1),
  results: z.string().optional(),
});

export const cocoLine = (coco: { images: number; annotations: number; categories: number; results: string }, out: string): string =>
  `coco: ${coco.images} images, ${coco.annotations} points, ${coco.categories} categories in ${out}; scores in ${coco.results}\n`;

export async function coco(args: string[]): Promise<void> {
  const o = parse('coco', args, cocoSchema, help);
  process.stdout.write(cocoLine(await writeCoco({ input: o.in, out: o.out, results: o.results }), o.out));
}
