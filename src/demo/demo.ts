/**
 * The demo: a painted survey with a tow's EXIF, run end to end through `runSurvey` against the
 * CoralNet simulator, with every row's label checked against the colour painted under its point.
 */
import { createReadStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'fast-csv';
import { runSurvey, type SurveySummary } from '../flow/runSurvey.js';
import { writeReport } from '../report/report.js';
import { startSimulator } from '../simulator/server.js';
import { paintedLabel, paintSurvey } from './syntheticSurvey.js';

export interface DemoOptions {
  out: string;
  images?: number;
  log?: (line: string) => void;
  progressStream?: NodeJS.WriteStream;
}

export interface DemoSummary extends SurveySummary {
  /** Rows whose label is the colour painted under the point. */
  matching: number;
  rows: number;
  requests: number;
  throttled: number;
  /** The HTML report of the run. */
  report: string;
}

/** Demo limits: CoralNet's windows scaled ten times faster, so that the demo takes seconds. */
const DEMO_WINDOWS = [
  { limit: 60, periodMs: 6_000 },
  { limit: 1000, periodMs: 360_000 },
];

export async function runDemo(options: DemoOptions): Promise<DemoSummary> {
  const log = options.log ?? (() => undefined);
  const folder = join(options.out, 'images');
  await mkdir(options.out, { recursive: true });
  // Each demo is a survey of its own: the photos are painted again, so an earlier demo's results go.
  for (const file of ['results.csv', 'results.ndjson', 'results.errors.ndjson', 'results.journal.ndjson', 'results.journal.written', 'results.run.json']) {
    await rm(join(options.out, file), { force: true });
  }
  // 160-pixel blocks fall on JPEG's 8-pixel blocks: the colours stay exact up to every edge.
  const painted = await paintSurvey(folder, options.images ?? 250, { seed: 'demo', width: 800, height: 640, blockRows: 4, blockColumns: 5, tow: true });
  const byName = new Map(painted.map((image) => [image.name, image]));
  log(`painted ${painted.length} survey photos in ${folder}`);
  const sim = await startSimulator({ imageMs: 40, workers: 4, burst: DEMO_WINDOWS[0], sustained: DEMO_WINDOWS[1] });
  log(`CoralNet simulator at ${sim.url} (request windows 60 per 6 s and 1000 per 6 min, 5 job slots: ten times CoralNet's request rates, so the images per minute below are not a real survey's)`);
  try {
    const summary = await runSurvey({
      apiUrl: sim.url,
      token: sim.token,
      username: sim.username,
      classifierId: 1,
      source: folder,
      points: 'stratified:5x6x1',
      area: '15,85,15,85',
      seed: 1,
      out: join(options.out, 'results.csv'),
      ndjson: join(options.out, 'results.ndjson'),
      windows: DEMO_WINDOWS,
      chunkFlushMs: 200,
      progressStream: options.progressStream,
    });
    let rows = 0;
    let matching = 0;
    const csv = createReadStream(summary.outputs.csv).pipe(parse({ headers: true }));
    for await (const row of csv as AsyncIterable<Record<string, string>>) {
      rows++;
      const image = byName.get(row.Name!);
      if (image && paintedLabel(image, Number(row.Row), Number(row.Column)) === row['Label code']) matching++;
    }
    const report = await writeReport({ input: summary.outputs.ndjson!, out: join(options.out, 'report'), images: folder });
    log(`report: ${report}`);
    return { ...summary, rows, matching, requests: sim.stats.requests, throttled: sim.stats.throttled, report };
  } finally {
    await sim.close();
  }
}
