/** `reefstream review push` and `reefstream review compare`: human review in COCO Annotator. */
import { z } from 'zod';
import { readLabelGroups } from '../cover/labelGroups.js';
import { pushForReview, type PushSummary } from '../review/push.js';
import { agreementPaths, compareWithHumans, writeAgreement } from '../review/compare.js';
import { NdjsonFile } from '../sinks/outputFile.js';
import { readNameMap, writeCoralNetAnnotations } from '../review/coralnetExport.js';
import { humanSide, machineSide, pushedPoints, reviewedImages } from './reviewed.js';
import { cocoAnnotatorLogin, EXIT, parse, plural, UsageError } from './shared.js';

export const pushHelp = `  reefstream review push --coco-annotator URL --dataset NAME --results results.ndjson [--images DIR]
                         [--record results.pushed.ndjson]
                         [--below 0.8 [--sample N] [--seed S] [--points all|below]]
      Puts the machine points into COCO Annotator for people to review: makes the dataset if
      needed, uploads the images under flat names (site1/IMG_1.JPG as site1__IMG_1.JPG; from
      --images, else each image's file or URL), gives each label a point category and attaches it,
      imports the points in bulk and waits for the import. Only points never pushed to the dataset
      are imported (--record, default results.pushed.ndjson beside the results, lists what
      arrived), so a review is never undone.
      --below pushes only images with a point whose top score is under the threshold (0-1),
      and --sample N of the other images (a random sample, the same for the same --seed), so
      that accuracy above the threshold keeps being measured; --points below sends only the
      uncertain points of those images. The record says why each image went up; a later push
      with a higher threshold adds the rest.
      Points the import dropped are listed, and the exit code is 3: push again to send them.
      Login: COCO_ANNOTATOR_USER and COCO_ANNOTATOR_PASSWORD.
`;
export const compareHelp = `  reefstream review compare --coco-annotator URL --dataset NAME | --human FILE.json
                            --results results.ndjson | results.coco.json --out agreement
                            [--tolerance PX] [--groups groups.csv|groups.json] [--target 95]
                            [--record results.pushed.ndjson]
      Matches the reviewed points to the machine's (same image, same position within --tolerance
      pixels, default 0) and writes agreement.json and CSV tables: top-1 and top-5 accuracy per
      label (agreement.labels.csv), the confusion matrix (agreement.confusion.csv), percent cover
      from humans beside the machine's, per image and label group (agreement.cover.csv), and the
      confidence curve (agreement.confidence.csv): for each threshold 0-100 %, the reviewed points
      whose top score is at or above it, their top-1 accuracy, and the survey's points it would
      accept; overall and per machine label, with the lowest threshold reaching --target percent
      accuracy (default 95). The reviewed points go to agreement.points.ndjson (for accept and
      review export). An image the push record lists is compared on the points pushed.
`;
export const exportHelp = `  reefstream review export --coralnet annotations.csv
                           (--human agreement | --human FILE.json --results results.ndjson
                            | --coco-annotator URL --dataset NAME --results results.ndjson)
                           [--name-map names.csv] [--tolerance PX] [--record results.pushed.ndjson]
      The points people reviewed, in CoralNet's annotation upload format (Name,Row,Column,
      Label code; rows and columns as CoralNet numbers them, from 0 at the top left of the
      stored image), to upload into the source the classifier was trained in and retrain. Only
      reviewed points are written. Names are the survey's, or the source's from --name-map (a CSV:
      survey name, CoralNet name, after a header row). CoralNet replaces an uploaded image's
      points with the file's, and passes over names it does not know.
`;
export const help = `${pushHelp}\n${compareHelp}\n${exportHelp}`;

const pushSchema = z.object({
  'coco-annotator': z.string().url('is not a URL'),
  dataset: z.string().min(1),
  results: z.string().min(1),
  images: z.string().optional(),
  record: z.string().min(1).optional(),
  below: z.coerce.number().gt(0, 'is a score above 0').max(1, 'is a score, 0 to 1 (0.8, not 80)').optional(),
  sample: z.coerce.number().int('is a whole number of images').min(0, 'is a number of images').optional(),
  seed: z.string().min(1).optional(),
  points: z.enum(['all', 'below']).optional(),
});

const exportSchema = z.object({
  coralnet: z.string().min(1),
  human: z.string().min(1).optional(),
  'coco-annotator': z.string().url('is not a URL').optional(),
  dataset: z.string().min(1).optional(),
  results: z.string().min(1).optional(),
  record: z.string().min(1).optional(),
  tolerance: z.coerce.number().min(0, 'is a distance in pixels, 0 or more').default(0),
  'name-map': z.string().min(1).optional(),
});

const compareSchema = z.object({
  'coco-annotator': z.string().url('is not a URL').optional(),
  dataset: z.string().min(1).optional(),
  human: z.string().optional(),
  results: z.string().min(1),
  out: z.string().min(1),
  tolerance: z.coerce.number().min(0, 'is a distance in pixels, 0 or more').default(0),
  groups: z.string().optional(),
  target: z.coerce.number().gt(0, 'is a percentage above 0').max(100, 'is a percentage, 100 at most').default(95),
  record: z.string().min(1).optional(),
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
  const chosen = pushed.selection;
  if (chosen) {
    parts.push(
      `chosen: ${plural(chosen.uncertain, 'image')} with a point under ${chosen.below}${chosen.points === 'below' ? ' (those points only)' : ''}, ` +
        `${plural(chosen.sampled, 'image')} sampled from the others${chosen.seed !== undefined ? ` (seed ${chosen.seed})` : ''}, ${chosen.leftOut} left out`,
    );
  }
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
    if (o.below === undefined && (o.sample !== undefined || o.seed !== undefined || o.points !== undefined)) {
      throw new UsageError('reefstream review push: --sample, --seed and --points choose among the images --below leaves out or sends: give --below too (e.g. --below 0.8).');
    }
    const pushed = await pushForReview({
      ...cocoAnnotatorLogin('review push', o['coco-annotator']),
      dataset: o.dataset,
      results: o.results,
      images: o.images,
      record: o.record,
      below: o.below,
      sample: o.sample,
      seed: o.seed,
      points: o.points,
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
    const { human, ...where } = await humanSide('review compare', o);
    const { pushed, record } = await pushedPoints(o.results, o.record, where);
    const paths = agreementPaths(o.out);
    const points = await NdjsonFile.open(paths.points);
    const agreement = await compareWithHumans({
      human,
      machine: machineSide(o.results),
      tolerance: o.tolerance,
      groups: o.groups ? await readLabelGroups(o.groups) : undefined,
      target: o.target,
      pushed,
      onReviewed: (image) => points.write(image),
    });
    await points.close();
    await writeAgreement(agreement, o.out);
    const pct = (share: number | null | undefined) => (share === undefined || share === null ? 'n/a' : `${(100 * share).toFixed(1)} %`);
    const { target, overall } = agreement.confidence;
    const chosen = overall.chosen;
    process.stdout.write(
      `agreement: ${agreement.images} reviewed images, ${agreement.matched} points matched (${agreement.humanOnly} only human, ${agreement.machineOnly} only machine); ` +
        `top-1 ${pct(agreement.top1Accuracy)}, top-5 ${pct(agreement.top5Accuracy)}\n` +
        (chosen === null
          ? `  no threshold reaches ${target} % top-1 accuracy on the reviewed points\n`
          : `  at a threshold of ${chosen.threshold} %: top-1 ${pct(chosen.accuracy)} on ${chosen.points} reviewed points; accepts ${chosen.surveyPoints} of the survey's ${overall.surveyPoints} points (${pct(chosen.surveyShare)}) without review\n`) +
        (agreement.notInResults.length > 0 ? `  reviewed but not in ${o.results}: ${agreement.notInResults.length} (${agreement.notInResults.slice(0, 3).join(', ')}${agreement.notInResults.length > 3 ? ', …' : ''})\n` : '') +
        (record !== undefined ? `  compared on the points ${record} lists as pushed\n` : '') +
        `  ${paths.json}, ${paths.labels}, ${paths.confusion}, ${paths.cover}, ${paths.confidence}, ${paths.points}\n`,
    );
    return;
  }
  if (step === 'export') {
    const o = parse('review export', rest, exportSchema, exportHelp);
    const { reviewed, machineLabels } = await reviewedImages('review export', o);
    const names = o['name-map'] === undefined ? undefined : await readNameMap(o['name-map']);
    const done = await writeCoralNetAnnotations(reviewed.values(), o.coralnet, { names, machineLabels });
    process.stdout.write(`review export: ${plural(done.points, 'reviewed point')} of ${plural(done.images, 'image')} in ${o.coralnet}, for CoralNet's annotation upload\n`);
    if (done.withFolders > 0) {
      process.stderr.write(`  ${plural(done.withFolders, 'image')} written under a name with folders (site1/IMG_1.JPG): a CoralNet source knows images by the uploaded file's name and passes over names it does not have; give --name-map\n`);
    }
    if (done.unknownLabels.length > 0) {
      process.stderr.write(`  labels the classifier never gave first in this survey: ${done.unknownLabels.join(', ')}; CoralNet takes only label codes of the source's labelset\n`);
    }
    if (done.unmapped.length > 0) {
      process.stderr.write(
        `reefstream review export: ${plural(done.unmapped.length, 'reviewed image')} not in ${o['name-map']}, not written: ${done.unmapped.slice(0, 5).join(', ')}${done.unmapped.length > 5 ? ', …' : ''}; add them to the name map (exit code ${EXIT.someFailed})\n`,
      );
      process.exitCode = EXIT.someFailed;
    }
    return;
  }
  throw new UsageError(`reefstream review: say push, compare or export (see reefstream --help)`);
}
