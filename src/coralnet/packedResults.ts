/**
 * A job's result in a few flat arrays: what the result thread hands the main thread. A body of 100
 * images holds ~15,000 classification objects; as numbers in typed arrays (moved, not copied,
 * between threads) and a table of the labelset's few labels, it costs the main thread a fraction of
 * what parsing the JSON cost. Packing also checks the body, in one pass: only the shape the server
 * writes today (numeric label ids, `errors` rather than the legacy `error`) is packed; anything else
 * is left to the schema, which reads it or explains what is wrong. Keys besides the documented ones
 * are dropped, as the schema drops them.
 */
import { hideField, lazyField } from '../util/objects.js';
import type { Classification, ClassifiedPoint, ImageResult } from './schemas.js';

export interface PackedResults {
  /** Each image's URL, in request order. */
  urls: string[];
  /** Each image's errors, or `null` for an image with points. */
  errors: Array<string[] | null>;
  /** Points of each image (0 for a failed one). */
  pointCounts: Uint32Array;
  /** Row and column of each point, in turn. */
  positions: Float64Array;
  /** Classifications of each point. */
  classificationCounts: Uint32Array;
  /** Each classification's label, as an index into `labels`, and its score. */
  labelIndexes: Uint32Array;
  scores: Float64Array;
  /** The labels met: id, code and name. */
  labels: Array<[id: number, code: string, name: string]>;
}

/**
 * A parsed result body packed, or `undefined` when it is not in the shape the server writes today.
 * @example const packed = packResults(JSON.parse(text)); if (packed) unpackResults(packed)
 */
export function packResults(json: unknown): PackedResults | undefined {
  if (!isRecord(json) || !Array.isArray(json.data)) return undefined;
  const items = json.data as unknown[];
  // Counted first, so that every array is made once at its size (no copies, no change of kind).
  const { points: pointTotal, classifications: classificationTotal } = countOf(items);
  const urls: string[] = [];
  const errors: Array<string[] | null> = [];
  const pointCounts = new Uint32Array(items.length);
  const positions = new Float64Array(2 * pointTotal);
  const classificationCounts = new Uint32Array(pointTotal);
  const labelIndexes = new Uint32Array(classificationTotal);
  const scores = new Float64Array(classificationTotal);
  const labels = new LabelTable();
  let point = 0;
  let classification = 0;
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (!isRecord(item) || item.type !== 'image' || typeof item.id !== 'string' || !isRecord(item.attributes)) return undefined;
    const attributes = item.attributes;
    if (typeof attributes.url !== 'string') return undefined;
    urls.push(attributes.url);
    if ('points' in attributes) {
      const points = attributes.points;
      if (!Array.isArray(points)) return undefined;
      for (const p of points as unknown[]) {
        if (!isRecord(p)) return undefined;
        const { row, column, classifications } = p;
        if (!isCount(row) || !isCount(column) || !Array.isArray(classifications) || classifications.length === 0) return undefined;
        positions[2 * point] = row as number;
        positions[2 * point + 1] = column as number;
        classificationCounts[point++] = classifications.length;
        for (const c of classifications as unknown[]) {
          if (!isRecord(c)) return undefined;
          const { label_id: id, label_code: code, label_name: name, score } = c;
          if (!Number.isSafeInteger(id) || typeof code !== 'string' || typeof name !== 'string') return undefined;
          if (typeof score !== 'number' || !(score >= 0 && score <= 1)) return undefined;
          labelIndexes[classification] = labels.indexOf(id as number, code, name);
          scores[classification++] = score;
        }
      }
      pointCounts[i] = points.length;
      errors.push(null);
    } else {
      const list = attributes.errors;
      if (!Array.isArray(list) || list.length === 0 || !list.every((e) => typeof e === 'string')) return undefined;
      errors.push(list);
    }
  }
  return { urls, errors, pointCounts, positions, classificationCounts, labelIndexes, scores, labels: labels.entries };
}

/** The points and classifications a body holds, counted where they are arrays (the packing checks the rest). */
function countOf(items: unknown[]): { points: number; classifications: number } {
  let points = 0;
  let classifications = 0;
  for (const item of items) {
    const list = isRecord(item) && isRecord(item.attributes) ? item.attributes.points : undefined;
    if (!Array.isArray(list)) continue;
    points += list.length;
    for (const point of list as unknown[]) if (isRecord(point) && Array.isArray(point.classifications)) classifications += point.classifications.length;
  }
  return { points, classifications };
}

/**
 * The images of a packed result, as the schema reads them: keys in the schema's order, one object
 * per point and per classification. Each image's points are built when first read (and then kept):
 * a result waits, often, for the images before it to be written.
 * @example unpackResults(packed)[0]  // { url: '…/IMG_0001.JPG', ok: true, points: [{ row: 118, column: 118, classifications: [...] }, …] }
 */
export function unpackResults(packed: PackedResults): ImageResult[] {
  const { urls, errors, pointCounts, classificationCounts } = packed;
  const images: ImageResult[] = [];
  let point = 0;
  let classification = 0;
  for (let i = 0; i < urls.length; i++) {
    const url = urls[i]!;
    const failed = errors[i];
    if (failed) {
      images.push({ url, ok: false, errors: failed });
      continue;
    }
    const build = pointsBuilder(packed, point, classification, pointCounts[i]!);
    const image = lazyPoints({ url, ok: true as const }, build);
    hideField(image, BUILD, build);
    images.push(image);
    for (const end = point + pointCounts[i]!; point < end; point++) classification += classificationCounts[point]!;
  }
  return images;
}

/**
 * Builds an image's points afresh at each call, for a record made from the image that keeps its
 * own (an outcome), so that the image's copy is never made; `undefined` for images not unpacked here.
 * @example const build = pointsBuilderOf(result); classified(outcome, build ?? (() => result.points))
 */
export const pointsBuilderOf = (image: ImageResult): (() => ClassifiedPoint[]) | undefined => (image as { [BUILD]?: () => ClassifiedPoint[] })[BUILD];

const BUILD = Symbol('build points');
const lazyPoints = lazyField<ClassifiedPoint[], 'points'>('points');

/** The points of one image, from its first point and classification in the packed arrays. */
function pointsBuilder(packed: PackedResults, firstPoint: number, firstClassification: number, count: number): () => ClassifiedPoint[] {
  return () => {
    const { positions, classificationCounts, labelIndexes, scores, labels } = packed;
    // Arrays of their exact length: one grown by pushing keeps spare room (a sixth of the records' memory).
    const points = new Array<ClassifiedPoint>(count);
    let classification = firstClassification;
    for (let p = 0, point = firstPoint; p < count; p++, point++) {
      const classifications = new Array<Classification>(classificationCounts[point]!);
      for (let c = 0; c < classifications.length; c++, classification++) {
        const [id, code, name] = labels[labelIndexes[classification]!]!;
        classifications[c] = { label_id: id, label_code: code, label_name: name, score: scores[classification]! };
      }
      points[p] = { row: positions[2 * point]!, column: positions[2 * point + 1]!, classifications };
    }
    return points;
  };
}

/** The typed arrays of a packed result, to move to another thread instead of copying. */
export const arraysOf = (packed: PackedResults): ArrayBuffer[] =>
  [packed.pointCounts, packed.positions, packed.classificationCounts, packed.labelIndexes, packed.scores].map((a) => a.buffer as ArrayBuffer);

/** Labels by id; an id met again with another code or name (never seen) gets an entry of its own. */
class LabelTable {
  readonly entries: Array<[number, string, string]> = [];
  readonly #byId = new Map<number, number>();

  indexOf(id: number, code: string, name: string): number {
    const known = this.#byId.get(id);
    if (known !== undefined) {
      const [, knownCode, knownName] = this.entries[known]!;
      if (knownCode === code && knownName === name) return known;
      const other = this.entries.findIndex(([i, c, n]) => i === id && c === code && n === name);
      if (other >= 0) return other;
    }
    this.entries.push([id, code, name]);
    if (known === undefined) this.#byId.set(id, this.entries.length - 1);
    return this.entries.length - 1;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): boolean {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}
