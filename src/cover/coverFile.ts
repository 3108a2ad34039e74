/**
 * Percent cover from a run's NDJSON to a CSV. The NDJSON is read twice, line by line: once for the
 * label codes (the CSV's columns), once for the cover.
 */
import { concatMap, lastValueFrom } from 'rxjs';
import { pull } from '../flow/credits.js';
import { CsvFile } from '../sinks/csv.js';
import { readResultLines, type ResultLine } from '../results/resultLines.js';
import type { LabelGroups } from './labelGroups.js';
import { isoOfExif, percentCover, type CoverGrouping, type CoverImage, type CoverRow } from './percentCover.js';

/** A point's label: the accepted one (`reefstream accept`), else the machine's top label; null for none. */
const labelOf = (point: ResultLine['points'][number] & { label_code?: string | null }): string | null =>
  point.label_code !== undefined ? point.label_code : (point.classifications[0]?.label_code ?? '');

/** The annotated images of a run's NDJSON (or of `reefstream accept`'s), one at a time. */
export async function* readAnnotatedImages(file: string): AsyncGenerator<CoverImage> {
  for await (const { name, dateTimeOriginal, latitude, longitude, aux, points } of readResultLines(file)) {
    const labels = points.map(labelOf);
    const given = labels.filter((label): label is string => label !== null);
    yield { name, dateTimeOriginal, latitude, longitude, aux, labels: given, ...(given.length < labels.length ? { unlabelled: labels.length - given.length } : {}) };
  }
}

const KEY_COLUMN: Record<CoverGrouping, string> = {
  image: 'Image',
  folder: 'Folder',
  Aux1: 'Aux1',
  Aux2: 'Aux2',
  Aux3: 'Aux3',
  Aux4: 'Aux4',
  Aux5: 'Aux5',
  window: 'Window start',
};

export interface CoverFileOptions {
  input: string;
  out: string;
  by: CoverGrouping;
  windowMs?: number;
  groups?: LabelGroups;
  sorted?: boolean;
  /** Add the mean GPS position of each group. */
  gps?: boolean;
}

const percent = (value: number | undefined): string => (value ?? 0).toFixed(2);

/** Writes the cover CSV; returns how many rows. */
export async function writeCoverCsv(options: CoverFileOptions): Promise<number> {
  const codes = new Set<string>();
  let unlabelled = false;
  for await (const image of readAnnotatedImages(options.input)) {
    for (const label of image.labels) codes.add(label);
    if (image.unlabelled) unlabelled = true;
  }
  const labels = [...codes].sort((a, b) => a.localeCompare(b));
  const groups = [...new Set(options.groups?.values() ?? [])];
  const window = options.by === 'window';
  const header = [
    KEY_COLUMN[options.by],
    ...(window ? ['First photo', 'Last photo'] : []),
    'Images',
    'Points',
    ...(unlabelled ? ['Unlabelled points'] : []),
    ...(options.gps ? ['Latitude', 'Longitude'] : []),
    ...labels.map((code) => `${code} %`),
    ...groups.map((group) => `${group} (group) %`),
  ];
  const csv = await CsvFile.open(options.out, header);
  let rows = 0;
  try {
    await lastValueFrom(
      pull(readAnnotatedImages(options.input)).pipe(
        percentCover({ by: options.by, windowMs: options.windowMs, groups: options.groups, sorted: options.sorted }),
        concatMap(async (row: CoverRow) => {
          rows++;
          await csv.write([
            [
              row.key,
              ...(window ? [isoOfExif(row.first ?? ''), isoOfExif(row.last ?? '')] : []),
              String(row.images),
              String(row.points),
              ...(unlabelled ? [String(row.unlabelled ?? 0)] : []),
              ...(options.gps ? [row.latitude?.toFixed(6) ?? '', row.longitude?.toFixed(6) ?? ''] : []),
              ...labels.map((code) => percent(row.labels[code])),
              ...groups.map((group) => percent(row.groups[group])),
            ],
          ]);
        }),
      ),
      { defaultValue: undefined },
    );
  } finally {
    await csv.close();
  }
  return rows;
}
