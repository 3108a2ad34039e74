/**
 * The demo: a small painted survey, sent through the CoralNet client to the simulator, with every
 * point's machine label checked against the colour painted under it.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CoralNetClient } from '../coralnet/client.js';
import { MAX_IMAGES_PER_JOB } from '../coralnet/deployRequest.js';
import type { ImageResult } from '../coralnet/schemas.js';
import { startSimulator } from '../simulator/server.js';
import { serveFolder } from '../sources/folderServer.js';
import { blockCentres, paintedLabel, paintSurvey } from './syntheticSurvey.js';

export interface DemoOptions {
  out: string;
  images?: number;
  /** Images per job: small, so that several jobs run at once. */
  imagesPerJob?: number;
  log?: (line: string) => void;
}

export interface DemoSummary {
  images: number;
  points: number;
  matching: number;
  failedImages: number;
  jobs: number;
  requests: number;
  throttled: number;
  seconds: number;
  resultsFile: string;
}

export async function runDemo(options: DemoOptions): Promise<DemoSummary> {
  const log = options.log ?? (() => undefined);
  const started = Date.now();
  const folder = join(options.out, 'images');
  const painted = await paintSurvey(folder, options.images ?? 40, { seed: 'demo' });
  log(`painted ${painted.length} survey images in ${folder}`);
  const served = await serveFolder(folder);
  const sim = await startSimulator({ imageMs: 40, workers: 4 });
  log(`CoralNet simulator at ${sim.url}`);
  const client = await CoralNetClient.connect({ apiUrl: sim.url, token: sim.token, username: sim.username });
  try {
    const perJob = Math.min(options.imagesPerJob ?? 8, MAX_IMAGES_PER_JOB);
    const chunks: Array<typeof painted> = [];
    for (let i = 0; i < painted.length; i += perJob) chunks.push(painted.slice(i, i + perJob));
    const results = await Promise.all(
      chunks.map(async (chunk) => {
        const job = await client.deploy(
          1,
          chunk.map((image) => ({ url: served.urlOf(image.name), points: blockCentres(image) })),
        );
        log(`job ${job.id}: ${chunk.length} images sent`);
        const images = await client.waitForResult(job, 250);
        log(`job ${job.id}: finished`);
        return images;
      }),
    );
    const images: ImageResult[] = results.flat();
    let points = 0;
    let matching = 0;
    images.forEach((image, i) => {
      if (!image.ok) return;
      for (const point of image.points) {
        points++;
        if (point.classifications[0]!.label_code === paintedLabel(painted[i]!, point.row, point.column)) matching++;
      }
    });
    await mkdir(options.out, { recursive: true });
    const resultsFile = join(options.out, 'results.json');
    await writeFile(resultsFile, JSON.stringify({ images }, null, 1));
    return {
      images: images.length,
      points,
      matching,
      failedImages: images.filter((image) => !image.ok).length,
      jobs: chunks.length,
      requests: sim.stats.requests,
      throttled: sim.stats.throttled,
      seconds: (Date.now() - started) / 1000,
      resultsFile,
    };
  } finally {
    await client.close();
    await sim.close();
    await served.close();
  }
}
