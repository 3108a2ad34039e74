/** `reefstream run`: a survey annotated, its outputs and exit code. */
import { z } from 'zod';
import { defaultErrorsPath, runSurvey, type SurveySummary } from '../flow/runSurvey.js';
import { writeCoverCsv } from '../cover/coverFile.js';
import { readLabelGroups } from '../cover/labelGroups.js';
import { parseArea, parsePointMethod } from '../images/points.js';
import { dropbox } from '../sources/dropbox.js';
import { cocoAnnotatorImages } from '../sources/cocoAnnotator.js';
import { cocoResultsPath, writeCoco } from '../sinks/coco.js';
import type { ImageRef } from '../model.js';
import type { ClientEvent } from '../coralnet/client.js';
import { checkDistinctOutputs } from '../flow/outputLock.js';
import { checked, count, cocoAnnotatorLogin, duration, EXIT, grouping, imageSize, parse, plural, rate, UsageError } from './shared.js';
import { cocoLine } from './coco.js';

export const help = `  reefstream run --classifier ID --source DIR|FILE|dropbox:PATH|coco-annotator:DATASET --points METHOD --out results.csv [options]
      Annotates a survey with a CoralNet classifier, as fast as CoralNet's limits allow.
      Credentials: CORALNET_TOKEN (or --token T), or --user U with CORALNET_PASSWORD.
      --api URL               the API base (default https://coralnet.ucsd.edu/api/)
      --user U                your CoralNet username (lets reefstream learn your job limit)
      --source DIR|FILE       a folder of images, or a URL list (one URL a line, or CSV with url,
                              optional name and Aux1..Aux5 columns)
      --source dropbox:PATH   a Dropbox folder and its subfolders (DROPBOX_TOKEN, or DROPBOX_REFRESH_TOKEN
                              and DROPBOX_APP_KEY); each photo gets a public shared link, made direct
      --dropbox-links temporary   4-hour links instead of shared ones (the job must start soon)
      --dropbox-api URL       the Dropbox API base (default https://api.dropboxapi.com/)
      --source coco-annotator:DATASET   the images of a COCO Annotator dataset (--coco-annotator URL,
                              COCO_ANNOTATOR_USER and COCO_ANNOTATOR_PASSWORD), downloaded into
                              --download-to DIR (default next to --out: NAME.images/) and published
                              from there as a folder is; pushed names (site1__IMG_1.JPG) are the
                              survey's again (site1/IMG_1.JPG)
      --pushed-run FILE       with coco-annotator: the NDJSON of the run pushed into the dataset,
                              whose EXIF date, GPS and orientation the re-encoded uploads lost
      --points METHOD         random:30, stratified:5x6x1 (rows x columns x per cell), grid:10x10
      --points-csv FILE       instead of --points: Name,Row,Column of every point
      --area A                minX,maxX,minY,maxY in percent (15,85,15,85), or px:... (default whole image)
      --seed N                seed of the point draws (default 1)
      --out FILE              CoralNet export CSV
      --ndjson FILE           one line per image with every classification and raw score
      --errors FILE           failed images (default next to --out: NAME.errors.ndjson)
      --url-prefix URL        where a local folder's images are published for the real CoralNet
      --image-size WxH        every image has this size: do not read the images
      --max-attempts N        sends of an image whose download failed (default 3)
      --no-metadata           leave out Date, Aux1-5, Latitude, Longitude
      --aux-from-folders      Aux1-Aux5 from the subfolders a photo is in (site1/T2/IMG_1.JPG:
                              Aux1 site1, Aux2 T2), for photos the source gives no Aux values
      --burst N/PERIOD, --sustained N/PERIOD, --job-slots N   the server's limits, if not CoralNet's
      --cover FILE            percent cover CSV from the NDJSON when the run ends (needs --ndjson);
                              --cover-by, --window and --groups as for reefstream cover
      --coco FILE             COCO keypoints of every point when the run ends (needs --ndjson), and
                              the scores as COCO results beside it (FILE.results.json)
`;

const runSchema = z.object({
  api: z
    .string()
    .url('is not a URL')
    .refine((url) => /\/api\/?$/.test(new URL(url).pathname), "is not an API base: it ends in /api/ (CoralNet's is https://coralnet.ucsd.edu/api/)")
    .default('https://coralnet.ucsd.edu/api/'),
  token: z.string().optional(),
  user: z.string().optional(),
  classifier: z.string().regex(/^\d+$/, 'is a classifier id, a whole number (see the classifier page on CoralNet)'),
  source: z.string().min(1),
  points: checked(parsePointMethod).optional(),
  'points-csv': z.string().optional(),
  area: checked(parseArea).optional(),
  seed: z.string().regex(/^-?\d+$/, 'is a whole number, such as 1 or 42').default('1'),
  out: z.string().min(1),
  ndjson: z.string().optional(),
  errors: z.string().optional(),
  'url-prefix': z.string().url('is not a URL').optional(),
  'image-size': imageSize.optional(),
  'max-attempts': count.max(10).default(3),
  'no-metadata': z.boolean().optional(),
  'aux-from-folders': z.boolean().optional(),
  burst: rate.optional(),
  sustained: rate.optional(),
  'job-slots': count.optional(),
  'dropbox-links': z.enum(['shared', 'temporary']).default('shared'),
  'dropbox-api': z.string().url('is not a URL').optional(),
  'coco-annotator': z.string().url('is not a URL').optional(),
  'download-to': z.string().min(1).optional(),
  'pushed-run': z.string().min(1).optional(),
  cover: z.string().optional(),
  coco: z.string().optional(),
  'cover-by': grouping.default('image'),
  window: duration.optional(),
  groups: z.string().optional(),
});

/** A run stopped by Ctrl-C: it says how to go on, and exits 130. */
export function stopped(): never {
  process.stderr.write(`${process.stderr.isTTY ? '\n' : ''}reefstream run: stopped. What was written is kept: run the same command again to go on from there.\n`);
  process.exit(130);
}

/** How a finished run ends: every image annotated, some in the errors file, or no image at all. */
function exitCodeOf(summary: SurveySummary): number {
  if (summary.images === 0) return EXIT.noImages;
  return summary.failed > 0 ? EXIT.someFailed : EXIT.annotated;
}

export function summaryLines(summary: SurveySummary): string[] {
  const reasons = Object.entries(summary.failures)
    .map(([reason, n]) => `${n} ${reason}`)
    .join(', ');
  const { throttled, retries, serverErrors, waitSeconds } = summary.server;
  const outcome =
    summary.images === 0
      ? 'no image found in the source (exit code 4)'
      : summary.failed === 0
        ? 'every image annotated'
        : summary.annotated === 0
          ? `every image failed: see ${summary.outputs.errors} (exit code 3)`
          : `${summary.failed} ${summary.failed === 1 ? 'image' : 'images'} not annotated: see ${summary.outputs.errors} (exit code 3)`;
  return [
    `${plural(summary.images, 'image')}: ${summary.annotated} annotated, ${summary.failed} failed${reasons ? ` (${reasons})` : ''}`,
    `${plural(summary.points, 'point')} in ${plural(summary.jobs, 'job')}, ${summary.seconds.toFixed(1)} s, ${Math.round(summary.imagesPerMinute)} images annotated per minute${summary.resumes > 0 ? ` (resumed ${summary.resumes} ${summary.resumes === 1 ? 'time' : 'times'}; the time in between not counted)` : ''}`,
    `server: ${throttled} throttled (429), ${retries} requests tried again (${serverErrors} server errors), ${waitSeconds.toFixed(1)} s waiting`,
    `rows: ${summary.outputs.csv}${summary.outputs.ndjson ? `, ${summary.outputs.ndjson}` : ''}; failures: ${summary.outputs.errors}`,
    outcome,
  ];
}

/** What the server did, as lines of the log when no progress line shows it. */
function eventLine(event: ClientEvent): string | undefined {
  switch (event.type) {
    case 'throttled':
      return `throttled by CoralNet (429 on ${event.endpoint}): waiting ${event.retryAfterSeconds} s`;
    case 'retry':
      return `${event.status === undefined ? 'no answer' : `server error ${event.status}`} on ${event.endpoint}: trying again in ${Math.ceil(event.delayMs / 1000)} s (attempt ${event.attempt + 1})`;
    case 'job-limit-full':
      return `the account's job limit is full (active jobs ${event.activeJobIds.join(', ')}): waiting for a slot`;
    case 'adopted-lost-deploy':
      return `a deploy whose answer was lost is job ${event.jobId} on the server: polling it, not sending again`;
    case 'stuck-job':
      return `job ${event.jobId} said it was finished but CoralNet never gives its result: its images go in a new job; it keeps one of your active-job slots until CoralNet purges it, so this run uses ${event.slotsLeft}`;
  }
}

/** `--source dropbox:/Surveys/site1`, with the credentials from the environment. */
function dropboxSource(path: string, links: 'shared' | 'temporary', apiUrl: string | undefined): AsyncIterable<ImageRef> {
  const env = process.env;
  if (env.DROPBOX_TOKEN === undefined && (env.DROPBOX_REFRESH_TOKEN === undefined || env.DROPBOX_APP_KEY === undefined)) {
    throw new UsageError('reefstream run: --source dropbox:… needs DROPBOX_TOKEN, or DROPBOX_REFRESH_TOKEN with DROPBOX_APP_KEY (and DROPBOX_APP_SECRET if the app has one).');
  }
  return dropbox({ token: env.DROPBOX_TOKEN, refreshToken: env.DROPBOX_REFRESH_TOKEN, appKey: env.DROPBOX_APP_KEY, appSecret: env.DROPBOX_APP_SECRET, path, links, apiUrl });
}

/** Where a COCO Annotator dataset is downloaded: `results.csv` → `results.images/`. */
const downloadFolder = (out: string): string => `${out.replace(/\.csv$/i, '')}.images`;

export async function run(args: string[]): Promise<void> {
  const o = parse('run', args, runSchema, help);
  const token = o.token ?? process.env.CORALNET_TOKEN;
  const password = process.env.CORALNET_PASSWORD;
  if (token === undefined && (o.user === undefined || password === undefined)) {
    throw new UsageError('reefstream run: no credentials: set CORALNET_TOKEN (or --token), or --user with CORALNET_PASSWORD.');
  }
  if (o.cover !== undefined && o.ndjson === undefined) throw new UsageError('reefstream run: --cover is computed from the NDJSON output: give --ndjson FILE too.');
  if (o.coco !== undefined && o.ndjson === undefined) throw new UsageError('reefstream run: --coco is written from the NDJSON output: give --ndjson FILE too.');
  if ((o.points === undefined) === (o['points-csv'] === undefined)) {
    throw new UsageError('reefstream run: give one of --points (random:30, stratified:5x6x1, grid:10x10) or --points-csv FILE.');
  }
  const windows = o.burst || o.sustained ? [o.burst ?? { limit: 60, periodMs: 60_000 }, o.sustained ?? { limit: 1000, periodMs: 3_600_000 }] : undefined;
  const fromCocoAnnotator = o.source.startsWith('coco-annotator:');
  if (fromCocoAnnotator && o.source.length === 'coco-annotator:'.length) throw new UsageError('reefstream run: --source coco-annotator:DATASET needs the dataset name after the colon.');
  const imagesFolder = fromCocoAnnotator ? (o['download-to'] ?? downloadFolder(o.out)) : undefined;
  if (o['pushed-run'] !== undefined && !fromCocoAnnotator) throw new UsageError('reefstream run: --pushed-run goes with --source coco-annotator:DATASET.');

  try {
    checkDistinctOutputs({ '--out': o.out, '--ndjson': o.ndjson, '--errors': o.errors ?? defaultErrorsPath(o.out), '--cover': o.cover, '--coco': o.coco, 'the COCO scores': o.coco && cocoResultsPath(o.coco) });
  } catch (error) {
    throw new UsageError(`reefstream run: ${(error as Error).message}`);
  }
  // Ctrl-C: what is written is checkpointed (the time taken too) and the run ends; a second
  // Ctrl-C, or a run that has not ended within 10 s, ends at once, as a kill would.
  const stop = new AbortController();
  process.on('SIGINT', () => {
    if (stop.signal.aborted) stopped();
    stop.abort();
    setTimeout(stopped, 10_000).unref();
  });
  const summary = await runSurvey({
    signal: stop.signal,
    apiUrl: o.api,
    token,
    username: o.user,
    password,
    classifierId: o.classifier,
    source: o.source.startsWith('dropbox:')
      ? dropboxSource(o.source.slice('dropbox:'.length), o['dropbox-links'], o['dropbox-api'])
      : fromCocoAnnotator
        ? cocoAnnotatorImages({
            ...cocoAnnotatorLogin('run', o['coco-annotator']),
            dataset: o.source.slice('coco-annotator:'.length),
            into: imagesFolder!,
            pushedRun: o['pushed-run'],
            onRecovered: ({ images, fromRun }) => {
              const none = images - fromRun;
              const line =
                o['pushed-run'] === undefined
                  ? 'COCO Annotator re-encodes uploaded images: their EXIF date and GPS are gone; give --pushed-run with the NDJSON of the run that was pushed to recover them.'
                  : `coco-annotator: date and GPS of ${plural(fromRun, 'image')} recovered from ${o['pushed-run']}${none > 0 ? `; ${plural(none, 'image')} not in it ${none === 1 ? 'has' : 'have'} none` : ''}`;
              process.stderr.write(`${process.stderr.isTTY ? '\r\x1b[2K' : ''}${line}\n`);
            },
          })
        : o.source,
    imagesFolder,
    sourceName: o.source,
    points: o.points,
    pointsCsv: o['points-csv'],
    area: o.area,
    seed: o.seed,
    out: o.out,
    ndjson: o.ndjson,
    errors: o.errors,
    urlPrefix: o['url-prefix'],
    imageSize: o['image-size'],
    maxAttempts: o['max-attempts'],
    metadata: o['no-metadata'] !== true,
    auxFromFolders: o['aux-from-folders'] === true,
    windows,
    jobSlots: o['job-slots'],
    log: (line) => process.stderr.write(`${line}\n`),
    // Each wait is a line (on a terminal, above the progress line, which also shows it).
    onEvent: (event) => {
      const line = eventLine(event);
      if (line !== undefined) process.stderr.write(`${process.stderr.isTTY ? '\r\x1b[2K' : ''}${line}\n`);
    },
  });
  process.stdout.write(`${summaryLines(summary).join('\n')}\n`);
  process.exitCode = exitCodeOf(summary);
  if (o.cover !== undefined) {
    const rows = await writeCoverCsv({ input: summary.outputs.ndjson!, out: o.cover, by: o['cover-by'], windowMs: o.window, groups: o.groups ? await readLabelGroups(o.groups) : undefined, gps: true });
    process.stdout.write(`cover: ${rows} rows in ${o.cover}\n`);
  }
  if (o.coco !== undefined) process.stdout.write(cocoLine(await writeCoco({ input: summary.outputs.ndjson!, out: o.coco }), o.coco));
}
