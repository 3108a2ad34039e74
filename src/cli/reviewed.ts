/** Where the reviewed points come from, for `review compare`, `accept` and `review export`. */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { CocoAnnotator, readCocoFile, type CocoFile } from '../review/cocoAnnotator.js';
import { agreementPaths, compareWithHumans, machineFromCoco, readReviewedPoints, type Agreement, type CompareOptions, type ReviewedImage } from '../review/compare.js';
import { pushRecordPath, readPushRecord } from '../review/pushRecord.js';
import { readResultLines } from '../results/resultLines.js';
import { cocoResultsPath } from '../sinks/coco.js';
import { cocoAnnotatorLogin, UsageError } from './shared.js';

/** The options that name the human side. */
export interface HumanOptions {
  'coco-annotator'?: string;
  dataset?: string;
  human?: string;
}

/** The human points: a COCO file, or a COCO Annotator dataset's export; with the dataset's place, to read the push record for it. */
export async function humanSide(command: string, o: HumanOptions): Promise<{ human: CocoFile; server?: string; dataset?: number }> {
  if ((o.human === undefined) === (o.dataset === undefined)) throw new UsageError(`reefstream ${command}: give the reviewed points as --coco-annotator URL --dataset NAME, or as a file with --human FILE.`);
  if (o.human !== undefined) return { human: await readCocoFile(o.human) };
  const annotator = await CocoAnnotator.connect(cocoAnnotatorLogin(command, o['coco-annotator']));
  const dataset = await annotator.dataset(o.dataset!);
  return { human: await annotator.exportCoco(dataset.id), server: annotator.url.origin, dataset: dataset.id };
}

/** The machine's side: a run's NDJSON, or a COCO file reefstream wrote and its results beside it. */
export function machineSide(results: string): CompareOptions['machine'] {
  return /\.json$/i.test(results) ? machineFromCoco(results, cocoResultsPath(results)) : readResultLines(results);
}

/** The points pushed for review that the record beside the NDJSON lists (or `record`); undefined when there is none. */
export async function pushedPoints(results: string, record: string | undefined, where: { server?: string; dataset?: number }): Promise<{ pushed?: Map<string, Set<string>>; record?: string }> {
  const path = record ?? (/\.json$/i.test(results) ? undefined : pushRecordPath(results));
  if (path === undefined) return {};
  const pushed = await readPushRecord(path, where.server, where.dataset);
  return pushed.size > 0 ? { pushed, record: path } : {};
}

/** Whether `--human` names what `review compare` wrote (its prefix, JSON or points file). */
const isAgreement = (human: string): boolean => human.endsWith('.points.ndjson') || existsSync(agreementPaths(human).points);

/**
 * The reviewed images by survey name: read from `review compare`'s output, or matched now from a
 * COCO file or dataset against `--results`. `chosen` is the threshold (0–1) the comparison found
 * reaching its target, if any; `machineLabels` the labels the machine gave as its first choice.
 */
export async function reviewedImages(
  command: string,
  o: HumanOptions & { results?: string; tolerance?: number; record?: string },
): Promise<{ reviewed: Map<string, ReviewedImage>; chosen?: number; machineLabels?: string[] }> {
  const reviewed = new Map<string, ReviewedImage>();
  const found = (agreement: Partial<Agreement> | undefined) => {
    const threshold = agreement?.confidence?.overall.chosen?.threshold;
    const machineLabels = agreement?.confidence?.labels.map((curve) => curve.label);
    return { reviewed, ...(threshold !== undefined ? { chosen: threshold / 100 } : {}), ...(machineLabels ? { machineLabels } : {}) };
  };
  if (o.human !== undefined && isAgreement(o.human)) {
    for await (const image of readReviewedPoints(o.human)) reviewed.set(image.name, image);
    const json = agreementPaths(o.human.replace(/\.points\.ndjson$/, '')).json;
    return found(existsSync(json) ? (JSON.parse(await readFile(json, 'utf8')) as Partial<Agreement>) : undefined);
  }
  if (o.human !== undefined && !existsSync(o.human)) {
    throw new UsageError(`reefstream ${command}: --human ${o.human} is neither the --out of reefstream review compare (there is no ${agreementPaths(o.human).points}) nor a COCO file.`);
  }
  if (o.results === undefined) throw new UsageError(`reefstream ${command}: give --results results.ndjson to match the reviewed points to the survey's, or --human with the --out of reefstream review compare.`);
  const { human, ...where } = await humanSide(command, o);
  const { pushed } = await pushedPoints(o.results, o.record, where);
  return found(await compareWithHumans({ human, machine: machineSide(o.results), tolerance: o.tolerance, pushed, onReviewed: (image) => void reviewed.set(image.name, image) }));
}
