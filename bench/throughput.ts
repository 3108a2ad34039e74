/**
 * Throughput at CoralNet's limits scaled down 100×: the simulator in another process with 5 job
 * slots, each job worked on at 30 ms an image whatever else runs (a job of 100 images: 3 s, as on
 * a server shared by many users), request windows of 60 per 0.6 s and 1000 per 36 s, and fake
 * 4000×3000 images. Three ways to annotate the same URL list with 30 points an image:
 *   - reefstream's `runSurvey`, told the same limits;
 *   - one job at a time polled every 0.6 s (the existing scripts' 60 s sleep, scaled);
 *   - 5 jobs at once, each polled every 0.75 s (75 s scaled).
 * The server's bound is the lower of what its job slots allow (5 × 100 images / 3 s = 166.7 images/s)
 * and what its request windows allow at 3 requests a job (deploy, one status, result). A job of
 * 3 s is exactly four polls of 0.75 s, which flatters the 5-job script; reefstream and that script
 * run again at 33 ms an image (jobs of 3.3 s, bound 151.5 images/s), as real job times do not
 * line up with a fixed sleep.
 *   node dist/bench/throughput.js [images]
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { JSON_API } from '../src/coralnet/transport.js';
import { deployBody } from '../src/coralnet/deployRequest.js';
import { runSurvey } from '../src/flow/runSurvey.js';
import { areaBounds, parsePointMethod, placePoints, WHOLE_IMAGE } from '../src/images/points.js';
import { parseRate, sleep } from '../src/util/duration.js';
import { seededRandom } from '../src/util/random.js';
import { machine, simulatorProcess, type ServerCounts } from './lib.js';

const images = Number(process.argv[2] ?? 6000);
const jobSlots = 5;
const windows = [parseRate('60/0.6s'), parseRate('1000/36s')];
const simulatorFlags = (imageMs: number): string[] => ['--image-ms', String(imageMs), '--job-workers', '1', '--job-slots', String(jobSlots), '--burst', '60/0.6s', '--sustained', '1000/36s', '--fake-images', '4000x3000'];

const urls = Array.from({ length: images }, (_, i) => `https://survey.example/tow3/IMG_${String(i).padStart(6, '0')}.JPG`);
const method = parsePointMethod('stratified:5x6x1');
const bounds = areaBounds(WHOLE_IMAGE, 4000, 3000);
const chunks = Array.from({ length: Math.ceil(images / 100) }, (_, i) => urls.slice(i * 100, i * 100 + 100).map((url) => ({ url, points: placePoints(method, bounds, seededRandom(url)) })));

const jobSlotBound = (imageMs: number): number => (jobSlots * 100) / ((100 * imageMs) / 1000);
const requestBound = Math.min(...windows.map((w) => (w.limit / (w.periodMs / 1000) / 3) * 100));
const bound = (imageMs: number): number => Math.min(jobSlotBound(imageMs), requestBound);

/** The HTTP a hand-written script does: one request, a 429 waited out and sent again (and counted). */
async function scriptRequest(base: string, token: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; location?: string; text: string }> {
  for (;;) {
    const res = await request(new URL(path, base), {
      method,
      headers: { authorization: `Token ${token}`, ...(body === undefined ? {} : { 'content-type': JSON_API }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.body.text();
    if (res.statusCode === 429) {
      const retryAfter = Number(res.headers['retry-after'] ?? 1);
      await sleep(retryAfter * 1000);
      continue;
    }
    const location = res.headers.location;
    return { status: res.statusCode, location: typeof location === 'string' ? location : undefined, text };
  }
}

/** Deploys one chunk, then polls its status every `pollMs` until the 303, then reads the result. */
async function scriptJob(base: string, token: string, chunk: (typeof chunks)[number], pollMs: number): Promise<number> {
  const deployed = await scriptRequest(base, token, 'POST', 'classifier/1/deploy/', deployBody(chunk));
  if (deployed.status !== 202 || deployed.location === undefined) throw new Error(`deploy: ${deployed.status} ${deployed.text}`);
  for (;;) {
    await sleep(pollMs);
    const status = await scriptRequest(base, token, 'GET', deployed.location);
    if (status.status !== 303) continue;
    const result = await scriptRequest(base, token, 'GET', status.location!);
    if (result.status === 200) return (JSON.parse(result.text) as { data: unknown[] }).data.length;
  }
}

/** The existing scripts: `parallel` jobs at a time, each polled every `pollMs`, the next chunk sent when one finishes. */
async function scripted(base: string, token: string, parallel: number, pollMs: number): Promise<number> {
  let next = 0;
  let done = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < chunks.length) {
        const annotated = await scriptJob(base, token, chunks[next++]!, pollMs);
        done += annotated;
      }
    }),
  );
  return done;
}

async function reefstream(base: string, token: string, dir: string): Promise<number> {
  const list = join(dir, 'urls.txt');
  await writeFile(list, `${urls.join('\n')}\n`);
  const summary = await runSurvey({
    apiUrl: base,
    token,
    username: 'surveyor',
    classifierId: 1,
    source: list,
    points: 'stratified:5x6x1',
    imageSize: { width: 4000, height: 3000 },
    metadata: false,
    windows,
    // A run of its own: the same outputs again would go on from the finished run and annotate nothing.
    out: join(await mkdtemp(join(dir, 'run-')), 'results.csv'),
    progressStream: process.stderr,
  });
  return summary.annotated;
}

const strategies: Array<{ name: string; run: (base: string, token: string, dir: string) => Promise<number> }> = [
  { name: 'reefstream', run: reefstream },
  { name: 'one job at a time, polled every 0.6 s', run: (base, token) => scripted(base, token, 1, 600) },
  { name: '5 jobs at once, each polled every 0.75 s', run: (base, token) => scripted(base, token, 5, 750) },
];

const dir = await mkdtemp(join(tmpdir(), 'reefstream-bench-'));
const results: Array<{ strategy: string; imageMs: number; serverBound: number; images: number; seconds: number; imagesPerSecond: number; fractionOfBound: number; requests: number; throttled429: number; overJobLimit429: number }> = [];
try {
  // 30 ms an image: a job takes 3 s, exactly 4 polls of 0.75 s. 33 ms: 3.3 s, between two polls.
  for (const [imageMs, strategy] of [...strategies.map((s) => [30, s] as const), [33, strategies[0]!] as const, [33, strategies[2]!] as const]) {
    const sim = await simulatorProcess(simulatorFlags(imageMs));
    let counts: ServerCounts | undefined;
    try {
      const started = process.hrtime.bigint();
      const annotated = await strategy.run(sim.url, sim.token, dir);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      counts = await sim.stop();
      if (annotated !== images) throw new Error(`${strategy.name}: ${annotated} of ${images} images annotated`);
      results.push({
        strategy: strategy.name,
        imageMs,
        serverBound: Number(bound(imageMs).toFixed(1)),
        images,
        seconds: Number(seconds.toFixed(2)),
        imagesPerSecond: Number((images / seconds).toFixed(1)),
        fractionOfBound: Number((images / seconds / bound(imageMs)).toFixed(3)),
        requests: counts.requests,
        throttled429: counts.throttled,
        overJobLimit429: counts.overJobLimit,
      });
      process.stderr.write(`${JSON.stringify(results.at(-1))}\n`);
    } finally {
      if (counts === undefined) await sim.stop();
    }
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
process.stdout.write(
  `${JSON.stringify({ date: new Date().toISOString().slice(0, 10), machine: machine(), requestBound: Number(requestBound.toFixed(1)), results }, null, 2)}\n`,
);
