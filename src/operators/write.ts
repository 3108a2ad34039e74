/**
 * The sinks of a pipeline, as operators: each writes the outcomes it takes to its file, in the order
 * they come, passes them on, and gives back each image's credit once it is written (see
 * `listImages`), so that the listing goes on only as far as the outputs have come.
 */
import { catchError, concat, concatMap, defer, ignoreElements, type MonoTypeOperatorFunction, type Observable, throwError } from 'rxjs';
import { giveBack } from '../flow/credits.js';
import type { AnnotatedImage, FailedImage, ImageOutcome } from '../model.js';
import { CsvFile } from '../sinks/csv.js';
import { NdjsonFile } from '../sinks/outputFile.js';
import { csvHeader, rowsOf, type RowOptions } from './toRows.js';

interface Closable {
  close(): Promise<void>;
}

/** Writes each outcome with `write`; a file given as a path is opened here and closed with the stream. */
function writeEach<F extends Closable>(file: string | F, open: (path: string) => Promise<F>, write: (file: F, outcome: ImageOutcome) => Promise<void>): MonoTypeOperatorFunction<ImageOutcome> {
  return (source) =>
    defer(() => {
      let opened: Promise<F> | undefined;
      const fileOf = (): Promise<F> => (opened ??= typeof file === 'string' ? open(file) : Promise.resolve(file));
      const closeOwn = async (): Promise<void> => {
        if (typeof file === 'string') await (await fileOf()).close();
      };
      const written: Observable<ImageOutcome> = source.pipe(
        concatMap(async (outcome) => {
          await write(await fileOf(), outcome);
          giveBack(outcome);
          return outcome;
        }),
      );
      return concat(written, defer(closeOwn).pipe(ignoreElements())).pipe(catchError((error: unknown) => defer(closeOwn).pipe(concatMap(() => throwError(() => error)))));
    });
}

/**
 * CoralNet's export rows of each annotated image, in a CSV with CoralNet's header.
 * @example outcomes$.pipe(writeCsv('results.csv', { metadata: true }))
 */
export function writeCsv(file: string | CsvFile, options: RowOptions = {}): MonoTypeOperatorFunction<ImageOutcome> {
  return writeEach(
    file,
    (path) => CsvFile.open(path, csvHeader(options)),
    async (csv, outcome) => {
      if (outcome.ok) await csv.write(rowsOf(outcome, options));
    },
  );
}

/** What a run's NDJSON holds of an annotated image: its source, size, EXIF, attempts, jobs, the request, and every classification of every point. */
export function resultLine(image: AnnotatedImage, request?: unknown): Record<string, unknown> {
  return {
    name: image.name,
    url: image.url,
    path: image.path,
    width: image.width,
    height: image.height,
    orientation: image.orientation,
    dateTimeOriginal: image.dateTimeOriginal,
    latitude: image.latitude,
    longitude: image.longitude,
    aux: image.aux,
    attempts: image.attempts,
    jobIds: image.jobIds,
    request,
    points: image.classified,
  };
}

/** What the errors file holds of an image that was not annotated. */
export function errorLine(image: FailedImage): Record<string, unknown> {
  return { name: image.name, url: image.url, path: image.path, reason: image.reason, transient: image.transient, attempts: image.attempts, jobIds: image.jobIds };
}

/**
 * One JSON line per annotated image (see {@link resultLine}), with `request` (what was asked of
 * CoralNet) in each.
 * @example outcomes$.pipe(writeNdjson('results.ndjson', { request: { classifierId: 1234, points: 'stratified:5x6x1' } }))
 */
export function writeNdjson(file: string | NdjsonFile, options: { request?: unknown } = {}): MonoTypeOperatorFunction<ImageOutcome> {
  return writeEach(
    file,
    (path) => NdjsonFile.open(path),
    async (ndjson, outcome) => {
      if (outcome.ok) await ndjson.write(resultLine(outcome, options.request));
    },
  );
}

/**
 * One JSON line per image that was not annotated, with its reason (see {@link errorLine}).
 * @example outcomes$.pipe(writeErrors('results.errors.ndjson'))
 */
export function writeErrors(file: string | NdjsonFile): MonoTypeOperatorFunction<ImageOutcome> {
  return writeEach(
    file,
    (path) => NdjsonFile.open(path),
    async (errors, outcome) => {
      if (!outcome.ok) await errors.write(errorLine(outcome));
    },
  );
}
