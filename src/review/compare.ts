/**
 * Machine against human: the points people reviewed in COCO Annotator (or any COCO file) matched
 * to the machine's points of the same image (by the survey's name, or the flat name `review push`
 * gave it) by position, and the agreement the team needs to
 * trust the classifier at their scale — top-1 and top-5 accuracy per label, a confusion matrix,
 * and percent cover from humans beside the machine's, per image and per label group.
 *
 * Memory: the human side is held (a reviewed subset: its points, by file name); the machine's
 * results are read line by line.
 */
import { createReadStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { LabelGroups } from '../cover/labelGroups.js';
import { CsvFile } from '../sinks/csv.js';
import { readFile } from 'node:fs/promises';
import { readCocoFile, type CocoFile } from './cocoAnnotator.js';
import { ConfidenceTally, type Confidence } from './confidence.js';
import { pointKey } from './pushRecord.js';
import { reviewFileName } from './reviewNames.js';

export interface CompareOptions {
  /** The human points: COCO Annotator's export of the dataset, or a COCO file. */
  human: CocoFile;
  /** The machine's images with every classification of every point: `readResultLines('results.ndjson')` or {@link machineFromCoco}. */
  machine: AsyncIterable<MachineImage>;
  /** A human point and a machine point match when at most this many pixels apart. Default 0 (same pixel). */
  tolerance?: number;
  groups?: LabelGroups;
  /** Target top-1 accuracy in percent for the confidence curve's chosen threshold. Default 95. */
  target?: number;
  /**
   * The points pushed for review, by survey name (`readPushedPoints`): an image listed here is
   * compared on those points only, so that a push of only its uncertain points does not count
   * the others as removed by the reviewer.
   */
  pushed?: Map<string, Set<string>>;
  /** Told each reviewed image's points, human beside machine: what `accept` and the CoralNet export read. */
  onReviewed?: (image: ReviewedImage) => void | Promise<void>;
}

/** A point a person reviewed: where it is and what they called it, and the machine's point it matched. */
export interface ReviewedPoint {
  /** The pixel the reviewed point is in, on the stored grid (coordinates rounded down). */
  row: number;
  column: number;
  label: string;
  machine?: { row: number; column: number; label: string; score?: number };
}

/** One reviewed image under its survey name. */
export interface ReviewedImage {
  name: string;
  points: ReviewedPoint[];
  /** Machine points of the image (those pushed, when the record is known) that no reviewed point matched: removed by a person. */
  removed?: Array<{ row: number; column: number }>;
}

export interface LabelAgreement {
  label: string;
  /** Matched points that humans gave this label. */
  points: number;
  top1: number;
  top5: number;
  /** Shares, 0–1; undefined without points. */
  top1Accuracy?: number;
  top5Accuracy?: number;
}

export interface CoverComparison {
  /** The image's name, or `All reviewed images`. */
  image: string;
  humanPoints: number;
  machinePoints: number;
  /** Percent cover by label code and by group (`group:NAME`): human, machine, machine − human. */
  cover: Record<string, { human: number; machine: number; difference: number }>;
}

export interface Agreement {
  /** Reviewed images found in the results, and those that were not. */
  images: number;
  notInResults: string[];
  /** Human points with a machine point at their position; human points without one (added by a reviewer); machine points without one (removed). */
  matched: number;
  humanOnly: number;
  machineOnly: number;
  top1Accuracy?: number;
  top5Accuracy?: number;
  labels: LabelAgreement[];
  /** Rows: the human label; columns: the machine's first choice. */
  confusion: { labels: string[]; counts: number[][] };
  cover: CoverComparison[];
  /** Accuracy and share of points at or above each confidence threshold. */
  confidence: Confidence;
}

/** What the comparison needs of the machine's side of an image. */
export interface MachineImage {
  name: string;
  points: Array<{ row: number; column: number; classifications: Array<{ label_code: string; score?: number }> }>;
}

interface HumanPoint {
  x: number;
  y: number;
  label: string;
}

/**
 * Label codes compared without case, as COCO Annotator matches category names: a reviewer's
 * `coral` is the machine's `CORAL`. Counted by key; written as the machine spells them (CoralNet's
 * codes), or as the reviewer did for labels the machine never gave.
 */
class Spellings {
  readonly #display = new Map<string, string>();
  human(label: string): string {
    const key = label.toLowerCase();
    if (!this.#display.has(key)) this.#display.set(key, label);
    return key;
  }
  machine(label: string): string {
    const key = label.toLowerCase();
    this.#display.set(key, label);
    return key;
  }
  display(key: string): string {
    if (key.startsWith('group:')) return key;
    return this.#display.get(key) ?? key;
  }
}

/** Pairs human and machine points, nearest first, each used once, within `tolerance` pixels. */
function matchPoints(human: HumanPoint[], machine: Array<{ row: number; column: number }>, tolerance: number): Array<[number, number]> {
  const pairs: Array<{ h: number; m: number; d: number }> = [];
  human.forEach((p, h) =>
    machine.forEach((q, m) => {
      const d = Math.hypot(p.x - q.column, p.y - q.row);
      if (d <= tolerance) pairs.push({ h, m, d });
    }),
  );
  pairs.sort((a, b) => a.d - b.d || a.h - b.h || a.m - b.m);
  const usedH = new Set<number>();
  const usedM = new Set<number>();
  const matched: Array<[number, number]> = [];
  for (const { h, m } of pairs) {
    if (usedH.has(h) || usedM.has(m)) continue;
    usedH.add(h);
    usedM.add(m);
    matched.push([h, m]);
  }
  return matched;
}

class CoverCounts {
  human = new Map<string, number>();
  machine = new Map<string, number>();
  humanPoints = 0;
  machinePoints = 0;

  add(side: 'human' | 'machine', labels: string[], groups: LabelGroups | undefined): void {
    const counts = this[side];
    if (side === 'human') this.humanPoints += labels.length;
    else this.machinePoints += labels.length;
    for (const label of labels) {
      counts.set(label, (counts.get(label) ?? 0) + 1);
      const group = groups?.get(label);
      if (group !== undefined) counts.set(`group:${group}`, (counts.get(`group:${group}`) ?? 0) + 1);
    }
  }

  row(image: string, show: (key: string) => string): CoverComparison {
    const keys = [...new Set([...this.human.keys(), ...this.machine.keys()])];
    const pct = (n: number | undefined, of: number) => (of === 0 ? 0 : round2((100 * (n ?? 0)) / of));
    const cover: CoverComparison['cover'] = {};
    for (const key of keys) {
      const human = pct(this.human.get(key), this.humanPoints);
      const machine = pct(this.machine.get(key), this.machinePoints);
      cover[show(key)] = { human, machine, difference: round2(machine - human) };
    }
    return { image, humanPoints: this.humanPoints, machinePoints: this.machinePoints, cover };
  }
}

const round2 = (n: number): number => Math.round(n * 100) / 100;
const share = (n: number, of: number): number | undefined => (of === 0 ? undefined : n / of);

/**
 * Compares the human points of a COCO file with a run's machine points.
 * @example const agreement = await compareWithHumans({ human: await annotator.exportCoco(id), machine: readResultLines('results.ndjson'), tolerance: 1 })
 */
export async function compareWithHumans(options: CompareOptions): Promise<Agreement> {
  const tolerance = options.tolerance ?? 0;
  const spell = new Spellings();
  const groups = options.groups === undefined ? undefined : new Map([...options.groups].map(([code, group]) => [code.toLowerCase(), group]));
  const categories = new Map(options.human.categories.map((c) => [c.id, c.name]));
  const humanByImage = new Map<string, HumanPoint[]>();
  const imageNames = new Map(options.human.images.map((image) => [image.id, image.file_name]));
  for (const image of options.human.images) humanByImage.set(image.file_name, []);
  for (const a of options.human.annotations) {
    const name = imageNames.get(a.image_id);
    const label = categories.get(a.category_id);
    const [x, y, v] = a.keypoints ?? [];
    if (name === undefined || label === undefined || x === undefined || y === undefined || v === 0) continue;
    humanByImage.get(name)!.push({ x, y, label: spell.human(label) });
  }

  const perLabel = new Map<string, { points: number; top1: number; top5: number }>();
  const confusion = new Map<string, Map<string, number>>();
  const seenLabels = new Set<string>();
  const show = (key: string): string => spell.display(key);
  // Rows are written at the end, once every label's spelling is known.
  const perImage = new Map<string, CoverCounts>();
  const total = new CoverCounts();
  const found = new Set<string>();
  let matchedCount = 0;
  let humanOnly = 0;
  let machineOnly = 0;

  const confidence = new ConfidenceTally();
  const reviewedImages: ReviewedImage[] = [];
  for await (const line of options.machine) {
    for (const point of line.points) {
      const best = point.classifications[0];
      if (best !== undefined) confidence.survey(spell.machine(best.label_code), best.score ?? 0);
    }
    // The reviewed image under the survey's name, or under the flat name a push gave it.
    const key = humanByImage.has(line.name) ? line.name : reviewFileName(line.name);
    const human = humanByImage.get(key);
    if (human === undefined || found.has(key)) continue;
    found.add(key);
    const pushedHere = options.pushed?.get(line.name);
    const points = pushedHere === undefined ? line.points : line.points.filter((p) => pushedHere.has(pointKey(p.row, p.column)));
    const machineLabels = points.map((p) => p.classifications.map((c) => spell.machine(c.label_code)));
    const pairs = matchPoints(human, points, tolerance);
    matchedCount += pairs.length;
    humanOnly += human.length - pairs.length;
    machineOnly += points.length - pairs.length;
    const reviewed: ReviewedPoint[] = human.map((p) => ({ row: Math.floor(p.y), column: Math.floor(p.x), label: p.label }));
    for (const [h, m] of pairs) {
      const truth = human[h]!.label;
      const guesses = machineLabels[m]!;
      const first = guesses[0] ?? '';
      const tally = perLabel.get(truth) ?? { points: 0, top1: 0, top5: 0 };
      tally.points++;
      if (first === truth) tally.top1++;
      if (guesses.slice(0, 5).includes(truth)) tally.top5++;
      perLabel.set(truth, tally);
      const row = confusion.get(truth) ?? new Map<string, number>();
      row.set(first, (row.get(first) ?? 0) + 1);
      confusion.set(truth, row);
      seenLabels.add(truth).add(first);
      const { row: mRow, column: mColumn, classifications } = points[m]!;
      const score = classifications[0]?.score;
      if (classifications[0] !== undefined) confidence.reviewed(first, score ?? 0, first === truth);
      reviewed[h]!.machine = { row: mRow, column: mColumn, label: first, ...(score === undefined ? {} : { score }) };
    }
    const counts = new CoverCounts();
    const humanLabels = human.map((p) => p.label);
    const machineFirst = machineLabels.map((guesses) => guesses[0] ?? '');
    counts.add('human', humanLabels, groups);
    counts.add('machine', machineFirst, groups);
    total.add('human', humanLabels, groups);
    total.add('machine', machineFirst, groups);
    perImage.set(line.name, counts);
    const matchedM = new Set(pairs.map(([, m]) => m));
    const removed = points.flatMap((p, m) => (matchedM.has(m) ? [] : [{ row: p.row, column: p.column }]));
    reviewedImages.push({ name: line.name, points: reviewed, ...(removed.length > 0 ? { removed } : {}) });
  }
  // Told at the end, when every label's spelling is known.
  for (const image of reviewedImages) {
    const points = image.points.map((p) => ({ ...p, label: show(p.label), ...(p.machine ? { machine: { ...p.machine, label: show(p.machine.label) } } : {}) }));
    await options.onReviewed?.({ ...image, points });
  }

  const labels = [...perLabel]
    .map(([key, t]) => ({ label: show(key), ...t, top1Accuracy: share(t.top1, t.points), top5Accuracy: share(t.top5, t.points) }))
    .sort((a, b) => a.label.localeCompare(b.label));
  const order = [...seenLabels].sort((a, b) => show(a).localeCompare(show(b)));
  const sum = (key: 'top1' | 'top5') => labels.reduce((n, l) => n + l[key], 0);
  return {
    images: found.size,
    notInResults: [...humanByImage.keys()].filter((name) => !found.has(name)).sort(),
    matched: matchedCount,
    humanOnly,
    machineOnly,
    top1Accuracy: share(sum('top1'), matchedCount),
    top5Accuracy: share(sum('top5'), matchedCount),
    labels,
    confusion: { labels: order.map(show), counts: order.map((h) => order.map((m) => confusion.get(h)?.get(m) ?? 0)) },
    cover: [
      ...[...perImage.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map((name) => perImage.get(name)!.row(name, show)),
      total.row('All reviewed images', show),
    ],
    confidence: confidence.curves(options.target ?? 95, show),
  };
}

/**
 * The machine's side from a COCO file reefstream wrote (`--coco`) and its results file beside it,
 * which holds every classification of each point with its score; the two files are read whole.
 * @example compareWithHumans({ human, machine: machineFromCoco('results.coco.json', 'results.coco.results.json') })
 */
export async function* machineFromCoco(cocoPath: string, resultsPath: string): AsyncGenerator<MachineImage> {
  const coco = await readCocoFile(cocoPath);
  let results: Array<{ image_id: number; category_id: number; keypoints: number[]; score: number }>;
  try {
    results = JSON.parse(await readFile(resultsPath, 'utf8')) as typeof results;
  } catch (error) {
    throw new Error(`${resultsPath} cannot be read (${(error as Error).message}): the machine's scores are in the results file written beside ${cocoPath}.`);
  }
  const codes = new Map(coco.categories.map((c) => [c.id, c.name]));
  type ScoredPoint = MachineImage['points'][number] & { scores: number[] };
  const byImage = new Map<number, Map<string, ScoredPoint>>();
  for (const r of results) {
    const [column, row] = r.keypoints;
    if (column === undefined || row === undefined) continue;
    const points = byImage.get(r.image_id) ?? new Map<string, ScoredPoint>();
    byImage.set(r.image_id, points);
    const key = `${row},${column}`;
    const point: ScoredPoint = points.get(key) ?? { row, column, classifications: [], scores: [] };
    points.set(key, point);
    point.classifications.push({ label_code: codes.get(r.category_id) ?? String(r.category_id) });
    point.scores.push(r.score);
  }
  for (const image of coco.images) {
    const points = [...(byImage.get(image.id)?.values() ?? [])].map(({ row, column, classifications, scores }) => {
      const order = scores.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
      return { row, column, classifications: order.map((i) => ({ ...classifications[i]!, score: scores[i]! })) };
    });
    yield { name: image.file_name, points };
  }
}

/** `agreement` → `agreement.json` and the tables beside it. */
export function agreementPaths(prefix: string): { json: string; labels: string; confusion: string; cover: string; confidence: string; points: string } {
  const base = prefix.replace(/\.json$/i, '');
  return {
    json: `${base}.json`,
    labels: `${base}.labels.csv`,
    confusion: `${base}.confusion.csv`,
    cover: `${base}.cover.csv`,
    confidence: `${base}.confidence.csv`,
    points: `${base}.points.ndjson`,
  };
}

/** The reviewed images of `agreement.points.ndjson` (or of the agreement's JSON path or prefix), one at a time. */
export async function* readReviewedPoints(agreement: string): AsyncGenerator<ReviewedImage> {
  const path = agreement.endsWith('.points.ndjson') ? agreement : agreementPaths(agreement).points;
  let n = 0;
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  try {
    for await (const line of lines) {
      n++;
      if (line.trim() === '') continue;
      const image = JSON.parse(line) as ReviewedImage;
      if (typeof image.name !== 'string' || !Array.isArray(image.points)) throw new Error('no name and points');
      yield image;
    }
  } catch (error) {
    const why = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'it is not there' : `line ${n}: ${(error as Error).message}`;
    throw new Error(`${path} cannot be read (${why}): give the --out of reefstream review compare, which writes it.`, { cause: error });
  }
}

const percentText = (share: number | null | undefined): string => (share === undefined || share === null ? '' : (100 * share).toFixed(2));

/**
 * Writes the agreement as JSON and three CSV tables a spreadsheet opens: accuracy per label, the
 * confusion matrix, and cover side by side (columns `CODE human %`, `CODE machine %`, `CODE difference`).
 * @example await writeAgreement(agreement, 'lagoon-agreement')
 */
export async function writeAgreement(agreement: Agreement, prefix: string): Promise<ReturnType<typeof agreementPaths>> {
  const paths = agreementPaths(prefix);
  await writeFile(paths.json, `${JSON.stringify(agreement, null, 2)}\n`);

  const labels = await CsvFile.open(paths.labels, ['Label', 'Points', 'Top-1 agree', 'Top-5 agree', 'Top-1 accuracy %', 'Top-5 accuracy %']);
  await labels.write([
    ...agreement.labels.map((l) => [l.label, String(l.points), String(l.top1), String(l.top5), percentText(l.top1Accuracy), percentText(l.top5Accuracy)]),
    ['All labels', String(agreement.matched), String(agreement.labels.reduce((n, l) => n + l.top1, 0)), String(agreement.labels.reduce((n, l) => n + l.top5, 0)), percentText(agreement.top1Accuracy), percentText(agreement.top5Accuracy)],
  ]);
  await labels.close();

  const confusion = await CsvFile.open(paths.confusion, ['Human \\ machine', ...agreement.confusion.labels]);
  await confusion.write(agreement.confusion.labels.map((label, i) => [label, ...agreement.confusion.counts[i]!.map(String)]));
  await confusion.close();

  const keys = [...new Set(agreement.cover.flatMap((row) => Object.keys(row.cover)))].sort((a, b) => Number(a.startsWith('group:')) - Number(b.startsWith('group:')) || a.localeCompare(b));
  const title = (key: string) => (key.startsWith('group:') ? `${key.slice(6)} (group)` : key);
  const cover = await CsvFile.open(paths.cover, ['Image', 'Human points', 'Machine points', ...keys.flatMap((k) => [`${title(k)} human %`, `${title(k)} machine %`, `${title(k)} difference`])]);
  await cover.write(
    agreement.cover.map((row) => [
      row.image,
      String(row.humanPoints),
      String(row.machinePoints),
      ...keys.flatMap((k) => {
        const c = row.cover[k] ?? { human: 0, machine: 0, difference: 0 };
        return [c.human.toFixed(2), c.machine.toFixed(2), c.difference.toFixed(2)];
      }),
    ]),
  );
  await cover.close();

  const { overall, labels: byLabel } = agreement.confidence;
  const confidence = await CsvFile.open(paths.confidence, ['Label', 'Threshold %', 'Reviewed points at or above', 'Reviewed share %', 'Top-1 agree', 'Top-1 accuracy %', 'Survey points at or above', 'Survey share %', 'Chosen']);
  for (const curve of [overall, ...byLabel]) {
    await confidence.write(
      curve.rows.map((row) => [
        curve.label,
        String(row.threshold),
        String(row.points),
        percentText(row.share),
        String(row.agreed),
        percentText(row.accuracy),
        String(row.surveyPoints),
        percentText(row.surveyShare),
        curve.chosen?.threshold === row.threshold ? `reaches ${agreement.confidence.target} %` : '',
      ]),
    );
  }
  await confidence.close();
  return paths;
}
