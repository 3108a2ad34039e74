import { map, type OperatorFunction } from 'rxjs';
import type { AnnotatedImage, ImageOutcome } from '../model.js';

export interface RowOptions {
  /** Date, Aux1–Aux5, Latitude and Longitude columns before Row, as CoralNet's metadata options. */
  metadata?: boolean;
  /** How many machine suggestion/confidence pairs, 0 to 5. Default 5. */
  suggestions?: number;
}

const AUX = ['Aux1', 'Aux2', 'Aux3', 'Aux4', 'Aux5'] as const;

/**
 * An integer percentage as CoralNet writes it: Python's `round(score * 100)`, halves to even, of
 * the floating-point product. 0.125 → 12, 0.135 → 14, 0.145 → 14.
 */
export function confidencePercent(score: number): number {
  const x = score * 100;
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** CoralNet's export header for these options. */
export function csvHeader(options: RowOptions = {}): string[] {
  const suggestions = options.suggestions ?? 5;
  return [
    'Name',
    ...(options.metadata ? ['Date', ...AUX, 'Latitude', 'Longitude'] : []),
    'Row',
    'Column',
    'Label code',
    'Annotator',
    ...Array.from({ length: suggestions }, (_, i) => [`Machine suggestion ${i + 1}`, `Machine confidence ${i + 1}`]).flat(),
  ];
}

/** `2024:03:05 10:11:12` → `2024-03-05`. */
const exifDate = (value: string | undefined): string => {
  const match = /^(\d{4})[:-](\d{2})[:-](\d{2})/.exec(value ?? '');
  return match ? `${match[1]}-${match[2]}-${match[3]}` : '';
};

/** The Date, Aux and position columns of an image, when the options ask for them. */
const metadataOf = (image: AnnotatedImage, options: RowOptions): string[] =>
  options.metadata
    ? [exifDate(image.dateTimeOriginal), ...AUX.map((a) => image.aux?.[a] ?? ''), image.latitude?.toString() ?? '', image.longitude?.toString() ?? '']
    : [];

/** The `Machine suggestion N`, `Machine confidence N` cells of a point: the first `suggestions` classifications, empty cells for those it lacks. */
export function suggestionCells(classifications: ReadonlyArray<{ label_code: string; score: number }>, suggestions = 5): string[] {
  return Array.from({ length: suggestions }, (_, i) => classifications[i]).flatMap((c) => (c ? [c.label_code, String(confidencePercent(c.score))] : ['', '']));
}

/** The export rows of one annotated image, one per point, in point order. */
export function rowsOf(image: AnnotatedImage, options: RowOptions = {}): string[][] {
  const metadata = metadataOf(image, options);
  return image.classified.map((point) => [
    image.name,
    ...metadata,
    String(point.row),
    String(point.column),
    point.classifications[0]!.label_code,
    'robot',
    ...suggestionCells(point.classifications, options.suggestions),
  ]);
}

/**
 * Turns each outcome into CoralNet export rows (none for a failed image).
 * @example outcomes$.pipe(toRows({ metadata: true }))
 */
export function toRows(options: RowOptions = {}): OperatorFunction<ImageOutcome, { outcome: ImageOutcome; rows: string[][] }> {
  return map((outcome) => ({ outcome, rows: outcome.ok ? rowsOf(outcome, options) : [] }));
}
