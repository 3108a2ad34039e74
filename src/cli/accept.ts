/** `reefstream accept`: the survey's final labels, people's where they reviewed, the machine's where it is sure enough. */
import { z } from 'zod';
import { acceptedPaths, writeAccepted } from '../review/accept.js';
import { reviewedImages } from './reviewed.js';
import { parse, plural, UsageError } from './shared.js';

export const help = `  reefstream accept --results results.ndjson [--threshold 0.8]
                    [--human agreement | --human FILE.json | --coco-annotator URL --dataset NAME]
                    [--tolerance PX] [--record results.pushed.ndjson] [--reviewer NAME]
                    [--out results.accepted.csv] [--ndjson results.accepted.ndjson]
      The survey's final labels: a person's label where a person reviewed the point, the
      machine's top label where its score is at or above --threshold (0-1), none otherwise.
      Written in CoralNet's export columns with Annotator: robot, the reviewer (--reviewer, else
      human), or empty for a point without a label; and as NDJSON that reefstream cover reads
      (points without a label are counted apart, not in the percentages). --human takes the --out
      of reefstream review compare (then --threshold defaults to the threshold it found reaching
      its target), or the reviewed points themselves, matched to --results now.
`;

const schema = z.object({
  results: z.string().min(1),
  threshold: z.coerce.number().min(0, 'is a score, 0 to 1').max(1, 'is a score, 0 to 1 (0.8, not 80)').optional(),
  human: z.string().min(1).optional(),
  'coco-annotator': z.string().url('is not a URL').optional(),
  dataset: z.string().min(1).optional(),
  tolerance: z.coerce.number().min(0, 'is a distance in pixels, 0 or more').default(0),
  reviewer: z.string().min(1).optional(),
  record: z.string().min(1).optional(),
  out: z.string().min(1).optional(),
  ndjson: z.string().min(1).optional(),
});

export async function accept(args: string[]): Promise<void> {
  const o = parse('accept', args, schema, help);
  const { reviewed, chosen } =
    o.human === undefined && o.dataset === undefined ? { reviewed: new Map(), chosen: undefined } : await reviewedImages('accept', o);
  const threshold = o.threshold ?? chosen;
  if (threshold === undefined) {
    throw new UsageError(
      o.human === undefined && o.dataset === undefined
        ? 'reefstream accept: give --threshold (a score, 0 to 1), the lowest machine score to accept.'
        : 'reefstream accept: the review reaches no target accuracy at any threshold; give --threshold (a score, 0 to 1).',
    );
  }
  const paths = acceptedPaths(o.results);
  const out = o.out ?? paths.csv;
  const ndjson = o.ndjson ?? paths.ndjson;
  const done = await writeAccepted({ results: o.results, threshold, reviewed, reviewer: o.reviewer, out, ndjson });
  const pct = (n: number) => (done.points === 0 ? '0.0' : ((100 * n) / done.points).toFixed(1));
  process.stdout.write(
    `accept: ${plural(done.images, 'image')}, ${plural(done.points, 'point')} at threshold ${threshold}${o.threshold === undefined ? ' (the one the comparison found)' : ''}: ` +
      `${done.human} reviewed (${pct(done.human)} %), ${done.robot} accepted from the machine (${pct(done.robot)} %), ${done.unlabelled} without a label (${pct(done.unlabelled)} %` +
      `${done.removed > 0 ? `, ${done.removed} of them removed by reviewers` : ''})` +
      `${done.added > 0 ? `; ${plural(done.added, 'point')} added by reviewers` : ''}\n` +
      (done.notInResults > 0 ? `  ${plural(done.notInResults, 'reviewed image')} not in ${o.results}, left out\n` : '') +
      `  ${out}, ${ndjson}\n`,
  );
}
