/** `reefstream review push` and `reefstream review compare`: human review in COCO Annotator. */
import { z } from 'zod';
import { readLabelGroups } from '../cover/labelGroups.js';
import { CocoAnnotator, readCocoFile, type CocoFile } from '../review/cocoAnnotator.js';
import { pushForReview, type PushSummary } from '../review/push.js';
import { compareWithHumans, machineFromCoco, writeAgreement } from '../review/compare.js';
import { readResultLines } from '../results/resultLines.js';
import { cocoResultsPath } from '../sinks/coco.js';
import { cocoAnnotatorLogin, EXIT, parse, plural, UsageError } from './shared.js';

export const pushHelp = `  reefstream review push --coco-annotator URL --dataset NAME --results results.ndjson [--images DIR]
                         [--record results.pushed.ndjson]
      Puts the machine points into COCO Annotator for people to review: makes the dataset if
      needed, uploads the images under flat names (site1/IMG_1.JPG as site1__IMG_1.JPG; from
      --images, else each image's file or URL), gives each label a point category and attaches it,
      imports the points in bulk and waits for the import. Only points never pushed to the dataset
      are imported (--record, default results.pushed.ndjson beside the results, lists what
      arrived), so a review is never undone.
      Points the import dropped are listed, and the exit code is 3: push again to send them.
      Login: COCO_ANNOTATOR_USER and COCO_ANNOTATOR_PASSWORD.
`;
export const compareHelp = `  reefstream review compare --coco-annotator URL --dataset NAME | --human FILE.json
                            --results results.ndjson | results.coco.json --out agreement
                            [--tolerance PX] [--groups groups.csv|groups.json]
      Matches the reviewed points to the machine's (same image, same position within --tolerance
      pixels, default 0) and writes agreement.json and three CSV tables: top-1 and top-5 accuracy
      per label (agreement.labels.csv), the confusion matrix (agreement.confusion.csv), and percent
      cover from humans beside the machine's, per image and label group (agreement.cover.csv).
`;
export const help = `${pushHelp}\n${compareHelp}`;

const pushSchema = z.object({
  'coco-annotator': z.string().url('is not a URL'),
  dataset: z.string().min(1),
  results: z.string().min(1),
  images: z.string().optional(),
  record: z.string().min(1).optional(),
});

const compareSchema = z.object({
  'coco-annotator': z.string().url('is not a URL').optional(),
  dataset: z.string().min(1).optional(),
  human: z.string().optional(),
  results: z.string().min(1),
  out: z.string().min(1),
  tolerance: z.coerce.number().min(0, 'is a distance in pixels, 0 or more').default(0),
  groups: z.string().optional(),
});

/** What a push did, what it left alone, and what did not arrive. */
function pushLines(pushed: PushSummary): string {
  const parts = [
    `review: dataset ${pushed.dataset} (id ${pushed.datasetId}${pushed.datasetCreated ? ', made now' : ''}): ${plural(pushed.images, 'image')}; ${pushed.uploaded} uploaded, ${pushed.alreadyThere} there already`,
    `${plural(pushed.annotations, 'point')} imported${pushed.task ? ` (task ${pushed.task.id})` : ' (nothing new)'}`,
  ];
  if (pushed.pushedBefore > 0) parts.push(`${plural(pushed.pushedBefore, 'image')} pushed before, left as reviewed`);
  if (pushed.unrecorded > 0) parts.push(`${plural(pushed.unrecorded, 'image')} with points in the dataset that ${pushed.record} does not list, left as they are`);
  parts.push(`${plural(pushed.categories.length, 'category', 'categories')} (${pushed.categoriesCreated} made)`);
  let text = `${parts.join('; ')}\n  record: ${pushed.record}\n`;
  const { lost } = pushed;
  if (lost.reasons.length > 0) {
    text += `  ${plural(lost.points, 'point')} of ${plural(lost.images, 'image')} did not arrive:\n`;
    for (const r of lost.reasons.slice(0, 20)) text += `    ${r.name}: ${r.reason}\n`;
    if (lost.reasons.length > 20) text += `    … and ${lost.reasons.length - 20} more\n`;
  }
  return text;
}

export async function review(args: string[]): Promise<void> {
  const [step, ...rest] = args;
  if (step === 'push') {
    const o = parse('review push', rest, pushSchema, pushHelp);
    const pushed = await pushForReview({
      ...cocoAnnotatorLogin('review push', o['coco-annotator']),
      dataset: o.dataset,
      results: o.results,
      images: o.images,
      record: o.record,
      onProgress: ({ step: now, done }) => {
        if (now === 'upload' && done % 100 === 0) process.stderr.write(`uploaded or found ${done} images\n`);
      },
    });
    process.stdout.write(pushLines(pushed));
    if (pushed.lost.reasons.length > 0) {
      process.stderr.write(`reefstream review push: ${pushed.lost.points} ${pushed.lost.points === 1 ? 'point' : 'points'} did not arrive: push again to send them (exit code ${EXIT.someFailed})\n`);
      process.exitCode = EXIT.someFailed;
    }
    return;
  }
  if (step === 'compare') {
    const o = parse('review compare', rest, compareSchema, compareHelp);
    if ((o.human === undefined) === (o.dataset === undefined)) throw new UsageError('reefstream review compare: give the reviewed points as --coco-annotator URL --dataset NAME, or as a COCO file with --human FILE.');
    let human: CocoFile;
    if (o.human !== undefined) {
      human = await readCocoFile(o.human);
    } else {
      const annotator = await CocoAnnotator.connect(cocoAnnotatorLogin('review compare', o['coco-annotator']));
      human = await annotator.exportCoco((await annotator.dataset(o.dataset!)).id);
    }
    const machine = /\.json$/i.test(o.results) ? machineFromCoco(o.results, cocoResultsPath(o.results)) : readResultLines(o.results);
    const agreement = await compareWithHumans({ human, machine, tolerance: o.tolerance, groups: o.groups ? await readLabelGroups(o.groups) : undefined });
    const paths = await writeAgreement(agreement, o.out);
    const pct = (share: number | undefined) => (share === undefined ? 'n/a' : `${(100 * share).toFixed(1)} %`);
    process.stdout.write(
      `agreement: ${agreement.images} reviewed images, ${agreement.matched} points matched (${agreement.humanOnly} only human, ${agreement.machineOnly} only machine); ` +
        `top-1 ${pct(agreement.top1Accuracy)}, top-5 ${pct(agreement.top5Accuracy)}\n` +
        (agreement.notInResults.length > 0 ? `  reviewed but not in ${o.results}: ${agreement.notInResults.length} (${agreement.notInResults.slice(0, 3).join(', ')}${agreement.notInResults.length > 3 ? ', …' : ''})\n` : '') +
        `  ${paths.json}, ${paths.labels}, ${paths.confusion}, ${paths.cover}\n`,
    );
    return;
  }
  throw new UsageError(`reefstream review: say push or compare (see reefstream --help)`);
}
