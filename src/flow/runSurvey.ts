/**
 * A whole survey run: images from a source, points placed, jobs sent to CoralNet within its
 * limits, and every image written to the CSV and NDJSON outputs or to the errors file.
 */
import { mkdir, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { concatMap, filter, from, fromEvent, identity, lastValueFrom, map, merge, mergeMap, NEVER, of, takeUntil, tap, type OperatorFunction } from 'rxjs';
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
import { isFailed, type OrFailed } from '../operators/failures.js';
import { listImages, type ImageSource } from '../operators/listImages.js';
import { walkFolder } from '../sources/localFolder.js';
import { probe } from '../operators/probe.js';
import { givenPoints, readPointsCsv, samplePoints } from '../operators/samplePoints.js';
import { csvHeader, writeCsvLines } from '../operators/toRows.js';
import { CsvFile } from '../sinks/csv.js';
import { LineBytes } from '../sinks/lineBytes.js';
import { NdjsonFile } from '../sinks/lineFile.js';
import { serveFolder, type ServedFolder } from '../sources/folderServer.js';
import { countUrlList } from '../sources/urlList.js';
import { Credits } from './credits.js';
import { Journal, readJournal, type Checkpoint, type JournalState, type OutputLengths, type ServerTally, type Tally } from './journal.js';
import { checkDistinctOutputs, lockOutputs } from './outputLock.js';
import { placePruned, pruneFile } from './prune.js';
import { Claims, recoverJobs } from './resume.js';
import { identityOf, WrittenImages, WrittenImagesFile, writtenImagesPath } from './writtenImages.js';
import { PollPlanner, type StuckRule } from './pollPlanner.js';
import { inSourceOrder } from './sourceOrder.js';
import { pollUntilDone } from '../operators/pollUntilDone.js';
import { retryErrors } from '../operators/retryErrors.js';
import type { DeployHooks } from '../operators/deploy.js';
import { showProgress, type Progress } from './progress.js';
import { ServerWatch } from './serverWatch.js';

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
  /** Images annotated per minute of running time. */
  imagesPerMinute: number;
  /** How many times the run was resumed after an interruption. */
  resumes: number;
  /** Failure reasons and how many images each. */
  failures: Record<string, number>;
  /** What the server did over the whole survey: 429s, requests tried again, 5xx answers, time spent waiting. */
  server: ServerTally;
  /** How the source changed since the run that was resumed (only in a resumed run). */
  changes?: SourceChanges;
  outputs: { csv: string; ndjson?: string; errors: string; run: string };
}

/** Photos of the source since the interrupted run. */
export interface SourceChanges {
  /** Photos not written before: added since, or not reached before the interruption. */
  notWrittenBefore: number;
  /** Written before, and no longer in the source: their lines stay in the outputs. */
  gone: number;
  /** Written before, and changed since (size or time): annotated again, their earlier lines removed. */
  changed: number;
}

/** The run's summary next to the CSV: `results.csv` → `results.run.json` (the report reads it). */
export const runSummaryPath = (out: string): string => `${out.replace(/\.csv$/i, '')}.run.json`;

/** The errors file next to the CSV: `results.csv` → `results.errors.ndjson`. */
export const defaultErrorsPath = (out: string): string => `${out.replace(/\.csv$/i, '')}.errors.ndjson`;


/** The journal next to the CSV: `results.csv` → `results.journal.ndjson`. */
export const journalPath = (out: string): string => `${out.replace(/\.csv$/i, '')}.journal.ndjson`;

/** Gives each local image a URL CoralNet can download. */
function publish<T extends OrFailed<ImageRef>>(urlOf: ((image: ImageRef) => string) | undefined): OperatorFunction<T, T> {
  return map((image) => (isFailed(image) || image.url !== undefined || urlOf === undefined ? image : { ...image, url: urlOf(image) }));
}

/** How many images the source holds, for the progress line: a folder walked, a URL list's lines counted. */
async function countImages(source: ImageSource): Promise<number | undefined> {
  if (typeof source !== 'string') return undefined;
  if (!(await stat(source)).isDirectory()) return countUrlList(source);
  let n = 0;
  for await (const image of walkFolder(source, { versions: false })) if (image) n++;
  return n;
}

/** Aux1–Aux5 from the folders of a name: `site1/T2/IMG_1.JPG` → Aux1 `site1`, Aux2 `T2` (five at most). */
export function auxFromFolders(name: string): ImageRef['aux'] | undefined {
  const folders = name.split('/').slice(0, -1).slice(0, 5);
  if (folders.length === 0) return undefined;
  return Object.fromEntries(folders.map((folder, i) => [`Aux${i + 1}`, folder]));
}

/**
 * A short reason for summaries: the exception name of CoralNet's message, or the message without
 * the image's name, paths and URLs, up to its first colon.
 * @example reasonKind('/surveys/a/IMG_1.HEIC is a HEIC file, which CoralNet cannot read: convert it') // 'is a HEIC file, which CoralNet cannot read'
 */
export function reasonKind(reason: string): string {
  const exception = /^[\w.]*?(\w+Error)\b/.exec(reason)?.[1];
  if (exception !== undefined) return exception;
  const words = reason
    .replace(/^\S*[./]\S* /, '')
    .replace(/\s*(?:https?:\/\/|\/)\S+/g, '')
    .split(': ')[0]!;
  return words.length <= 80 ? words : `${words.slice(0, 79)}…`;
}

/** Where a local folder is served for a server on this machine: at the address of the run before, when it is free. */
async function serveAgain(folder: string, previous: string | undefined, log: (line: string) => void): Promise<ServedFolder> {
  const port = previous === undefined ? undefined : Number(new URL(previous).port);
  if (port !== undefined) {
    try {
      return await serveFolder(folder, { port });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
      log(`${previous} is taken by another program: the folder is served at a new address, so images of jobs in flight are downloaded from there when sent again`);
    }
  }
  return serveFolder(folder);
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

  // Output folders are made as needed, like any tool that writes to a path it is given.
  for (const path of [options.out, options.ndjson, errorsPath]) if (path !== undefined) await mkdir(dirname(path), { recursive: true });
  const unlock = await lockOutputs(options.out);
  const watch = new ServerWatch(options.onEvent);
  try {
    const previous = await readJournal(journalPath(options.out));
    const client =
      options.client ??
      (await CoralNetClient.connect({
        apiUrl: apiUrl.href,
        token: options.token,
        username: options.username,
        password: options.password,
        windows: options.windows,
        jobSlots: options.jobSlots,
        onEvent: (event) => watch.onEvent(event),
      }));
    try {
      if (folder !== undefined && options.urlPrefix === undefined) {
        await mkdir(folder, { recursive: true });
        served = await serveAgain(folder, previous?.served, options.log ?? (() => undefined));
      }
      return await annotateSurvey(options, { client, previous, served, urlOf, errorsPath, started, watch });
    } finally {
      if (!options.client) await client.close();
      await served?.close();
    }
  } finally {
    await unlock();
  }
}

interface RunContext {
  client: CoralNetClient;
  previous: JournalState | undefined;
  served: ServedFolder | undefined;
  urlOf: ((image: ImageRef) => string) | undefined;
  errorsPath: string;
  started: number;
  watch: ServerWatch;
}

/** The run itself, once the client is connected and the images can be reached. */
async function annotateSurvey(options: SurveyOptions, run: RunContext): Promise<SurveySummary> {
  const { client, previous, served, urlOf, errorsPath, started, watch } = run;
  const log = options.log ?? (() => undefined);
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
    ...(options.auxFromFolders ? { auxFromFolders: true } : {}),
  };
  const journalFile = journalPath(options.out);
  const writtenFile = writtenImagesPath(options.out);
  if (previous?.finished && previous.settings && JSON.stringify(previous.settings) !== JSON.stringify(settings)) {
    throw new Error(`${options.out} holds a finished run with other settings (${JSON.stringify(previous.settings)}): give these settings another --out, or move ${journalFile} away to write the survey anew.`);
  }
  if (previous?.settings && JSON.stringify(previous.settings) !== JSON.stringify(settings)) {
    throw new Error(`${journalFile} belongs to an interrupted run with other settings (${JSON.stringify(previous.settings)}): run that command again to finish it, or move the journal away to start over.`);
  }
  const checkpoint = previous?.checkpoint;
  if (checkpoint !== undefined && checkpoint.written === undefined) {
    throw new Error(`${journalFile} was written by an earlier version of reefstream, which resumed by position: finish that run with it, or move the journal away to start over.`);
  }
  const outputs = [options.out, ...(options.ndjson === undefined ? [] : [options.ndjson]), errorsPath];
  // A run stopped while it removed the earlier lines of changed photos: its copies are whole.
  if (previous?.pruning) await placePruned(outputs);
  const written = checkpoint ? await WrittenImages.read(writtenFile, checkpoint.written) : WrittenImages.empty();
  const planner = new PollPlanner(client.gate, { stuckAfter: options.stuckJobAfter });
  // Local photos may be served at a new address: resends of recovered images use this run's.
  const republish = (image: PlannedImage): PlannedImage => (image.path !== undefined && urlOf !== undefined ? { ...image, url: urlOf(image) } : image);
  const recovery = previous ? await recoverJobs(client, previous, written) : { recovered: [] };
  const recovered = recovery.recovered.map(({ job, owns }) => ({ job: { ...job, images: job.images.map(republish) }, owns }));
  const claims = new Claims(new Set(recovered.flatMap(({ owns }) => [...owns])));
  if (recovery.notFound) {
    log(`a deploy the interruption cut off is not among the account's active or recently finished jobs (CoralNet lists 2 × the job limit of these): its images are sent again; if CoralNet had made that job, it will have done their work twice`);
  }
  if (previous?.finished) log(`going on with the finished run of ${journalFile}: ${written.size} images written; annotating only what the source holds that the outputs do not`);
  else if (previous) log(`resuming the run of ${journalFile}: ${written.size} images already written, ${recovered.length} ${recovered.length === 1 ? 'job' : 'jobs'} to poll again`);

  const owned = recovered.reduce((n, { owns }) => n + owns.size, 0);
  const window = Math.max(options.window ?? MAX_IMAGES_PER_JOB * (chunksAtOnce(client.gate.jobs.limit) + 1), owned + MAX_IMAGES_PER_JOB);
  const credits = new Credits(window);
  for (let i = 0; i < owned; i++) await credits.take();
  const progress: Progress = { done: 0, failed: 0, inFlight: 0, activeJobs: 0, points: 0, alreadyWritten: 0, startedAt: started };
  void countImages(options.source).then(
    (total) => (progress.total = total),
    () => undefined,
  );
  const csv = await CsvFile.open(options.out, csvHeader({ metadata }), checkpoint?.csv);
  const ndjson = options.ndjson === undefined ? undefined : await NdjsonFile.open(options.ndjson, checkpoint?.ndjson);
  const errors = await NdjsonFile.open(errorsPath, checkpoint?.errors);
  const writtenImages = await WrittenImagesFile.open(writtenFile, checkpoint?.written);
  const journal = await Journal.open(journalFile, previous, { isWritten: (image) => written.has(image) });
  // The job found for a deploy whose answer the crash cut off is this run's to record, before
  // `resumed` settles the deploys still without a job.
  if (recovery.found) await journal.record({ t: 'sent', ...recovery.found });
  await journal.record(previous === undefined ? { t: 'start', settings } : previous.finished ? { t: 'continued' } : { t: 'resumed' });
  if (served !== undefined && served.url !== previous?.served) await journal.record({ t: 'served', url: served.url });
  // What earlier runs of this survey did, up to the checkpoint resumed from.
  const earlier: Tally = checkpoint?.tally ?? { annotated: 0, failed: 0, points: 0, jobs: 0, seconds: 0, failures: {} };
  const earlierServer: ServerTally = earlier.server ?? { throttled: 0, retries: 0, serverErrors: 0, waitSeconds: 0 };
  // Jobs sent after that checkpoint, and the one whose id the crash kept from the journal.
  let jobsSent = (previous?.sentSinceCheckpoint ?? 0) + (recovery.found ? 1 : 0);
  // Deploys are named by the run that sent them (its start time) and their number in it.
  const runTag = started.toString(36);
  const deployIds = new WeakMap<PlannedImage[], string>();
  let deploys = 0;
  const hooks: DeployHooks = {
    beforeSend: (images, knownMax) => {
      const deploy = `${runTag}.${deploys++}`;
      deployIds.set(images, deploy);
      return journal.record({ t: 'sending', deploy, images, knownMax });
    },
    afterSend: (job, images) => {
      jobsSent++;
      return journal.record({ t: 'sent', deploy: deployIds.get(images)!, job: job.id });
    },
  };
  const stopProgress = showProgress(
    () => ({ ...progress, inFlight: credits.inUse, activeJobs: client.gate.jobs.active, inRunningJobs: client.imagesDoneInRunningJobs, waiting: watch.now() }),
    options.progressStream ?? process.stderr,
  );
  const failures: Record<string, number> = { ...earlier.failures };
  const request = { classifierId: options.classifierId, points: options.points ?? `csv:${options.pointsCsv}`, area: options.area, seed: options.seed ?? 1 };

  /** The whole survey's figures so far: the earlier runs' (up to the checkpoint resumed from) and this one's. */
  const tally = (): Tally => ({
    annotated: earlier.annotated + progress.done,
    failed: earlier.failed + progress.failed,
    points: earlier.points + progress.points,
    jobs: earlier.jobs + jobsSent,
    seconds: earlier.seconds + (Date.now() - started) / 1000,
    failures,
    server: {
      throttled: earlierServer.throttled + watch.tally.throttled,
      retries: earlierServer.retries + watch.tally.retries,
      serverErrors: earlierServer.serverErrors + watch.tally.serverErrors,
      waitSeconds: earlierServer.waitSeconds + watch.tally.waitSeconds,
    },
  });

  // Images written since the last checkpoint, and when that was.
  let writtenSince = new Set<string>();
  let lastCheckpointAt = Date.now();
  /** Outputs on disk, then the journal says so: a crash after this loses nothing written before. */
  const saveCheckpoint = async (): Promise<Checkpoint> => {
    const at: Checkpoint = { csv: await csv.checkpoint(), errors: await errors.checkpoint(), ...(ndjson ? { ndjson: await ndjson.checkpoint() } : {}), written: await writtenImages.checkpoint(), tally: tally() };
    const keys = writtenSince;
    writtenSince = new Set();
    await journal.record({ t: 'written', at }, keys);
    lastCheckpointAt = Date.now();
    return at;
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
        orientation: outcome.orientation,
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
    await writtenImages.add(outcome);
    writtenSince.add(identityOf(outcome));
    credits.give();
    if (writtenSince.size >= MAX_IMAGES_PER_JOB || Date.now() - lastCheckpointAt >= 1000) await saveCheckpoint();
  };

  // Resumed: photos written before are skipped; one changed since is annotated again, and its
  // earlier lines (before this run's start in each output) are removed when the run ends.
  const resumedAt: OutputLengths = { csv: checkpoint?.csv ?? 0, errors: checkpoint?.errors ?? 0, ...(checkpoint?.ndjson === undefined ? {} : { ndjson: checkpoint.ndjson }) };
  const stale = new Map((previous?.stale ?? []).map(({ name, before }) => [name, before]));
  const changes: SourceChanges = { notWrittenBefore: 0, gone: 0, changed: 0 };
  let place = 0;
  /** The image's place in this run's stream, or undefined when it has nothing to do here. */
  const placeInStream = async (image: OrFailed<ImageRef>): Promise<OrFailed<ImageRef> | undefined> => {
    const key = identityOf(image);
    if (!isFailed(image) && claims.has(key)) {
      // A recovered job stands for it, and holds its credit.
      written.check(image);
      claims.place(key, place++);
      credits.give();
      return undefined;
    }
    if (previous) {
      const state = written.check(image);
      if (state === 'written') {
        progress.alreadyWritten!++;
        credits.give();
        return undefined;
      }
      if (state === 'changed') {
        changes.changed++;
        stale.set(image.name, resumedAt);
        await journal.record({ t: 'stale', name: image.name, before: resumedAt });
      } else changes.notWrittenBefore++;
    }
    const aux = options.auxFromFolders && !isFailed(image) && image.aux === undefined ? auxFromFolders(image.name) : undefined;
    return { ...image, ...(aux ? { aux } : {}), seq: place++ };
  };

  /** Once the listing is over: what changed in the source since the interrupted run. */
  const reportChanges = (): void => {
    if (!previous) return;
    changes.gone = written.unseen();
    const said = [
      changes.notWrittenBefore > 0 ? `${changes.notWrittenBefore} ${changes.notWrittenBefore === 1 ? 'photo' : 'photos'} not written before (new in the source, or not reached before the interruption)` : undefined,
      changes.changed > 0 ? `${changes.changed} written before and changed since: annotated again, the earlier lines removed` : undefined,
      changes.gone > 0 ? `${changes.gone} written before ${changes.gone === 1 ? 'is' : 'are'} no longer in the source and stay in the outputs` : undefined,
    ].filter((line) => line !== undefined);
    if (said.length > 0) log(`since the ${previous.finished ? 'finished' : 'interrupted'} run: ${said.join('; ')}`);
  };

  const annotateOptions = { classifierId: options.classifierId, maxAttempts: options.maxAttempts, planner, hooks };
  const fromSource = listImages(options.source, credits).pipe(
    // A URL list marks its own repeated lines; other sources are checked here.
    typeof options.source === 'string' ? identity : dropDuplicates(),
    concatMap(placeInStream),
    filter((image): image is OrFailed<ImageRef> => image !== undefined),
    tap({ complete: () => (claims.end(), reportChanges()), error: () => claims.end() }),
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
        filter((outcome) => owns.has(identityOf(outcome))),
      ),
    ),
    // Placed where the listing met the image; an image gone from the source is not written.
    mergeMap(async (outcome): Promise<ImageOutcome | undefined> => {
      const at = await claims.placeOf(identityOf(outcome));
      if (at !== undefined) return { ...outcome, seq: at };
      credits.give();
      return undefined;
    }),
    filter((outcome): outcome is ImageOutcome => outcome !== undefined),
  );

  const closeOutputs = async (): Promise<void> => {
    stopProgress();
    await csv.close();
    await ndjson?.close();
    await errors.close();
    await writtenImages.close();
  };
  try {
    // Stopped: no outcome is taken after the signal, the one being written is finished.
    const stopped = options.signal === undefined ? NEVER : fromEvent(options.signal, 'abort');
    await lastValueFrom(merge(fromJournal, fromSource).pipe(inSourceOrder(0), takeUntil(stopped), concatMap(write)), { defaultValue: undefined });
    const at = await saveCheckpoint();
    if (options.signal?.aborted) throw new RunStoppedError();
    await closeOutputs();
    if (stale.size > 0) {
      const before = (output: keyof OutputLengths): Map<string, number> => new Map([...stale].map(([name, lengths]) => [name, lengths[output] ?? 0]));
      const rows = await pruneFile(options.out, 'csv', before('csv'));
      const failedBefore = await pruneFile(errorsPath, 'ndjson', before('errors'));
      const lines = options.ndjson === undefined ? undefined : await pruneFile(options.ndjson, 'ndjson', before('ndjson'));
      // The tally counts what the outputs hold: the earlier lines of the changed photos are gone.
      progress.done -= rows.images;
      progress.points -= rows.records;
      progress.failed -= failedBefore.records;
      const pruned: Checkpoint = { ...at, csv: rows.length, errors: failedBefore.length, ...(lines === undefined ? {} : { ndjson: lines.length }), tally: tally() };
      await journal.record({ t: 'pruned', at: pruned });
      await placePruned(outputs);
    }
  } catch (error) {
    await closeOutputs().catch(() => undefined);
    await journal.close().catch(() => undefined);
    // A run stopped before any job was made or any image written (a wrong classifier id, say) has
    // nothing to resume: its journal would only refuse the corrected command.
    // Nor do its outputs, which hold a header at most.
    if (previous === undefined && jobsSent === 0 && progress.done + progress.failed === 0) {
      for (const file of [journalFile, writtenFile, ...outputs]) await unlink(file).catch(() => undefined);
    }
    throw error;
  }
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
    resumes: previous ? previous.resumes + (previous.finished ? 0 : 1) : 0,
    imagesPerMinute: seconds > 0 ? (total.annotated / seconds) * 60 : 0,
    failures,
    server: total.server!,
    ...(previous ? { changes } : {}),
    outputs: { csv: options.out, ...(options.ndjson ? { ndjson: options.ndjson } : {}), errors: errorsPath, run: runSummaryPath(options.out) },
  };
  await writeFile(summary.outputs.run, `${JSON.stringify({ ...summary, finishedAt: new Date().toISOString(), request: { classifierId: options.classifierId, points: options.points, area: options.area, seed: options.seed ?? 1 } }, null, 2)}\n`);
  // Finished, the summary written. The journal and the written images stay: the same command
  // again adds only what is new in the source, and never writes over what this run wrote.
  await journal.record({ t: 'finished' });
  await journal.close();
  return summary;
}
