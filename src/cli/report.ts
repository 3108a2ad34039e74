/** `reefstream report` and `reefstream overlay`: the HTML report and the photos with their points. */
import { z } from 'zod';
import { readLabelGroups } from '../cover/labelGroups.js';
import { writeReport } from '../report/report.js';
import { writeOverlays } from '../report/overlayFolder.js';
import { count, parse } from './shared.js';

export const help = `  reefstream report --in results.ndjson --out report/ [--images DIR] [--errors FILE] [--samples 12]
                    [--groups groups.csv|groups.json] [--agreement agreement]
      A self-contained HTML page: run summary, cover over time or by site (of label groups with
      --groups), a GPS scatter, the label distribution, and sample photos (from --images, else
      their URLs) with their points. --agreement (the --out of review compare) adds the confidence
      curve, the chosen threshold marked, and the confusion matrix.
`;
export const overlayHelp = `  reefstream overlay --in results.ndjson --images DIR --out DIR
      Each photo with its machine points drawn on it (a ring and the label code, coloured by label).
`;

const reportSchema = z.object({
  in: z.string().min(1),
  out: z.string().min(1),
  images: z.string().optional(),
  errors: z.string().optional(),
  samples: count.max(100).default(12),
  groups: z.string().optional(),
  agreement: z.string().min(1).optional(),
});

const overlaySchema = z.object({
  in: z.string().min(1),
  images: z.string().min(1),
  out: z.string().min(1),
});

export async function report(args: string[]): Promise<void> {
  const o = parse('report', args, reportSchema, help);
  const file = await writeReport({ input: o.in, out: o.out, images: o.images, errors: o.errors, samples: o.samples, groups: o.groups ? await readLabelGroups(o.groups) : undefined, agreement: o.agreement });
  process.stdout.write(`report: ${file}\n`);
}

export async function overlay(args: string[]): Promise<void> {
  const o = parse('overlay', args, overlaySchema, overlayHelp);
  const { drawn, missing } = await writeOverlays({ input: o.in, images: o.images, out: o.out });
  process.stdout.write(`overlays: ${drawn} photos drawn in ${o.out}${missing.length > 0 ? `; not found in ${o.images}: ${missing.length} (${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', …' : ''})` : ''}\n`);
}
