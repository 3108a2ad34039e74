#!/usr/bin/env node
/**
 * The `reefstream` command.
 *   reefstream simulate [--port 8123] …   a CoralNet simulator on this machine
 *   reefstream demo [--out demo-output]   a painted survey through the client and the simulator
 */
import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { z } from 'zod';
import { runDemo } from './demo/demo.js';
import { defaultErrorsPath, runSurvey, RunStoppedError, type SurveySummary } from './flow/runSurvey.js';
import { writeCoverCsv } from './cover/coverFile.js';
import { readLabelGroups } from './cover/labelGroups.js';
import { writeReport } from './report/report.js';
import { writeOverlays } from './report/overlayFolder.js';
import { parseArea, parsePointMethod } from './images/points.js';
import { startSimulator, type SimulatorOptions } from './simulator/server.js';
import { parseDuration, parseRate } from './util/duration.js';
import { dropbox } from './sources/dropbox.js';
import { cocoAnnotatorImages } from './sources/cocoAnnotator.js';
import { CocoAnnotator, readCocoFile, type CocoAnnotatorLogin, type CocoFile } from './review/cocoAnnotator.js';
import { pushForReview, type PushSummary } from './review/push.js';
import { compareWithHumans, machineFromCoco, writeAgreement } from './review/compare.js';
import { readResultLines } from './sinks/resultsFile.js';
import { cocoResultsPath, writeCoco } from './sinks/coco.js';
import type { ImageRef } from './model.js';
import type { ClientEvent } from './coralnet/client.js';
import { checkDistinctOutputs } from './flow/outputLock.js';

class UsageError extends Error {}

const HELP = `reefstream — machine annotations for reef photo surveys from a CoralNet classifier

Commands:
  reefstream run --classifier ID --source DIR|FILE|dropbox:PATH|coco-annotator:DATASET --points METHOD --out results.csv [options]
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

  reefstream cover --in results.ndjson --out cover.csv [--by image|folder|Aux1..Aux5|window]
                   [--window 60s] [--groups groups.csv|groups.json] [--gps] [--sorted]
      Percent cover of each label and label group, per image or per group of images.
      --groups maps label codes to groups (CSV: code,group; JSON: {"CORAL":"Live coral"}).
      --gps adds the mean position of each group; --sorted writes each time window as soon
      as a later one starts (the NDJSON must be in time order).

  reefstream coco --in results.ndjson --out results.coco.json [--results FILE]
      COCO keypoint annotations (one category per label, one point per annotation at x = column,
      y = row, v = 2) for review in COCO Annotator, and the scores as a COCO results file.

  reefstream review push --coco-annotator URL --dataset NAME --results results.ndjson [--images DIR]
                         [--record results.pushed.ndjson]
      Puts the machine points into COCO Annotator for people to review: makes the dataset if
      needed, uploads the images under flat names (site1/IMG_1.JPG as site1__IMG_1.JPG; from
      --images, else each image's file or URL), gives each label a point category and attaches it,
      imports the points in bulk and waits for the import. Only points never pushed to the dataset
      are imported (--record, default results.pushed.ndjson beside the results, lists what
      arrived), so a review is never undone.
      Points the import dropped are listed, and the exit code is 3: push again to send them.
      Login: COCO_ANNOTATOR_USER and COCO_ANNOTATOR_PASSWORD.

  reefstream review compare --coco-annotator URL --dataset NAME | --human FILE.json
                            --results results.ndjson | results.coco.json --out agreement
                            [--tolerance PX] [--groups groups.csv|groups.json]
      Matches the reviewed points to the machine's (same image, same position within --tolerance
      pixels, default 0) and writes agreement.json and three CSV tables: top-1 and top-5 accuracy
      per label (agreement.labels.csv), the confusion matrix (agreement.confusion.csv), and percent
      cover from humans beside the machine's, per image and label group (agreement.cover.csv).

  reefstream report --in results.ndjson --out report/ [--images DIR] [--errors FILE] [--samples 12]
                    [--groups groups.csv|groups.json]
      A self-contained HTML page: run summary, cover over time or by site (of label groups with
      --groups), a GPS scatter, the label distribution, and sample photos (from --images, else
      their URLs) with their points.

  reefstream overlay --in results.ndjson --images DIR --out DIR
      Each photo with its machine points drawn on it (a ring and the label code, coloured by label).

  reefstream demo [--out DIR] [--images N]
      Paints a small survey, starts the CoralNet simulator, runs it end to end, writes
      DIR/results.csv and DIR/results.ndjson, and checks every row against the painted colour.

  reefstream simulate [--port 8123] [options]
      Serves a simulated CoralNet deploy API at http://127.0.0.1:PORT/api/ until stopped,
      and prints the username, password and token to use.
      --host ADDR             a loopback address (default 127.0.0.1)
      --token HEX             the token of user "surveyor" (40 hex; random by default)
      --image-ms MS           least time per image (default 0)
      --workers N             images worked on at once (default 4)
      --job-workers N         instead: N workers for each job, so that jobs do not slow each other
      --job-slots N           active jobs per user (default 5)
      --burst N/PERIOD        request window (default 60/60s)
      --sustained N/PERIOD    request window (default 1000/1h)
      --expire-after DURATION jobs are deleted this long after creation (default 30d)
      --download-timeout DURATION  image download time-out (default 20s)
      --max-pixels N          width x height above which an image fails with DataLimitError (default
                              64000000, CoralNet's setting; production may use its classifier's 100000000)
      --seed S                seed of the fault draws (default 1)
      --fault-5xx P           share of requests answered 500/502/503 (default 0)
      --fault-drop P          share of requests whose connection is dropped (default 0)
      --fault-slow P          share of requests answered late (default 0), by --slow-ms (default 2000)
      --fault-409 P           share of finished jobs whose first result request gets 409 (default 0)
      --fake-images WxH       download nothing: every URL is a WxH image of 50-pixel patches of label
                              colours, label (fnv1a(url) + 7919*(row div 50) + 104729*(column div 50)) mod 5

  reefstream --help | --version
`;

const share = z.coerce.number().min(0, 'is a share from 0 to 1').max(1, 'is a share from 0 to 1');
const count = z.coerce.number().int('is a whole number').positive('is a whole number above 0');
/** An option whose text a parser of ours reads; its error message becomes the zod issue. */
const parsedWith = <T>(parse: (text: string) => T) =>
  z.string().transform((text, ctx) => {
    try {
      return parse(text);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  });
const duration = parsedWith((text) => parseDuration(text));
const rate = parsedWith(parseRate);

const imageSize = parsedWith((text) => {
  const match = /^(\d+)x(\d+)$/.exec(text);
  if (!match || Number(match[1]) < 1 || Number(match[2]) < 1) throw new Error('write width x height in pixels, such as 4000x3000');
  return { width: Number(match[1]), height: Number(match[2]) };
});

const simulateSchema = z.object({
  port: z.coerce.number().int().min(0).max(65535).default(8123),
  host: z.string().default('127.0.0.1'),
  token: z.string().regex(/^[0-9a-f]{40}$/, 'must be 40 lowercase hex characters').optional(),
  'image-ms': z.coerce.number().min(0).default(0),
  workers: count.default(4),
  'job-workers': count.optional(),
  'job-slots': count.default(5),
  burst: rate.optional(),
  sustained: rate.optional(),
  'expire-after': duration.optional(),
  'download-timeout': duration.optional(),
  seed: z.string().default('1'),
  'fault-5xx': share.default(0),
  'fault-drop': share.default(0),
  'fault-slow': share.default(0),
  'slow-ms': z.coerce.number().min(0).default(2000),
  'fault-409': share.default(0),
  'fake-images': imageSize.optional(),
  'max-pixels': count.default(64_000_000),
});

const checked = <T>(check: (text: string) => T) => parsedWith((text) => (check(text), text));

const grouping = z.enum(['image', 'folder', 'Aux1', 'Aux2', 'Aux3', 'Aux4', 'Aux5', 'window'], { message: 'is one of image, folder, Aux1 … Aux5, window' });

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

const cocoSchema = z.object({
  in: z.string().min(1),
  out: z.string().min(1),
  results: z.string().optional(),
});

const pushSchema = z.object({
  'coco-annotator': z.string().url('is not a URL'),
  dataset: z.string().min(1),
  results: z.string().min(1),
  images: z.string().optional(),
  record: z.string().min(1).optional(),
});

const compareSchema = z.object({
  'coco-annotator': z.string().url('is not a URL').optional(),
  dataset: z.string().min(1).optional(),
  human: z.string().optional(),
  results: z.string().min(1),
  out: z.string().min(1),
  tolerance: z.coerce.number().min(0, 'is a distance in pixels, 0 or more').default(0),
  groups: z.string().optional(),
});

const coverSchema = z.object({
  in: z.string().min(1),
  out: z.string().min(1),
  by: grouping.default('image'),
  window: duration.optional(),
  groups: z.string().optional(),
  gps: z.boolean().optional(),
  sorted: z.boolean().optional(),
});

const reportSchema = z.object({
  in: z.string().min(1),
  out: z.string().min(1),
  images: z.string().optional(),
  errors: z.string().optional(),
  samples: count.max(100).default(12),
  groups: z.string().optional(),
});

const overlaySchema = z.object({
  in: z.string().min(1),
  images: z.string().min(1),
  out: z.string().min(1),
});

const demoSchema = z.object({
  out: z.string().min(1).default('demo-output'),
  images: count.max(10_000).default(250),
});

const FLAGS = new Set(['gps', 'sorted', 'aux-from-folders']);

function stringOptions(names: string[]): ParseArgsConfig['options'] {
  return Object.fromEntries(names.map((name) => [name, { type: name.startsWith('no-') || FLAGS.has(name) ? ('boolean' as const) : ('string' as const) }]));
}

/** The part of the help about one command (`run`, `review push`, …). */
function helpOf(command: string): string {
  const blocks = HELP.split(/\n(?= {2}reefstream )/);
  const block = blocks.find((text) => text.startsWith(`  reefstream ${command} `) || text.startsWith(`  reefstream ${command}\n`));
  return `${(block ?? HELP).trimEnd()}\n`;
}

function parse<S extends z.ZodObject>(command: string, args: string[], schema: S): z.output<S> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(helpOf(command));
    process.exit(0);
  }
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({ args, options: stringOptions(Object.keys(schema.shape)), strict: true, allowPositionals: false }));
  } catch (error) {
    const message = (error as Error).message.split('\n')[0]!;
    // `--seed -1`: a value that starts with a dash is written with `=`.
    const dashed = /^Option '(--[\w-]+)[^']*' argument is ambiguous/.exec(message)?.[1];
    if (dashed !== undefined) throw new UsageError(`reefstream ${command}: ${dashed} takes a value that starts with a dash only as ${dashed}=VALUE (for example ${dashed}=-1).`);
    throw new UsageError(`reefstream ${command}: ${message} (see reefstream ${command} --help)`);
  }
  const parsed = schema.safeParse(values);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const option = String(issue.path[0]);
    const given = values[option] as string | boolean | undefined;
    if (given === undefined) throw new UsageError(`reefstream ${command}: --${option} is missing (see reefstream ${command} --help).`);
    throw new UsageError(`reefstream ${command}: --${option} "${String(given)}": ${issue.message}`);
  }
  return parsed.data;
}

async function simulate(args: string[]): Promise<void> {
  const o = parse('simulate', args, simulateSchema);
  const options: SimulatorOptions = {
    host: o.host,
    port: o.port,
    token: o.token,
    imageMs: o['image-ms'],
    workers: o.workers,
    jobWorkers: o['job-workers'],
    jobSlots: o['job-slots'],
    burst: o.burst,
    sustained: o.sustained,
    expireAfterMs: o['expire-after'],
    downloadTimeoutMs: o['download-timeout'],
    fakeImages: o['fake-images'],
    maxImagePixels: o['max-pixels'],
    faults: {
      seed: o.seed,
      serverErrors: o['fault-5xx'],
      drops: o['fault-drop'],
      slow: o['fault-slow'],
      slowMs: o['slow-ms'],
      conflictAfterSeeOther: o['fault-409'],
    },
  };
  let sim;
  try {
    sim = await startSimulator(options);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'EADDRINUSE') throw new UsageError(`reefstream simulate: port ${o.port} is in use: pick another with --port.`);
    throw new UsageError(`reefstream simulate: ${(error as Error).message}`);
  }
  const burst = o.burst ?? { limit: 60, periodMs: 60_000 };
  const sustained = o.sustained ?? { limit: 1000, periodMs: 3_600_000 };
  process.stdout.write(
    [
      `CoralNet simulator at ${sim.url}`,
      `  user:       ${sim.username}`,
      `  password:   ${sim.password}`,
      `  token:      ${sim.token}`,
      `  classifier: 1 (labels CORAL, CCA, MA, TURF, SAND); 2 is in another user's private source`,
      `  limits:     ${burst.limit} requests per ${burst.periodMs / 1000} s, ${sustained.limit} per ${sustained.periodMs / 1000} s, ${o['job-slots']} active jobs`,
      `Try it: CORALNET_TOKEN=${sim.token} reefstream run --api ${sim.url} --user ${sim.username} --classifier 1 --source PHOTOS_OR_URLS --points stratified:5x6x1 --out results.csv --ndjson results.ndjson${o.burst || o.sustained ? ` --burst ${burst.limit}/${burst.periodMs / 1000}s --sustained ${sustained.limit}/${sustained.periodMs / 1000}s` : ''}`,
      'Stop with Ctrl+C.',
      '',
    ].join('\n'),
  );
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await sim.close();
  const s = sim.stats;
  process.stdout.write(`simulator stopped: ${s.requests} requests, ${s.jobsCreated} jobs, ${s.imagesDone} images, ${s.throttled} throttled, ${s.jobLimitRefusals} over the job limit\n`);
}

/** A run stopped by Ctrl-C: it says how to go on, and exits 130. */
function stopped(): never {
  process.stderr.write(`${process.stderr.isTTY ? '\n' : ''}reefstream run: stopped. What was written is kept: run the same command again to go on from there.\n`);
  process.exit(130);
}

/** `1 image`, `3 images`. */
const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** Exit codes of `reefstream run` (README: "Exit codes"). */
const EXIT = { annotated: 0, stopped: 1, usage: 2, someFailed: 3, noImages: 4 } as const;

/** How a finished run ends: every image annotated, some in the errors file, or no image at all. */
function exitCodeOf(summary: SurveySummary): number {
  if (summary.images === 0) return EXIT.noImages;
  return summary.failed > 0 ? EXIT.someFailed : EXIT.annotated;
}

function summaryLines(summary: SurveySummary): string[] {
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

async function demo(args: string[]): Promise<void> {
  const o = parse('demo', args, demoSchema);
  const summary = await runDemo({ out: o.out, images: o.images, log: (line) => process.stderr.write(`${line}\n`) });
  process.stdout.write(
    [
      ...summaryLines(summary),
      `${summary.matching} of ${summary.rows} rows labelled as the colour painted under the point`,
      `${summary.requests} API requests, ${summary.throttled} throttled`,
      `report: ${summary.report}`,
      '',
    ].join('\n'),
  );
  if (summary.matching !== summary.rows || summary.failed > 0) process.exitCode = 1;
}

/** `--source dropbox:/Surveys/site1`, with the credentials from the environment. */
function dropboxSource(path: string, links: 'shared' | 'temporary', apiUrl: string | undefined): AsyncIterable<ImageRef> {
  const env = process.env;
  if (env.DROPBOX_TOKEN === undefined && (env.DROPBOX_REFRESH_TOKEN === undefined || env.DROPBOX_APP_KEY === undefined)) {
    throw new UsageError('reefstream run: --source dropbox:… needs DROPBOX_TOKEN, or DROPBOX_REFRESH_TOKEN with DROPBOX_APP_KEY (and DROPBOX_APP_SECRET if the app has one).');
  }
  return dropbox({ token: env.DROPBOX_TOKEN, refreshToken: env.DROPBOX_REFRESH_TOKEN, appKey: env.DROPBOX_APP_KEY, appSecret: env.DROPBOX_APP_SECRET, path, links, apiUrl });
}

/** The COCO Annotator login from the environment. */
function cocoAnnotatorLogin(command: string, url: string | undefined): CocoAnnotatorLogin {
  const { COCO_ANNOTATOR_USER: username, COCO_ANNOTATOR_PASSWORD: password } = process.env;
  if (url === undefined) throw new UsageError(`reefstream ${command}: give the COCO Annotator server with --coco-annotator URL.`);
  if (username === undefined || password === undefined) throw new UsageError(`reefstream ${command}: set COCO_ANNOTATOR_USER and COCO_ANNOTATOR_PASSWORD to log in to COCO Annotator.`);
  return { url, username, password };
}

/** Where a COCO Annotator dataset is downloaded: `results.csv` → `results.images/`. */
const downloadFolder = (out: string): string => `${out.replace(/\.csv$/i, '')}.images`;

async function run(args: string[]): Promise<void> {
  const o = parse('run', args, runSchema);
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

const cocoLine = (coco: { images: number; annotations: number; categories: number; results: string }, out: string): string =>
  `coco: ${coco.images} images, ${coco.annotations} points, ${coco.categories} categories in ${out}; scores in ${coco.results}\n`;

async function coco(args: string[]): Promise<void> {
  const o = parse('coco', args, cocoSchema);
  process.stdout.write(cocoLine(await writeCoco({ input: o.in, out: o.out, results: o.results }), o.out));
}

/** What a push did, what it left alone, and what did not arrive. */
function pushLines(pushed: PushSummary): string {
  const parts = [
    `review: dataset ${pushed.dataset} (id ${pushed.datasetId}${pushed.datasetCreated ? ', made now' : ''}): ${plural(pushed.images, 'image')}; ${pushed.uploaded} uploaded, ${pushed.alreadyThere} there already`,
    `${plural(pushed.annotations, 'point')} imported${pushed.task ? ` (task ${pushed.task.id})` : ' (nothing new)'}`,
  ];
  if (pushed.pushedBefore > 0) parts.push(`${plural(pushed.pushedBefore, 'image')} pushed before, left as reviewed`);
  if (pushed.unrecorded > 0) parts.push(`${plural(pushed.unrecorded, 'image')} with points in the dataset that ${pushed.record} does not list, left as they are`);
  parts.push(`${plural(pushed.categories.length, 'category', 'categories')} (${pushed.categoriesCreated} made)`);
  let text = `${parts.join('; ')}\n  record: ${pushed.record}\n`;
  const { lost } = pushed;
  if (lost.reasons.length > 0) {
    text += `  ${plural(lost.points, 'point')} of ${plural(lost.images, 'image')} did not arrive:\n`;
    for (const r of lost.reasons.slice(0, 20)) text += `    ${r.name}: ${r.reason}\n`;
    if (lost.reasons.length > 20) text += `    … and ${lost.reasons.length - 20} more\n`;
  }
  return text;
}

async function review(args: string[]): Promise<void> {
  const [step, ...rest] = args;
  if (step === 'push') {
    const o = parse('review push', rest, pushSchema);
    const pushed = await pushForReview({
      ...cocoAnnotatorLogin('review push', o['coco-annotator']),
      dataset: o.dataset,
      results: o.results,
      images: o.images,
      record: o.record,
      onProgress: ({ step: now, done }) => {
        if (now === 'upload' && done % 100 === 0) process.stderr.write(`uploaded or found ${done} images\n`);
      },
    });
    process.stdout.write(pushLines(pushed));
    if (pushed.lost.reasons.length > 0) {
      process.stderr.write(`reefstream review push: ${pushed.lost.points} ${pushed.lost.points === 1 ? 'point' : 'points'} did not arrive: push again to send them (exit code ${EXIT.someFailed})\n`);
      process.exitCode = EXIT.someFailed;
    }
    return;
  }
  if (step === 'compare') {
    const o = parse('review compare', rest, compareSchema);
    if ((o.human === undefined) === (o.dataset === undefined)) throw new UsageError('reefstream review compare: give the reviewed points as --coco-annotator URL --dataset NAME, or as a COCO file with --human FILE.');
    let human: CocoFile;
    if (o.human !== undefined) {
      human = await readCocoFile(o.human);
    } else {
      const annotator = await CocoAnnotator.connect(cocoAnnotatorLogin('review compare', o['coco-annotator']));
      human = await annotator.exportCoco((await annotator.dataset(o.dataset!)).id);
    }
    const machine = /\.json$/i.test(o.results) ? machineFromCoco(o.results, cocoResultsPath(o.results)) : readResultLines(o.results);
    const agreement = await compareWithHumans({ human, machine, tolerance: o.tolerance, groups: o.groups ? await readLabelGroups(o.groups) : undefined });
    const paths = await writeAgreement(agreement, o.out);
    const pct = (share: number | undefined) => (share === undefined ? 'n/a' : `${(100 * share).toFixed(1)} %`);
    process.stdout.write(
      `agreement: ${agreement.images} reviewed images, ${agreement.matched} points matched (${agreement.humanOnly} only human, ${agreement.machineOnly} only machine); ` +
        `top-1 ${pct(agreement.top1Accuracy)}, top-5 ${pct(agreement.top5Accuracy)}\n` +
        (agreement.notInResults.length > 0 ? `  reviewed but not in ${o.results}: ${agreement.notInResults.length} (${agreement.notInResults.slice(0, 3).join(', ')}${agreement.notInResults.length > 3 ? ', …' : ''})\n` : '') +
        `  ${paths.json}, ${paths.labels}, ${paths.confusion}, ${paths.cover}\n`,
    );
    return;
  }
  throw new UsageError(`reefstream review: say push or compare (see reefstream --help)`);
}

async function report(args: string[]): Promise<void> {
  const o = parse('report', args, reportSchema);
  const file = await writeReport({ input: o.in, out: o.out, images: o.images, errors: o.errors, samples: o.samples, groups: o.groups ? await readLabelGroups(o.groups) : undefined });
  process.stdout.write(`report: ${file}\n`);
}

async function overlay(args: string[]): Promise<void> {
  const o = parse('overlay', args, overlaySchema);
  const { drawn, missing } = await writeOverlays({ input: o.in, images: o.images, out: o.out });
  process.stdout.write(`overlays: ${drawn} photos drawn in ${o.out}${missing.length > 0 ? `; not found in ${o.images}: ${missing.length} (${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', …' : ''})` : ''}\n`);
}

async function cover(args: string[]): Promise<void> {
  const o = parse('cover', args, coverSchema);
  const groups = o.groups ? await readLabelGroups(o.groups) : undefined;
  const rows = await writeCoverCsv({ input: o.in, out: o.out, by: o.by, windowMs: o.window, groups, gps: o.gps, sorted: o.sorted });
  process.stdout.write(`cover: ${rows} rows in ${o.out}\n`);
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'simulate':
      return simulate(rest);
    case 'demo':
      return demo(rest);
    case 'run':
      return run(rest);
    case 'cover':
      return cover(rest);
    case 'coco':
      return coco(rest);
    case 'report':
      return report(rest);
    case 'review':
      return review(rest);
    case 'overlay':
      return overlay(rest);
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(HELP);
      return;
    case '--version': {
      const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
      process.stdout.write(`${pkg.version}\n`);
      return;
    }
    default:
      throw new UsageError(`reefstream: no command "${command}" (commands: run, cover, coco, review, report, overlay, demo, simulate; see reefstream --help)`);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof RunStoppedError) stopped();
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  // A stopped run has closed its outputs and journal; timers of work it abandoned are not waited for.
  process.exit(error instanceof UsageError ? 2 : 1);
});
