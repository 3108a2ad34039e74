/**
 * A whole survey run: images from a source, points placed, jobs sent to CoralNet within its
 * limits, and every image written to the CSV and NDJSON outputs or to the errors file — the public
 * operators end to end, with a journal that lets the same command go on after a crash.
 */
import { mkdir, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { concatMap, filter, from, fromEvent, identity, lastValueFrom, merge, mergeMap, NEVER, of, takeUntil, tap } from 'rxjs';
import { CoralNetClient, CORALNET_API } from '../coralnet/client.js';
import { MAX_IMAGES_PER_JOB } from '../coralnet/deployRequest.js';
import type { ImageOutcome, ImageRef, PlannedImage } from '../model.js';
import { annotate, chunksAtOnce } from '../operators/annotate.js';
import { chunk } from '../operators/chunk.js';
import { dropDuplicates } from '../operators/dropDuplicates.js';
import type { OrFailed } from '../operators/failures.js';
import { listImages } from '../operators/listImages.js';
import { pollUntilDone } from '../operators/pollUntilDone.js';
import { probe } from '../operators/probe.js';
import { retryErrors } from '../operators/retryErrors.js';
import { givenPoints, readPointsCsv, samplePoints } from '../operators/samplePoints.js';
import { writeCsv, writeErrors, writeNdjson } from '../operators/write.js';
import { continueFrom, Placement } from './continueRun.js';
import { Credits } from './credits.js';
import { readJournal, type JournalState } from './journal.js';
import { checkDistinctOutputs, lockOutputs } from './outputLock.js';
import { PollPlanner } from './pollPlanner.js';
import { countImages, showProgress } from './progress.js';
import { publish, publishing, serveAgain, type Publishing } from './publish.js';
import { ServerWatch } from './serverWatch.js';
import { inSourceOrder } from './sourceOrder.js';
import { defaultErrorsPath, journalPath, runSummaryPath, SurveyTally, writeSummary, type SurveySummary } from './summary.js';
import { RunStoppedError, settingsOf, type SurveyOptions } from './surveyOptions.js';
import { SurveyOutputs } from './surveyOutputs.js';
import { identityOf, writtenImagesPath } from './writtenImages.js';

export { auxFromFolders } from './continueRun.js';
export { defaultErrorsPath, journalPath, reasonKind, runSummaryPath, type SourceChanges, type SurveySummary } from './summary.js';
export { RunStoppedError, type SurveyOptions } from './surveyOptions.js';

/**
 * Runs a survey from source to outputs.
 * @example
 * const summary = await runSurvey({
 *   token: process.env.CORALNET_TOKEN, username: 'me', classifierId: 1234,
 *   source: 'urls.csv', points: 'stratified:5x6x1', area: '15,85,15,85', seed: 1, out: 'results.csv',
 * });
 */
export async function runSurvey(options: SurveyOptions): Promise<SurveySummary> {
  const apiUrl = new URL(options.client?.apiUrl.href ?? options.apiUrl ?? CORALNET_API);
  const errors = options.errors ?? defaultErrorsPath(options.out);
  if (options.points === undefined && options.pointsCsv === undefined) throw new Error('Say where the points go: --points (random:30, stratified:5x6x1, grid:10x10) or --points-csv FILE.');
  const written = writtenImagesPath(options.out);
  checkDistinctOutputs({ '--out': options.out, '--ndjson': options.ndjson, '--errors': errors, 'the journal': journalPath(options.out), 'the list of written images': written, 'the run summary': runSummaryPath(options.out) });
  const images = await publishing(options.source, { imagesFolder: options.imagesFolder, urlPrefix: options.urlPrefix, apiUrl });
  // Output folders are made as needed, like any tool that writes to a path it is given.
  for (const path of [options.out, options.ndjson, errors]) if (path !== undefined) await mkdir(dirname(path), { recursive: true });
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
      return await annotateSurvey(options, { client, previous, images, paths: { csv: options.out, ndjson: options.ndjson, errors, written }, watch });
    } finally {
      if (!options.client) await client.close();
      await images.served?.close();
    }
  } finally {
    await unlock();
  }
}

/** The run itself, once the client is connected and the images can be reached. */
async function annotateSurvey(
  options: SurveyOptions,
  run: { client: CoralNetClient; previous: JournalState | undefined; images: Publishing; paths: SurveyOutputs['paths']; watch: ServerWatch },
): Promise<SurveySummary> {
  const { client, previous, images, paths, watch } = run;
  const started = Date.now();
  const log = options.log ?? (() => undefined);
  const metadata = options.metadata ?? true;
  const journalFile = journalPath(options.out);
  // Local photos may be served at a new address: resends of recovered images use this run's.
  const republish = (image: PlannedImage): PlannedImage => (image.path !== undefined && images.urlOf !== undefined ? { ...image, url: images.urlOf(image) } : image);
  const { continuation: going, journal } = await continueFrom(client, previous, { settings: settingsOf(options), out: options.out, journalFile, outputs: paths, republish, servedUrl: images.served?.url, log });
  const { recovered, claims } = going;
  const owned = recovered.reduce((n, { owns }) => n + owns.size, 0);
  const credits = new Credits(Math.max(options.window ?? MAX_IMAGES_PER_JOB * (chunksAtOnce(client.gate.jobs.limit) + 1), owned + MAX_IMAGES_PER_JOB));
  const outputs = await SurveyOutputs.open(paths, { metadata, at: previous?.checkpoint });
  const { hooks, sent } = journal.deployHooks(started.toString(36));
  const tally = new SurveyTally(going.earlier, () => watch.tally, () => going.jobsAfterCheckpoint + sent());
  const placement = new Placement({ previous, written: going.written, claims, journal, resumedAt: going.resumedAt, stale: going.stale, auxFromFolders: options.auxFromFolders === true });
  let total: number | undefined;
  void countImages(options.source).then((n) => (total = n), () => undefined);
  const stopProgress = showProgress(
    () => ({ total, done: tally.done, failed: tally.failed, points: tally.points, alreadyWritten: placement.alreadyWritten, inFlight: credits.inUse, activeJobs: client.gate.jobs.active, inRunningJobs: client.imagesDoneInRunningJobs, waiting: watch.now(), startedAt: started }),
    options.progressStream ?? process.stderr,
  );

  let lastCheckpointAt = Date.now();
  /** Outputs on disk, then the journal says so: a crash after this loses nothing written before. */
  const saveCheckpoint = async () => {
    const { at, keys } = await outputs.checkpoint(tally.now());
    await journal.record({ t: 'written', at }, keys);
    lastCheckpointAt = Date.now();
    return at;
  };
  /** After the sinks wrote it: counted, noted as written, and checkpointed every job's worth or second. */
  const noteWritten = async (outcome: ImageOutcome): Promise<void> => {
    tally.count(outcome);
    if ((await outputs.noteWritten(outcome)) >= MAX_IMAGES_PER_JOB || Date.now() - lastCheckpointAt >= 1000) await saveCheckpoint();
  };
  const reportChanges = (): void => {
    const line = placement.report();
    if (line !== undefined) log(line);
  };

  const planner = new PollPlanner(client.gate, { stuckAfter: options.stuckJobAfter });
  const annotateOptions = { classifierId: options.classifierId, maxAttempts: options.maxAttempts, planner, hooks };
  const fromSource = listImages(options.source, { credits }).pipe(
    // A URL list marks its own repeated lines; other sources are checked here.
    typeof options.source === 'string' ? identity : dropDuplicates(),
    concatMap((image) => placement.place(image)),
    filter((image): image is OrFailed<ImageRef> => image !== undefined),
    tap({ complete: () => (claims.end(), reportChanges()), error: () => claims.end() }),
    publish(images.urlOf),
    probe({ imageSize: options.imageSize }),
    options.pointsCsv !== undefined ? givenPoints(await readPointsCsv(options.pointsCsv)) : samplePoints({ method: options.points!, area: options.area, seed: options.seed }),
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
  // Each outcome through every sink before the next: a checkpoint then finds every output at the same image.
  const writeOne = (outcome: ImageOutcome) =>
    of(outcome).pipe(writeCsv(outputs.csv, { metadata }), outputs.ndjson ? writeNdjson(outputs.ndjson, { request }) : identity, writeErrors(outputs.errors), concatMap(noteWritten));
  try {
    // Stopped: no outcome is taken after the signal, the one being written is finished.
    const stopped = options.signal === undefined ? NEVER : fromEvent(options.signal, 'abort');
    await lastValueFrom(merge(fromJournal, fromSource).pipe(inSourceOrder(0), takeUntil(stopped), concatMap(writeOne)), { defaultValue: undefined });
    const at = await saveCheckpoint();
    if (options.signal?.aborted) throw new RunStoppedError();
    stopProgress();
    await outputs.close();
    if (going.stale.size > 0) {
      await outputs.prune(going.stale, async (pruned) => {
        // The tally counts what the outputs hold: the earlier lines of the changed photos are gone.
        tally.done -= pruned.images;
        tally.points -= pruned.points;
        tally.failed -= pruned.failed;
        await journal.record({ t: 'pruned', at: { ...at, ...pruned.lengths, tally: tally.now() } });
      });
    }
  } catch (error) {
    stopProgress();
    await outputs.close().catch(() => undefined);
    await journal.close().catch(() => undefined);
    // A run stopped before any job was made or any image written (a wrong classifier id, say) has
    // nothing to resume: its journal would only refuse the corrected command. Nor do its outputs.
    if (previous === undefined && sent() === 0 && tally.done + tally.failed === 0) {
      for (const file of [journalFile, paths.written, ...outputs.lineFiles]) await unlink(file).catch(() => undefined);
    }
    throw error;
  }
  const summary = await writeSummary(tally.now(), {
    resumes: previous ? previous.resumes + (previous.finished ? 0 : 1) : 0,
    changes: previous ? placement.changes : undefined,
    outputs: { csv: options.out, ...(options.ndjson ? { ndjson: options.ndjson } : {}), errors: paths.errors, run: runSummaryPath(options.out) },
    request: { classifierId: options.classifierId, points: options.points, area: options.area, seed: options.seed ?? 1 },
  });
  // Finished, the summary written. The journal and the written images stay: the same command
  // again adds only what is new in the source, and never writes over what this run wrote.
  await journal.record({ t: 'finished' });
  await journal.close();
  return summary;
}
