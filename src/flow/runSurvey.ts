/**
 * A whole survey run: images from a source, points placed, jobs sent to CoralNet within its
 * limits, and every image written to the CSV and NDJSON outputs or to the errors file — the public
 * operators end to end, with a journal that lets the same command go on after a crash.
 */
import { mkdir, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { concatMap, filter, from, fromEvent, identity, lastValueFrom, merge, mergeMap, NEVER, of, takeUntil, tap, type OperatorFunction } from 'rxjs';
import { CoralNetClient, CORALNET_API, type ClientEvent } from '../coralnet/client.js';
import { MAX_IMAGES_PER_JOB } from '../coralnet/deployRequest.js';
import type { RateWindow } from '../util/duration.js';
import type { AnnotationArea, PointMethod } from '../images/points.js';
import type { ImageOutcome, ImageRef, PlannedImage, ProbedImage } from '../model.js';
import { annotate, chunksAtOnce } from '../operators/annotate.js';
import { chunk } from '../operators/chunk.js';
import { dropDuplicates } from '../operators/dropDuplicates.js';
import type { OrFailed } from '../operators/failures.js';
import { listImages, type ImageSource } from '../operators/listImages.js';
import { pollUntilDone } from '../operators/pollUntilDone.js';
import { probe } from '../operators/probe.js';
import { retryErrors } from '../operators/retryErrors.js';
import { givenPoints, readPointsCsv, samplePoints } from '../operators/samplePoints.js';
import { writeCsv, writeErrors, writeNdjson } from '../operators/write.js';
import { walkFolder } from '../sources/localFolder.js';
import { countUrlList } from '../sources/urlList.js';
import { checkSettings, Placement } from './continueRun.js';
import { Credits } from './credits.js';
import { Journal, readJournal, type JournalState, type OutputLengths, type ServerTally, type Tally } from './journal.js';
import { checkDistinctOutputs, lockOutputs } from './outputLock.js';
import { PollPlanner, type StuckRule } from './pollPlanner.js';
import { showProgress, type Progress } from './progress.js';
import { placePruned } from './prune.js';
import { publish, publishing, serveAgain, type Publishing } from './publish.js';
import { Claims, recoverJobs } from './resume.js';
import { ServerWatch } from './serverWatch.js';
import { inSourceOrder } from './sourceOrder.js';
import { defaultErrorsPath, journalPath, reasonKind, runSummaryPath, writeSummary, type SurveySummary } from './summary.js';
import { SurveyOutputs } from './surveyOutputs.js';
import { identityOf, WrittenImages, writtenImagesPath } from './writtenImages.js';

export { auxFromFolders } from './continueRun.js';
export { defaultErrorsPath, journalPath, reasonKind, runSummaryPath, type SourceChanges, type SurveySummary } from './summary.js';

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
  /** Aux1–Aux5 from the folders of an image's name (`site1/T2/IMG_1.JPG`), where the source gives none. */
  auxFromFolders?: boolean;
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
  /** When a job that said finished but whose result answers 409 is given up on (its images sent again). */
  stuckJobAfter?: StuckRule;
  /** Draw a progress line on this stream when it is a terminal. */
  progressStream?: NodeJS.WriteStream;
  onEvent?: (event: ClientEvent) => void;
  /** Told of a resume, and of what changed in the source since. */
  log?: (line: string) => void;
  /** Stops the run (Ctrl-C): what is written is checkpointed, and the run rejects with a `RunStoppedError`. */
  signal?: AbortSignal;
}

/** The run was stopped by its signal; its journal is checkpointed, and the same run goes on from there. */
export class RunStoppedError extends Error {
  readonly code = 'RUN_STOPPED';
  constructor() {
    super('The run was stopped. What was written is kept: run the same command again to go on from there.');
    this.name = 'RunStoppedError';
  }
}

/** How many images the source holds, for the progress line: a folder walked, a URL list's lines counted. */
async function countImages(source: ImageSource): Promise<number | undefined> {
  if (typeof source !== 'string') return undefined;
  if (!(await stat(source)).isDirectory()) return countUrlList(source);
  let n = 0;
  for await (const image of walkFolder(source, { versions: false })) if (image) n++;
  return n;
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
  checkDistinctOutputs({
    '--out': options.out,
    '--ndjson': options.ndjson,
    '--errors': errorsPath,
    'the journal': journalPath(options.out),
    'the list of written images': writtenImagesPath(options.out),
    'the run summary': runSummaryPath(options.out),
  });
  const images = await publishing(options.source, { imagesFolder: options.imagesFolder, urlPrefix: options.urlPrefix, apiUrl });
  // Output folders are made as needed, like any tool that writes to a path it is given.
  for (const path of [options.out, options.ndjson, errorsPath]) if (path !== undefined) await mkdir(dirname(path), { recursive: true });
  const unlock = await lockOutputs(options.out);
  const watch = new ServerWatch(options.onEvent);
  try {
    const previous = await readJournal(journalPath(options.out));
    const { windows, jobSlots, token, username, password } = options;
    const client = options.client ?? (await CoralNetClient.connect({ apiUrl: apiUrl.href, token, username, password, windows, jobSlots, onEvent: (event) => watch.onEvent(event) }));
    try {
      if (images.folder !== undefined && options.urlPrefix === undefined) {
        await mkdir(images.folder, { recursive: true });
        images.served = await serveAgain(images.folder, previous?.served, options.log ?? (() => undefined));
      }
      return await annotateSurvey(options, { client, previous, images, errorsPath, started, watch });
    } finally {
      if (!options.client) await client.close();
      await images.served?.close();
    }
  } finally {
    await unlock();
  }
}

interface RunContext {
  client: CoralNetClient;
  previous: JournalState | undefined;
  images: Publishing;
  errorsPath: string;
  started: number;
  watch: ServerWatch;
}

/** What is recorded of a run's settings: the same command goes on from its journal, another is refused. */
function settingsOf(options: SurveyOptions): Record<string, unknown> {
  return {
    source: options.sourceName ?? (typeof options.source === 'string' ? options.source : '(code)'),
    classifierId: String(options.classifierId),
    points: options.points ?? null,
    pointsCsv: options.pointsCsv ?? null,
    area: typeof options.area === 'object' ? options.area : (options.area ?? null),
    seed: String(options.seed ?? 1),
    metadata: options.metadata ?? true,
    ndjson: options.ndjson ?? null,
    ...(options.auxFromFolders ? { auxFromFolders: true } : {}),
  };
}

/** The run itself, once the client is connected and the images can be reached. */
async function annotateSurvey(options: SurveyOptions, run: RunContext): Promise<SurveySummary> {
  const { client, previous, images, errorsPath, started, watch } = run;
  const log = options.log ?? (() => undefined);
  const pointsStep: OperatorFunction<OrFailed<ProbedImage>, OrFailed<PlannedImage>> =
    options.pointsCsv !== undefined ? givenPoints(await readPointsCsv(options.pointsCsv)) : samplePoints({ method: options.points!, area: options.area, seed: options.seed });
  const metadata = options.metadata ?? true;
  const settings = settingsOf(options);
  const journalFile = journalPath(options.out);
  const paths = { csv: options.out, ndjson: options.ndjson, errors: errorsPath, written: writtenImagesPath(options.out) };
  checkSettings(previous, settings, options.out, journalFile);
  const checkpoint = previous?.checkpoint;
  // A run stopped while it removed the earlier lines of changed photos: its copies are whole.
  if (previous?.pruning) await placePruned([paths.csv, ...(paths.ndjson ? [paths.ndjson] : []), paths.errors]);
  const written = checkpoint ? await WrittenImages.read(paths.written, checkpoint.written) : WrittenImages.empty();
  const planner = new PollPlanner(client.gate, { stuckAfter: options.stuckJobAfter });
  // Local photos may be served at a new address: resends of recovered images use this run's.
  const republish = (image: PlannedImage): PlannedImage => (image.path !== undefined && images.urlOf !== undefined ? { ...image, url: images.urlOf(image) } : image);
  const recovery = previous ? await recoverJobs(client, previous, written) : { recovered: [] };
  const recovered = recovery.recovered.map(({ job, owns }) => ({ job: { ...job, images: job.images.map(republish) }, owns }));
  const claims = new Claims(new Set(recovered.flatMap(({ owns }) => [...owns])));
  if (recovery.notFound) {
    log(`a deploy the interruption cut off is not among the account's active or recently finished jobs (CoralNet lists 2 × the job limit of these): its images are sent again; if CoralNet had made that job, it will have done their work twice`);
  }
  if (previous?.finished) log(`going on with the finished run of ${journalFile}: ${written.size} images written; annotating only what the source holds that the outputs do not`);
  else if (previous) log(`resuming the run of ${journalFile}: ${written.size} images already written, ${recovered.length} ${recovered.length === 1 ? 'job' : 'jobs'} to poll again`);

  const owned = recovered.reduce((n, { owns }) => n + owns.size, 0);
  const credits = new Credits(Math.max(options.window ?? MAX_IMAGES_PER_JOB * (chunksAtOnce(client.gate.jobs.limit) + 1), owned + MAX_IMAGES_PER_JOB));
  const outputs = await SurveyOutputs.open(paths, { metadata, at: checkpoint });
  const journal = await Journal.open(journalFile, previous, { isWritten: (image) => written.has(image) });
  // The job found for a deploy whose answer the crash cut off is this run's to record, before
  // `resumed` settles the deploys still without a job.
  if (recovery.found) await journal.record({ t: 'sent', ...recovery.found });
  await journal.record(previous === undefined ? { t: 'start', settings } : previous.finished ? { t: 'continued' } : { t: 'resumed' });
  if (images.served !== undefined && images.served.url !== previous?.served) await journal.record({ t: 'served', url: images.served.url });
  // What earlier runs of this survey did, up to the checkpoint resumed from; jobs sent after it.
  const earlier: Tally = checkpoint?.tally ?? { annotated: 0, failed: 0, points: 0, jobs: 0, seconds: 0, failures: {} };
  const earlierServer: ServerTally = earlier.server ?? { throttled: 0, retries: 0, serverErrors: 0, waitSeconds: 0 };
  const jobsBefore = (previous?.sentSinceCheckpoint ?? 0) + (recovery.found ? 1 : 0);
  const { hooks, sent } = journal.deployHooks(started.toString(36));
  const resumedAt: OutputLengths = { csv: checkpoint?.csv ?? 0, errors: checkpoint?.errors ?? 0, ...(checkpoint?.ndjson === undefined ? {} : { ndjson: checkpoint.ndjson }) };
  const stale = new Map((previous?.stale ?? []).map(({ name, before }) => [name, before]));
  const placement = new Placement({ previous, written, claims, journal, resumedAt, stale, auxFromFolders: options.auxFromFolders === true });
  const progress: Progress = { done: 0, failed: 0, inFlight: 0, activeJobs: 0, points: 0, alreadyWritten: 0, startedAt: started };
  void countImages(options.source).then((total) => (progress.total = total), () => undefined);
  const stopProgress = showProgress(
    () => ({ ...progress, alreadyWritten: placement.alreadyWritten, inFlight: credits.inUse, activeJobs: client.gate.jobs.active, inRunningJobs: client.imagesDoneInRunningJobs, waiting: watch.now() }),
    options.progressStream ?? process.stderr,
  );
  const failures: Record<string, number> = { ...earlier.failures };

  /** The whole survey's figures so far: the earlier runs' (up to the checkpoint resumed from) and this one's. */
  const tally = (): Tally => ({
    annotated: earlier.annotated + progress.done,
    failed: earlier.failed + progress.failed,
    points: earlier.points + progress.points,
    jobs: earlier.jobs + jobsBefore + sent(),
    seconds: earlier.seconds + (Date.now() - started) / 1000,
    failures,
    server: {
      throttled: earlierServer.throttled + watch.tally.throttled,
      retries: earlierServer.retries + watch.tally.retries,
      serverErrors: earlierServer.serverErrors + watch.tally.serverErrors,
      waitSeconds: earlierServer.waitSeconds + watch.tally.waitSeconds,
    },
  });
  let lastCheckpointAt = Date.now();
  /** Outputs on disk, then the journal says so: a crash after this loses nothing written before. */
  const saveCheckpoint = async () => {
    const { at, keys } = await outputs.checkpoint(tally());
    await journal.record({ t: 'written', at }, keys);
    lastCheckpointAt = Date.now();
    return at;
  };
  /** After the sinks wrote it: counted, noted as written, and checkpointed every job's worth or second. */
  const noteWritten = async (outcome: ImageOutcome): Promise<void> => {
    if (outcome.ok) {
      progress.done++;
      progress.points += outcome.classified.length;
    } else {
      progress.failed++;
      const kind = reasonKind(outcome.reason);
      failures[kind] = (failures[kind] ?? 0) + 1;
    }
    if ((await outputs.noteWritten(outcome)) >= MAX_IMAGES_PER_JOB || Date.now() - lastCheckpointAt >= 1000) await saveCheckpoint();
  };

  /** Once the listing is over: what changed in the source since the earlier run. */
  const reportChanges = (): void => {
    const line = placement.report();
    if (line !== undefined) log(line);
  };
  const annotateOptions = { classifierId: options.classifierId, maxAttempts: options.maxAttempts, planner, hooks };
  const fromSource = listImages(options.source, { credits }).pipe(
    // A URL list marks its own repeated lines; other sources are checked here.
    typeof options.source === 'string' ? identity : dropDuplicates(),
    concatMap((image) => placement.place(image)),
    filter((image): image is OrFailed<ImageRef> => image !== undefined),
    tap({ complete: () => (claims.end(), reportChanges()), error: () => claims.end() }),
    publish(images.urlOf),
    probe({ imageSize: options.imageSize }),
    pointsStep,
    chunk(MAX_IMAGES_PER_JOB, options.chunkFlushMs ?? 2000),
    annotate(client, annotateOptions),
  );
  const fromJournal = from(recovered).pipe(
    mergeMap(({ job, owns }) => of(job).pipe(pollUntilDone(client, planner), retryErrors(client, annotateOptions), filter((outcome) => owns.has(identityOf(outcome))))),
    // Placed where the listing met the image, with its credit; an image gone from the source is not written.
    mergeMap(async (outcome): Promise<ImageOutcome | undefined> => {
      const at = await claims.placeOf(identityOf(outcome));
      return at === undefined ? undefined : { ...outcome, seq: at.seq, ticket: at.ticket };
    }),
    filter((outcome): outcome is ImageOutcome => outcome !== undefined),
  );
  const request = { classifierId: options.classifierId, points: options.points ?? `csv:${options.pointsCsv}`, area: options.area, seed: options.seed ?? 1 };
  try {
    // Stopped: no outcome is taken after the signal, the one being written is finished.
    const stopped = options.signal === undefined ? NEVER : fromEvent(options.signal, 'abort');
    // Each outcome through every sink before the next: a checkpoint then finds every output at the
    // same image.
    const writeOne = (outcome: ImageOutcome) =>
      of(outcome).pipe(writeCsv(outputs.csv, { metadata }), outputs.ndjson ? writeNdjson(outputs.ndjson, { request }) : identity, writeErrors(outputs.errors), concatMap(noteWritten));
    await lastValueFrom(merge(fromJournal, fromSource).pipe(inSourceOrder(0), takeUntil(stopped), concatMap(writeOne)), { defaultValue: undefined });
    const at = await saveCheckpoint();
    if (options.signal?.aborted) throw new RunStoppedError();
    stopProgress();
    await outputs.close();
    if (stale.size > 0) {
      await outputs.prune(stale, async (pruned) => {
        // The tally counts what the outputs hold: the earlier lines of the changed photos are gone.
        progress.done -= pruned.images;
        progress.points -= pruned.points;
        progress.failed -= pruned.failed;
        await journal.record({ t: 'pruned', at: { ...at, ...pruned.lengths, tally: tally() } });
      });
    }
  } catch (error) {
    stopProgress();
    await outputs.close().catch(() => undefined);
    await journal.close().catch(() => undefined);
    // A run stopped before any job was made or any image written (a wrong classifier id, say) has
    // nothing to resume: its journal would only refuse the corrected command. Nor do its outputs,
    // which hold a header at most.
    if (previous === undefined && sent() === 0 && progress.done + progress.failed === 0) {
      for (const file of [journalFile, paths.written, ...outputs.lineFiles]) await unlink(file).catch(() => undefined);
    }
    throw error;
  }
  const summary = await writeSummary(tally(), {
    resumes: previous ? previous.resumes + (previous.finished ? 0 : 1) : 0,
    changes: previous ? placement.changes : undefined,
    outputs: { csv: options.out, ...(options.ndjson ? { ndjson: options.ndjson } : {}), errors: errorsPath, run: runSummaryPath(options.out) },
    request: { classifierId: options.classifierId, points: options.points, area: options.area, seed: options.seed ?? 1 },
  });
  // Finished, the summary written. The journal and the written images stay: the same command
  // again adds only what is new in the source, and never writes over what this run wrote.
  await journal.record({ t: 'finished' });
  await journal.close();
  return summary;
}
