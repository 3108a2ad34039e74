/**
 * Percent cover: the share of points whose top label is each label, and each group of labels, per
 * image or per group of images (folder, Aux column, or time window of EXIF DateTimeOriginal).
 *
 * Memory: by image, nothing is kept between images. By folder, Aux column or time window, one
 * small accumulator (a count per label, a GPS sum) is kept per group until the end, where the rows
 * come out sorted by key; with `sorted: true` and a survey in time order, time windows are written
 * as soon as a later one starts, so memory stays constant.
 */
import { Observable, type OperatorFunction } from 'rxjs';
import type { LabelGroups } from './labelGroups.js';

/** What cover needs of an annotated image. */
export interface CoverImage {
  name: string;
  dateTimeOriginal?: string;
  latitude?: number;
  longitude?: number;
  aux?: Partial<Record<string, string>>;
  /** The top label code of each point. */
  labels: string[];
  /** Points without a label (not accepted and not reviewed): left out of the percentages. */
  unlabelled?: number;
}

export type CoverGrouping = 'image' | 'folder' | 'Aux1' | 'Aux2' | 'Aux3' | 'Aux4' | 'Aux5' | 'window';

export interface CoverOptions {
  by?: CoverGrouping;
  /** With `by: 'window'`: the window length. Default 60 s. */
  windowMs?: number;
  groups?: LabelGroups;
  /** Time windows come in time order: write each as soon as a later one starts. */
  sorted?: boolean;
}

export interface CoverRow {
  key: string;
  images: number;
  /** Labelled points: the percentages are of these. */
  points: number;
  /** Points without a label, when there are any. */
  unlabelled?: number;
  /** Percent of points per label code. */
  labels: Record<string, number>;
  /** Percent of points per label group. */
  groups: Record<string, number>;
  /** Mean GPS position of the images that have one. */
  latitude?: number;
  longitude?: number;
  /** With time windows: the first and last DateTimeOriginal in the group. */
  first?: string;
  last?: string;
}

/** Seconds since the epoch of an EXIF `2024:03:05 10:11:12`, read as UTC (EXIF has no zone). */
export function exifSeconds(value: string | undefined): number | undefined {
  const m = /^(\d{4})[:-](\d{2})[:-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})/.exec(value ?? '');
  if (!m) return undefined;
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) / 1000;
}

/** A window's start in ISO 8601 local time (`2024-03-05T09:00:00`; EXIF has no zone), as R and spreadsheets read it. */
function windowKey(start: number): string {
  return new Date(start * 1000).toISOString().replace('.000Z', '');
}

/** An EXIF time (`2024:03:05 09:00:19`) in ISO 8601 (`2024-03-05T09:00:19`); other text as it is. */
export function isoOfExif(value: string): string {
  const m = /^(\d{4})[:-](\d{2})[:-](\d{2})[ T](\d{2}:\d{2}:\d{2})/.exec(value);
  return m ? `${m[1]}-${m[2]}-${m[3]}T${m[4]}` : value;
}

class Tally {
  images = 0;
  points = 0;
  unlabelled = 0;
  counts = new Map<string, number>();
  gps = { n: 0, lat: 0, lon: 0 };
  first?: string;
  last?: string;

  add(image: CoverImage): void {
    this.images++;
    this.points += image.labels.length;
    this.unlabelled += image.unlabelled ?? 0;
    for (const label of image.labels) this.counts.set(label, (this.counts.get(label) ?? 0) + 1);
    if (image.latitude !== undefined && image.longitude !== undefined) {
      this.gps.n++;
      this.gps.lat += image.latitude;
      this.gps.lon += image.longitude;
    }
    if (image.dateTimeOriginal !== undefined) {
      if (this.first === undefined || image.dateTimeOriginal < this.first) this.first = image.dateTimeOriginal;
      if (this.last === undefined || image.dateTimeOriginal > this.last) this.last = image.dateTimeOriginal;
    }
  }

  row(key: string, groups: LabelGroups | undefined, withTimes: boolean): CoverRow {
    const percent = (n: number): number => (this.points === 0 ? 0 : (100 * n) / this.points);
    const labels: Record<string, number> = {};
    const groupCounts = new Map<string, number>();
    for (const [label, n] of [...this.counts].sort(([a], [b]) => a.localeCompare(b))) {
      labels[label] = percent(n);
      const group = groups?.get(label);
      if (group !== undefined) groupCounts.set(group, (groupCounts.get(group) ?? 0) + n);
    }
    const groupPercent: Record<string, number> = {};
    for (const group of new Set(groups?.values() ?? [])) groupPercent[group] = percent(groupCounts.get(group) ?? 0);
    return {
      key,
      images: this.images,
      points: this.points,
      ...(this.unlabelled > 0 ? { unlabelled: this.unlabelled } : {}),
      labels,
      groups: groupPercent,
      ...(this.gps.n > 0 ? { latitude: this.gps.lat / this.gps.n, longitude: this.gps.lon / this.gps.n } : {}),
      ...(withTimes ? { first: this.first, last: this.last } : {}),
    };
  }
}

/** The group an image belongs to, or undefined when it has none (no date for a time window). */
function keyOf(image: CoverImage, by: CoverGrouping, windowMs: number): string | undefined {
  switch (by) {
    case 'image':
      return image.name;
    case 'folder':
      return image.name.includes('/') ? image.name.slice(0, image.name.lastIndexOf('/')) : '.';
    case 'window': {
      const seconds = exifSeconds(image.dateTimeOriginal);
      if (seconds === undefined) return undefined;
      const size = windowMs / 1000;
      return windowKey(Math.floor(seconds / size) * size);
    }
    default:
      return image.aux?.[by] ?? '';
  }
}

/**
 * @example
 * images$.pipe(percentCover({ by: 'window', windowMs: 60_000, groups: await readLabelGroups('groups.csv') }))
 */
export function percentCover(options: CoverOptions = {}): OperatorFunction<CoverImage, CoverRow> {
  const by = options.by ?? 'image';
  const windowMs = options.windowMs ?? 60_000;
  const withTimes = by === 'window';
  return (source) =>
    new Observable<CoverRow>((subscriber) => {
      const open = new Map<string, Tally>();
      let latest: string | undefined;
      const flush = (key: string): void => {
        subscriber.next(open.get(key)!.row(key, options.groups, withTimes));
        open.delete(key);
      };
      return source.subscribe({
        next: (image) => {
          const key = keyOf(image, by, windowMs);
          if (key === undefined) return;
          if (by === 'image') {
            const tally = new Tally();
            tally.add(image);
            subscriber.next(tally.row(key, options.groups, false));
            return;
          }
          if (options.sorted && by === 'window') {
            if (latest !== undefined && key < latest) {
              subscriber.error(new Error(`${image.name} (${image.dateTimeOriginal}) comes after photos of ${latest}: the survey is not in time order; leave out the sorted option.`));
              return;
            }
            if (latest !== undefined && key > latest) flush(latest);
            latest = key;
          }
          let tally = open.get(key);
          if (!tally) open.set(key, (tally = new Tally()));
          tally.add(image);
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => {
          for (const key of [...open.keys()].sort()) flush(key);
          subscriber.complete();
        },
      });
    });
}
