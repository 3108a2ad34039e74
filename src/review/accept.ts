/**
 * A survey's final labels: a person's label where a person reviewed the point, the machine's top
 * label where its score is at or above the accepted threshold, and none otherwise — as CoralNet's
 * export columns with an `Annotator` column saying whose (`robot`, the reviewer, or empty), and as
 * NDJSON that `reefstream cover` reads (a point's `label_code`, `null` when it has none).
 *
 * Memory: the reviewed points are held (a reviewed subset); the results are read line by line.
 */
import { csvHeader, suggestionCells } from '../operators/toRows.js';
import { CsvFile } from '../sinks/csv.js';
import { NdjsonFile } from '../sinks/outputFile.js';
import { checkResultsFile, readResultLines, type ResultLine } from '../results/resultLines.js';
import type { ReviewedImage } from './compare.js';
import { pointKey } from './pushRecord.js';

export interface AcceptOptions {
  /** The run's NDJSON. */
  results: string;
  /** Machine labels scored at or above this (0–1) are accepted. */
  threshold: number;
  /** The reviewed images by survey name (`readReviewedPoints`, or `compareWithHumans`' `onReviewed`). */
  reviewed: Map<string, ReviewedImage>;
  /** The name written as the annotator of reviewed points. Default `human`. */
  reviewer?: string;
  /** The CSV, and the NDJSON for cover. */
  out: string;
  ndjson: string;
}

export interface AcceptSummary {
  images: number;
  /** Survey points, and how each was labelled. */
  points: number;
  human: number;
  robot: number;
  /** Points with no label: under the threshold and not reviewed, or removed by a reviewer. */
  unlabelled: number;
  /** Of the unlabelled, the points reviewers removed. */
  removed: number;
  /** Points reviewers added, written after the image's own. */
  added: number;
  /** Reviewed images that are not in the results. */
  notInResults: number;
}

/** A point of the accepted NDJSON: the result's point with its final label and whose it is. */
export type AcceptedPoint = ResultLine['points'][number] & { label_code: string | null; annotator: string | null };

/** `results.ndjson` → `results.accepted.csv` and `results.accepted.ndjson`. */
export const acceptedPaths = (results: string): { csv: string; ndjson: string } => {
  const base = results.replace(/\.ndjson$/i, '');
  return { csv: `${base}.accepted.csv`, ndjson: `${base}.accepted.ndjson` };
};

/**
 * Writes the survey's final labels.
 * @example await writeAccepted({ results: 'results.ndjson', threshold: 0.8, reviewed, out: 'accepted.csv', ndjson: 'accepted.ndjson' })
 */
export async function writeAccepted(options: AcceptOptions): Promise<AcceptSummary> {
  const reviewer = options.reviewer ?? 'human';
  const summary: AcceptSummary = { images: 0, points: 0, human: 0, robot: 0, unlabelled: 0, removed: 0, added: 0, notInResults: 0 };
  // No outputs are made for results that are not there.
  await checkResultsFile(options.results);
  const csv = await CsvFile.open(options.out, csvHeader());
  const ndjson = await NdjsonFile.open(options.ndjson);
  const found = new Set<string>();
  try {
    for await (const line of readResultLines(options.results)) {
      summary.images++;
      const review = options.reviewed.get(line.name);
      if (review) found.add(line.name);
      const byMachinePoint = new Map(review?.points.flatMap((p) => (p.machine ? [[pointKey(p.machine.row, p.machine.column), p.label] as const] : [])));
      const removed = new Set(review?.removed?.map((p) => pointKey(p.row, p.column)));
      const points: AcceptedPoint[] = line.points.map((point) => {
        const key = pointKey(point.row, point.column);
        const human = byMachinePoint.get(key);
        const best = point.classifications[0];
        if (human !== undefined) return { ...point, label_code: human, annotator: reviewer };
        if (removed.has(key)) return { ...point, label_code: null, annotator: reviewer };
        if (best !== undefined && best.score >= options.threshold) return { ...point, label_code: best.label_code, annotator: 'robot' };
        return { ...point, label_code: null, annotator: null };
      });
      const added = review?.points.filter((p) => p.machine === undefined) ?? [];
      for (const p of added) points.push({ row: p.row, column: p.column, classifications: [], label_code: p.label, annotator: reviewer });
      summary.added += added.length;
      summary.removed += removed.size;
      for (const p of points) {
        summary.points++;
        if (p.label_code === null) summary.unlabelled++;
        else if (p.annotator === 'robot') summary.robot++;
        else summary.human++;
      }
      await csv.write(
        points.map((p) => [
          line.name,
          String(p.row),
          String(p.column),
          p.label_code ?? '',
          p.annotator ?? '',
          ...suggestionCells(p.classifications),
        ]),
      );
      await ndjson.write({ ...line, points });
    }
  } finally {
    await csv.close();
    await ndjson.close();
  }
  summary.notInResults = [...options.reviewed.keys()].filter((name) => !found.has(name)).length;
  return summary;
}
