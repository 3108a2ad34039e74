/** `reefstream cover`: percent cover from a run's NDJSON. */
import { z } from 'zod';
import { writeCoverCsv } from '../cover/coverFile.js';
import { readLabelGroups } from '../cover/labelGroups.js';
import { duration, grouping, parse } from './shared.js';

export const help = `  reefstream cover --in results.ndjson --out cover.csv [--by image|folder|Aux1..Aux5|window]
                   [--window 60s] [--groups groups.csv|groups.json] [--gps] [--sorted]
      Percent cover of each label and label group, per image or per group of images.
      --groups maps label codes to groups (CSV: code,group; JSON: {"CORAL":"Live coral"}).
      --gps adds the mean position of each group; --sorted writes each time window as soon
      as a later one starts (the NDJSON must be in time order).
`;

const coverSchema = z.object({
  in: z.string().min(1),
  out: z.string().min(1),
  by: grouping.default('image'),
  window: duration.optional(),
  groups: z.string().optional(),
  gps: z.boolean().optional(),
  sorted: z.boolean().optional(),
});

export async function cover(args: string[]): Promise<void> {
  const o = parse('cover', args, coverSchema, help);
  const groups = o.groups ? await readLabelGroups(o.groups) : undefined;
  const rows = await writeCoverCsv({ input: o.in, out: o.out, by: o.by, windowMs: o.window, groups, gps: o.gps, sorted: o.sorted });
  process.stdout.write(`cover: ${rows} rows in ${o.out}\n`);
}
