/**
 * The client's own cost: images/s through listing, probing (dimensions and EXIF from the first bytes
 * of each photo), 30 stratified points, deploy/poll/result, rows, the CSV and the NDJSON, with a
 * simulator that answers at once (no work time, fake images, limits lifted) in another process.
 * Also the same run with `--image-size` (no probing), to show what probing costs. Target: ≥ 500
 * images/s with probing, 50 times what CoralNet lets an account do.
 * Before the measured runs the painted photos are flushed to disk (`sync`) and one unmeasured run
 * warms the simulator, so that neither the disk's writing back nor the simulator's own start-up
 * (compiling its code on the shared cores) is charged to the client.
 *
 * 20,000 photos by default, the size of a small survey: a run of a few seconds carries the
 * process's start (V8 compiling the hot code is about a fifth of a 5,000-photo run's CPU), which a
 * survey of 10,000 or more photos spreads thin. At most 5,000 distinct photos are painted (painting is the slow part);
 * the rest are hard links to them in further transect folders (`t2/`, `t3/`, …), read like any other
 * file. Each run's CPU time, and the simulator's, are given beside the wall time. The two variants
 * take turns for `rounds` rounds (3 by default), and the median of each is given: this host's speed
 * swings by a quarter from one minute to the next. With `other` (another build's `dist/src/cli.js`),
 * that build takes its turn after this one's in each round, for a before-and-after comparison.
 *   node dist/bench/overhead.js [images] [painted] [rounds] [other]
 */
import { spawnSync } from 'node:child_process';
import { link, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { paintSurvey } from '../src/demo/syntheticSurvey.js';
import { cpuSeconds, machine, measuredRun, simulatorProcess } from './lib.js';

const images = Number(process.argv[2] ?? 20_000);
const painted = Math.min(images, Number(process.argv[3] ?? 5_000));
const rounds = Number(process.argv[4] ?? 3);
const other = process.argv[5];
const size = { width: 1600, height: 1200 };
const lifted = ['--burst', '100000000/1m', '--sustained', '100000000/1h'];
const dir = await mkdtemp(join(tmpdir(), 'reefstream-bench-'));
const results = [];
const medians: Array<{ variant: string; images: number; rounds: number; medianImagesPerSecond: number }> = [];
const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : Math.round((sorted[middle - 1]! + sorted[middle]!) / 2);
};
try {
  process.stderr.write(`painting ${painted} photos of ${size.width}×${size.height} with EXIF…\n`);
  const photos = await paintSurvey(join(dir, 'photos', 't1'), painted, { ...size, tow: true });
  for (let n = painted, transect = 2; n < images; transect++) {
    await mkdir(join(dir, 'photos', `t${transect}`));
    for (const photo of photos.slice(0, images - n)) await link(photo.path, join(dir, 'photos', `t${transect}`, photo.name));
    n += Math.min(painted, images - n);
  }
  spawnSync('sync');
  const sim = await simulatorProcess(['--fake-images', `${size.width}x${size.height}`, '--workers', '64', '--job-slots', '10', ...lifted]);
  try {
    const probed = 'probed (dimensions and EXIF read from each photo)';
    const unprobed = '--image-size (nothing read)';
    const variants: Array<[string, string[], string | undefined]> = [['warm-up', [], undefined]];
    const unprobedFlags = ['--image-size', `${size.width}x${size.height}`, '--no-metadata'];
    for (let round = 0; round < rounds; round++) {
      variants.push([probed, [], undefined], [unprobed, unprobedFlags, undefined]);
      if (other !== undefined) variants.push([`${probed}, ${other}`, [], other], [`${unprobed}, ${other}`, unprobedFlags, other]);
    }
    for (const [variant, extra, program] of variants) {
      const out = join(dir, 'results.csv');
      const simCpuBefore = await cpuSeconds(sim.pid);
      const run = await measuredRun(
        ['run', '--api', sim.url, '--user', 'surveyor', '--classifier', '1', '--source', join(dir, 'photos'), '--points', 'stratified:5x6x1', '--out', out, '--ndjson', join(dir, 'results.ndjson'), ...extra, ...lifted],
        { CORALNET_TOKEN: sim.token },
        program,
      );
      if (run.code !== 0) throw new Error(`run failed: ${run.stderr}`);
      const summary = JSON.parse(await readFile(join(dir, 'results.run.json'), 'utf8')) as { annotated: number; seconds: number; points: number };
      if (summary.annotated !== images) throw new Error(`${summary.annotated} of ${images} annotated`);
      // The next run starts a survey anew: its outputs and journal go.
      for (const file of ['results.csv', 'results.ndjson', 'results.errors.ndjson', 'results.journal.ndjson', 'results.journal.written', 'results.run.json']) await rm(join(dir, file), { force: true });
      if (variant === 'warm-up') continue;
      const simulatorCpuSeconds = ((await cpuSeconds(sim.pid)) ?? 0) - (simCpuBefore ?? 0);
      results.push({
        variant,
        images,
        points: summary.points,
        seconds: summary.seconds,
        imagesPerSecond: Math.round(images / summary.seconds),
        peakRssMb: run.peakRssMb,
        clientCpuSeconds: run.cpuSeconds,
        simulatorCpuSeconds: Math.round(simulatorCpuSeconds * 100) / 100,
      });
      process.stderr.write(`${JSON.stringify(results.at(-1))}\n`);
    }
    for (const variant of [...new Set(results.map((r) => r.variant))]) {
      const rates = results.filter((r) => r.variant === variant).map((r) => r.imagesPerSecond);
      medians.push({ variant, images, rounds: rates.length, medianImagesPerSecond: median(rates) });
    }
  } finally {
    await sim.stop();
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
process.stdout.write(`${JSON.stringify({ date: new Date().toISOString().slice(0, 10), machine: machine(), results, medians }, null, 2)}\n`);
