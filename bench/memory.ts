/**
 * Peak RSS at 10,000 and 1,000,000 images (or the sizes given) of `reefstream run` and of the
 * README's pipeline (`bench/readmePipeline.ts`): a URL list, the size given (nothing read on this
 * side), the simulator with `--fake-images` and its limits lifted; the two take turns at each size.
 * Target for each: peak at 1,000,000 within 1.25× of that at 10,000, and under 250 MB.
 *   node dist/bench/memory.js [sizes…]
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { machine, measuredRun, simulatorProcess } from './lib.js';

const pipeline = fileURLToPath(new URL('./readmePipeline.js', import.meta.url));

const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
const counts = sizes.length > 0 ? sizes : [10_000, 1_000_000];
const lifted = ['--burst', '100000000/1m', '--sustained', '100000000/1h'];
const dir = await mkdtemp(join(tmpdir(), 'reefstream-bench-'));
const sim = await simulatorProcess(['--fake-images', '4000x3000', '--workers', '16', ...lifted]);
const results = [];
try {
  for (const count of counts) {
    const list = join(dir, `urls-${count}.txt`);
    const out = createWriteStream(list);
    for (let i = 0; i < count; i++) if (!out.write(`https://survey.example/tow7/IMG_${String(i).padStart(7, '0')}.JPG\n`)) await once(out, 'drain');
    out.end();
    await once(out, 'finish');
    const ways: Array<[string, () => ReturnType<typeof measuredRun>]> = [
      [
        'reefstream run',
        () =>
          measuredRun(
            ['run', '--api', sim.url, '--user', 'surveyor', '--classifier', '1', '--source', list, '--points', 'stratified:5x6x1', '--image-size', '4000x3000', '--out', join(dir, `out-${count}.csv`), '--no-metadata', ...lifted],
            { CORALNET_TOKEN: sim.token },
          ),
      ],
      ['the README pipeline', () => measuredRun([list, join(dir, `pipeline-${count}`)], { CORALNET_API: sim.url, CORALNET_TOKEN: sim.token }, pipeline)],
    ];
    for (const [way, measure] of ways) {
      const run = await measure();
      if (run.code !== 0) throw new Error(`${way} of ${count} images failed: ${run.stderr}`);
      results.push({ way, images: count, seconds: run.seconds, imagesPerSecond: Math.round(count / run.seconds), peakRssMb: run.peakRssMb });
      process.stderr.write(`${JSON.stringify(results.at(-1))}\n`);
      for (const name of await readdir(dir)) if (name.startsWith('out-') || name.startsWith('pipeline-')) await rm(join(dir, name));
    }
  }
} finally {
  await sim.stop();
  await rm(dir, { recursive: true, force: true });
}
process.stdout.write(`${JSON.stringify({ date: new Date().toISOString().slice(0, 10), machine: machine(), results }, null, 2)}\n`);
