/**
 * A whole survey run: images from a source, points placed, jobs sent to CoralNet within its
 * limits, and every image written to the CSV and NDJSON outputs or to the errors file.
 */
import { mkdir, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { concatMap, filter, from, lastValueFrom, map, merge, mergeMap, of, type OperatorFunction } from 'rxjs';
import { CoralNetClient, CORALNET_API, type ClientEvent } from '../coralnet/client.js';
import { MAX_IMAGES_PER_JOB } from '../coralnet/deployRequest.js';
import type { RateWindow } from '../util/duration.js';
import { isLoopbackHost } from '../util/loopback.js';
import { headerReader } from '../images/headerReader.js';
import type { AnnotationArea, PointMethod } from '../images/points.js';
import type { ImageOutcome, ImageRef, PlannedImage, ProbedImage } from '../model.js';
import { annotate, chunksAtOnce } from '../operators/annotate.js';
import { chunk } from '../operators/chunk.js';
import { dropDuplicates } from '../operators/dropDuplicates.js';
import type { OrFailed } from '../operators/failures.js';
import { imagesOf, listImages, type ImageSource } from '../operators/listImages.js';
import { probe } from '../operators/probe.js';
import { givenPoints, readPointsCsv, samplePoints } from '../operators/samplePoints.js';
import { csvHeader, writeCsvLines } from '../operators/toRows.js';
import { CsvFile } from '../sinks/csv.js';
import { LineBytes } from '../sinks/lineBytes.js';
import { NdjsonFile } from '../sinks/lineFile.js';
import { serveFolder, type ServedFolder } from '../sources/folderServer.js';
import { Credits } from './credits.js';
import { Journal, readJournal, type Checkpoint, type JournalState, type Tally } from './journal.js';
import { PollPlanner } from './pollPlanner.js';
import { inSourceOrder } from './sourceOrder.js';
import { pollUntilDone } from '../operators/pollUntilDone.js';
import { retryErrors } from '../operators/retryErrors.js';
import type { DeployHooks, SubmittedJob } from '../operators/deploy.js';
import { showProgress, type Progress } from './progress.js';
import { withFields } from '../util/objects.js';

export interface SurveyOptions {
  /** The API base ending in `/api/`. Default CoralNet's. */
  apiUrl?: string;
  token?: string;
  username?: string;
  password?: string;
  /** A client already connected (pipelines that share one); the credentials above are then unused. */
  client?: CoralNetClient;
  classifierId: number | string;
  source: ImageSource;
  /** How the source is named in the journal's settings when it is not a path (`dropbox:/Surveys/site1`). */
  sourceName?: string;
  /** `random:30`, `stratified:5x6x1`, `grid:10x10`; or `pointsCsv`. */
  points?: string | PointMethod;
  /** A CSV of `Name,Row,Column`: the points of each image, instead of `points`. */
  pointsCsv?: string;
  area?: string | AnnotationArea;
  seed?: number | string;
  /** The CSV output (CoralNet's export columns). */
  out: string;
  /** One line per image: points with all classifications and raw scores, and the request. */
  ndjson?: string;
  /** One line per failed image, with its reason and attempts. Default: next to `out`. */
  errors?: string;
  /** Public URL prefix under which the local folder's images are published, for the real CoralNet. */
  urlPrefix?: string;
  /**
   * The folder a source's local files are in when the source is not a folder path (a COCO
   * Annotator dataset downloads into one): its images are published as a folder source's are.
   */
  imagesFolder?: string;
  /** Date, Aux1–5, Latitude, Longitude columns. Default true. */
  metadata?: boolean;
  /** Every image has this size: no probing (EXIF columns stay empty). */
  imageSize?: { width: number; height: number };
  /** Times an image is sent at most. Default 3. */
  maxAttempts?: number;
  /** The client's request windows and job slots; CoralNet's by default. */
  windows?: readonly RateWindow[];
  jobSlots?: number;
  /** Images in flight at most. Default 100 × (2 × job slots + 1): the jobs running, as many ready to go, one being written. */
  window?: number;
  /** A partial chunk is sent after this long without a new image. Default 2 s. */
  chunkFlushMs?: number;
  /** Draw a progress line on this stream when it is a terminal. */
  progressStream?: NodeJS.WriteStream;
  onEvent?: (event: ClientEvent) => void;
  /** Told of a resume. */
  log?: (line: string) => void;
}

/** The whole survey's figures: a resumed run adds those of the runs before the crash. */
export interface SurveySummary {
  images: number;
  annotated: number;
  failed: number;
  points: number;
  /** Deploy jobs sent. */
  jobs: number;
  /** Running time, the time between a crash and its resume left out. */
  seconds: number;
  imagesPerMinute: number;
  /** How many times the run was resumed after an interruption. */
  resumes: number;
  /** Failure reasons and how many images each. */
  failures: Record<string, number>;
  outputs: { csv: string; ndjson?: string; errors: string; run: string };
}

/** The run's summary next to the CSV: `results.csv` → `results.run.json` (the report reads it). */
export const runSummaryPath = (out: string): string => `${out.replace(/\.csv$/i, '')}.run.json`;

/** The errors file next to the CSV: `results.csv` → `results.errors.ndjson`. */
export const defaultErrorsPath = (out: string): string => `${out.replace(/\.csv$/i, '')}.errors.ndjson`;

/** Gives each local image a URL CoralNet can download. */
function publish<T extends ImageRef>(urlOf: ((image: ImageRef) => string) | undefined): OperatorFunction<T, T> {
  return map((image) => (image.url !== undefined || urlOf === undefined ? image : withFields(image, { url: urlOf(image) })));
}

async function countImages(source: ImageSource): Promise<number | undefined> {
  if (typeof source !== 'string') return undefined;
  let n = 0;
  for await (const image of imagesOf(source)) if (image) n++;
  return n;
}

/** A short reason for summaries: the exception name of CoralNet's message, or the message after the image's name. */
export function reasonKind(reason: string): string {
  return /^[\w.]*?(\w+Error)\b/.exec(reason)?.[1] ?? reason.replace(/^\S+ /, '').slice(0, 60);
}

/**
 * Runs a survey from source to outputs.
 * @example
 * const summary = await runSurvey({
 *   token: process.env.CORALNET_TOKEN, username: 'me', classifierId: 1234,
 *   source: 'urls.csv', points: 'stratified:5x6x1', area: '15,85,15,85', seed: 1, out: 'results.csv',
 * });
 */
export async function runSurvey(options: SurveyOptions): Promise<SurveySummary> {
  const started = Date.now();
  const apiUrl = new URL(options.client?.apiUrl.href ?? options.apiUrl ?? CORALNET_API);
  const errorsPath = options.errors ?? defaultErrorsPath(options.out);
  if (options.points === undefined && options.pointsCsv === undefined) throw new Error('Say where the points go: --points (random:30, stratified:5x6x1, grid:10x10) or --points-csv FILE.');

  // Local images must be reachable by the server: served on loopback for a server on this machine,
  // or published by the user under a public URL prefix.
  let served: ServedFolder | undefined;
  let urlOf: ((image: ImageRef) => string) | undefined;
  const folder = options.imagesFolder ?? (typeof options.source === 'string' && (await stat(options.source).catch(() => undefined))?.isDirectory() ? options.source : undefined);
  // A folder's photos are read on the header thread: it loads while the run connects.
  if (folder !== undefined && options.imageSize === undefined) headerReader.thread.start();
  if (options.urlPrefix !== undefined) {
    const prefix = options.urlPrefix.endsWith('/') ? options.urlPrefix : `${options.urlPrefix}/`;
    urlOf = (image) => prefix + image.name.split('/').map(encodeURIComponent).join('/');
  } else if (folder !== undefined) {
    if (!isLoopbackHost(apiUrl.hostname)) {
      throw new Error(
        `CoralNet downloads each image by URL, so the images in ${folder} must be published first: put the folder where the web can read it (a public Dropbox or S3 folder, a web server) and give its URL with --url-prefix (image names are appended to it), or give a URL list as --source.`,
      );
    }
    urlOf = (image) => served!.urlOf(image.name);
  }

  const client =
    options.client ??
    (await CoralNetClient.connect({
      apiUrl: apiUrl.href,
      token: options.token,
      username: options.username,
      password: options.password,
      windows: options.windows,
      jobSlots: options.jobSlots,
      onEvent: options.onEvent,
    }));
  try {
    if (folder !== undefined && options.urlPrefix === undefined) {
      await mkdir(folder, { recursive: true });
      served = await serveFolder(folder);
    }
    return await annotateSurvey(options, client, urlOf, errorsPath, started);
  } finally {
    if (!options.client) await client.close();
    await served?.close();
  }
}

/** The journal next to the CSV: `results.csv` → `results.journal.ndjson`. */
export const journalPath = (out: string): string => `${out.replace(/\.csv$/i, '')}.journal.ndjson`;

/** Jobs of an interrupted run to poll again instead of sending their images again. */
async function recoverJobs(client: CoralNetClient, state: JournalState, written: number): Promise<{ recovered: Array<{ job: SubmittedJob; owns: Set<number> }>; found?: { job: string; seqs: number[] } }> {
  const jobs = [...state.jobs];
  let found: { job: string; seqs: number[] } | undefined;
  // A deploy whose answer the crash cut off: the account's one new job above the id known then.
  if (state.unconfirmed.length === 1 && client.username !== undefined && state.unconfirmed[0]!.knownMax !== undefined) {
    const known = new Set(jobs.map((j) => j.job));
    const user = await client.user();
    const above = [...user.activeJobIds, ...user.recentlyCompletedJobIds].filter((id) => Number(id) > Number(state.unconfirmed[0]!.knownMax) && !known.has(id));
    if (above.length === 1) {
      jobs.push({ job: above[0]!, images: state.unconfirmed[0]!.images });
      found = { job: above[0]!, seqs: state.unconfirmed[0]!.images.map((image) => image.seq ?? -1) };
    }
  }
  // Each image belongs to the last job it was sent in.
  const owner = new Map<number, string>();
  for (const { job, images } of jobs) for (const image of images) if ((image.seq ?? -1) >= written) owner.set(image.seq!, job);
  const recovered: Array<{ job: SubmittedJob; owns: Set<number> }> = [];
  for (const { job, images } of jobs) {
    const owns = new Set(images.map((image) => image.seq!).filter((seq) => owner.get(seq) === job));
    if (owns.size === 0) continue;
    const handle = client.jobFromId(job);
    client.adopt(handle);
    recovered.push({ job: { job: handle, images, sentAt: Date.now() }, owns });
  }
  return { recovered, found };
}

/** The run itself, once the client is connected and the images can be reached. */
async function annotateSurvey(
  options: SurveyOptions,
  client: CoralNetClient,
  urlOf: ((image: ImageRef) => string) | undefined,
  errorsPath: string,
  started: number,
): Promise<SurveySummary> {
  const pointsStep: OperatorFunction<OrFailed<ProbedImage>, OrFailed<PlannedImage>> =
    options.pointsCsv !== undefined
      ? givenPoints(await readPointsCsv(options.pointsCsv))
      : samplePoints({ method: options.points!, area: options.area, seed: options.seed });
  const metadata = options.metadata ?? true;
  const settings = {
    source: options.sourceName ?? (typeof options.source === 'string' ? options.source : '(code)'),
    classifierId: String(options.classifierId),
    points: options.points ?? null,
    pointsCsv: options.pointsCsv ?? null,
    area: typeof options.area === 'object' ? options.area : (options.area ?? null),
    seed: String(options.seed ?? 1),
    metadata,
    ndjson: options.ndjson ?? null,
  };
  const journalFile = journalPath(options.out);
  // Output folders are made as needed, like any tool that writes to a path it is given.
  for (const path of [options.out, options.ndjson, errorsPath]) if (path !== undefined) await mkdir(dirname(path), { recursive: true });
  const previous = await readJournal(journalFile);
  if (previous?.settings && JSON.stringify(previous.settings) !== JSON.stringify(settings)) {
    throw new Error(`${journalFile} belongs to an interrupted run with other settings (${JSON.stringify(previous.settings)}): run that command again to finish it, or move the journal away to start over.`);
  }
  const checkpoint = previous?.checkpoint;
  const written = checkpoint?.images ?? 0;
  const planner = new PollPlanner(client.gate);
  // Local photos are served at a new address by each run: resends of recovered images use this run's.
  const republish = (image: PlannedImage): PlannedImage => (image.path !== undefined && urlOf !== undefined ? withFields(image, { url: urlOf(image) }) : image);
  const recovery = previous ? await recoverJobs(client, previous, written) : { recovered: [] };
  const recovered = recovery.recovered.map(({ job, owns }) => ({ job: { ...job, images: job.images.map(republish) }, owns }));
  const owned = new Set(recovered.flatMap(({ owns }) => [...owns]));
  if (previous) options.log?.(`resuming the run of ${journalFile}: ${written} images already written, ${recovered.length} ${recovered.length === 1 ? 'job' : 'jobs'} to poll again`);

  const window = Math.max(options.window ?? MAX_IMAGES_PER_JOB * (chunksAtOnce(client.gate.jobs.limit) + 1), owned.size + MAX_IMAGES_PER_JOB);
  const credits = new Credits(window);
  for (let i = 0; i < owned.size; i++) await credits.take();
  const progress: Progress = { done: 0, failed: 0, inFlight: 0, activeJobs: 0, points: 0, startedAt: started };
  void countImages(options.source).then(
    (total) => (progress.total = total),
    () => undefined,
  );
  const csv = await CsvFile.open(options.out, csvHeader({ metadata }), checkpoint?.csv);
  const ndjson = options.ndjson === undefined ? undefined : await NdjsonFile.open(options.ndjson, checkpoint?.ndjson);
  const errors = await NdjsonFile.open(errorsPath, checkpoint?.errors);
  const journal = await Journal.open(journalFile, previous);
  // The job found for a deploy whose answer the crash cut off is this run's to record, before
  // `resumed` settles the deploys still without a job.
  if (recovery.found) await journal.record({ t: 'sent', ...recovery.found });
  await journal.record(previous === undefined ? { t: 'start', settings } : { t: 'resumed' });
  // What earlier runs of this survey did, up to the checkpoint resumed from.
  const earlier: Tally = checkpoint?.tally ?? { annotated: 0, failed: 0, points: 0, jobs: 0, seconds: 0, failures: {} };
  // Jobs sent after that checkpoint, and the one whose id the crash kept from the journal.
  let jobsSent = (previous?.sentSinceCheckpoint ?? 0) + (recovery.found ? 1 : 0);
  const hooks: DeployHooks = {
    beforeSend: (images, knownMax) => journal.record({ t: 'sending', images, knownMax }),
    afterSend: (job, images) => {
      jobsSent++;
      return journal.record({ t: 'sent', job: job.id, seqs: images.map((image) => image.seq ?? -1) });
    },
  };
  const stopProgress = showProgress(
    () => ({ ...progress, inFlight: credits.inUse, activeJobs: client.gate.jobs.active }),
    options.progressStream ?? process.stderr,
  );
  const failures: Record<string, number> = { ...earlier.failures };
  const request = { classifierId: options.classifierId, points: options.points ?? `csv:${options.pointsCsv}`, area: options.area, seed: options.seed ?? 1 };
  let next = written;
  let lastCheckpoint = { images: written, at: Date.now() };

  /** The whole survey's figures so far: the earlier runs' (up to the checkpoint resumed from) and this one's. */
  const tally = (): Tally => ({
    annotated: earlier.annotated + progress.done,
    failed: earlier.failed + progress.failed,
    points: earlier.points + progress.points,
    jobs: earlier.jobs + jobsSent,
    seconds: earlier.seconds + (Date.now() - started) / 1000,
    failures,
  });
  /** Outputs on disk, then the journal says so: a crash after this loses nothing before `next`. */
  const saveCheckpoint = async (): Promise<void> => {
    const at: Checkpoint = { images: next, csv: await csv.checkpoint(), errors: await errors.checkpoint(), ...(ndjson ? { ndjson: await ndjson.checkpoint() } : {}), tally: tally() };
    await journal.record({ t: 'written', at });
    lastCheckpoint = { images: next, at: Date.now() };
  };

  const lines = new LineBytes();
  const write = async (outcome: ImageOutcome): Promise<void> => {
    if (outcome.ok) {
      writeCsvLines(outcome, { metadata }, lines);
      await csv.writeBytes(lines.take());
      await ndjson?.write({
        name: outcome.name,
        url: outcome.url,
        path: outcome.path,
        width: outcome.width,
        height: outcome.height,
        dateTimeOriginal: outcome.dateTimeOriginal,
        latitude: outcome.latitude,
        longitude: outcome.longitude,
        aux: outcome.aux,
        attempts: outcome.attempts,
        jobIds: outcome.jobIds,
        request,
        points: outcome.classified,
      });
      progress.done++;
      progress.points += outcome.classified.length;
    } else {
      await errors.write({ name: outcome.name, url: outcome.url, path: outcome.path, reason: outcome.reason, transient: outcome.transient, attempts: outcome.attempts, jobIds: outcome.jobIds });
      progress.failed++;
      const kind = reasonKind(outcome.reason);
      failures[kind] = (failures[kind] ?? 0) + 1;
    }
    next = (outcome.seq ?? next) + 1;
    credits.give();
    if (next - lastCheckpoint.images >= MAX_IMAGES_PER_JOB || Date.now() - lastCheckpoint.at >= 1000) await saveCheckpoint();
  };

  const annotateOptions = { classifierId: options.classifierId, maxAttempts: options.maxAttempts, planner, hooks };
  const fromSource = listImages(options.source, credits).pipe(
    map((image, seq) => withFields(image, { seq })),
    dropDuplicates(),
    filter((image) => {
      const seq = image.seq!; // numbered just above
      const keep = seq >= written && !owned.has(seq);
      if (!keep) credits.give();
      return keep;
    }),
    publish(urlOf),
    probe({ imageSize: options.imageSize }),
    pointsStep,
    chunk(MAX_IMAGES_PER_JOB, options.chunkFlushMs ?? 2000),
    annotate(client, annotateOptions),
  );
  const fromJournal = from(recovered).pipe(
    mergeMap(({ job, owns }) =>
      of(job).pipe(
        pollUntilDone(client, planner),
        retryErrors(client, annotateOptions),
        filter((outcome) => owns.has(outcome.seq ?? -1)),
      ),
    ),
  );

  const closeAll = async (): Promise<void> => {
    stopProgress();
    await csv.close();
    await ndjson?.close();
    await errors.close();
    await journal.close();
  };
  try {
    await lastValueFrom(
      merge(fromJournal, fromSource).pipe(inSourceOrder(written), concatMap(write)),
      { defaultValue: undefined },
    );
    await saveCheckpoint();
  } catch (error) {
    await closeAll();
    // A run stopped before any job was made or any image written (a wrong classifier id, say) has
    // nothing to resume: its journal would only refuse the corrected command.
    if (previous === undefined && jobsSent === 0 && next === 0) await unlink(journalFile).catch(() => undefined);
    throw error;
  }
  await closeAll();
  const total = tally();
  const { seconds } = total;
  const images = total.annotated + total.failed;
  const summary: SurveySummary = {
    images,
    annotated: total.annotated,
    failed: total.failed,
    points: total.points,
    jobs: total.jobs,
    seconds,
    resumes: previous ? previous.resumes + 1 : 0,
    imagesPerMinute: seconds > 0 ? (images / seconds) * 60 : 0,
    failures,
    outputs: { csv: options.out, ...(options.ndjson ? { ndjson: options.ndjson } : {}), errors: errorsPath, run: runSummaryPath(options.out) },
  };
  await writeFile(summary.outputs.run, `${JSON.stringify({ ...summary, finishedAt: new Date().toISOString(), request: { classifierId: options.classifierId, points: options.points, area: options.area, seed: options.seed ?? 1 } }, null, 2)}\n`);
  // Finished, the summary written: the journal has nothing left to resume. Removed last, so that a
  // run stopped before this point is resumed (and finds nothing to send) rather than started again.
  await unlink(journalFile);
  return summary;
}
