/**
 * The ordinary accidents of field work, through the `reefstream` command with real files, real
 * servers on loopback and real SIGKILLs: every photo of the source ends in the outputs exactly
 * once, or in the errors file with its reason, and the exit code says which.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { paintImage, paintSurvey } from '../src/demo/syntheticSurvey.js';
import { readJournal } from '../src/flow/journal.js';
import { startSimulator, type RunningSimulator } from '../src/simulator/server.js';
import { walkFolder } from '../src/sources/localFolder.js';
import { reefstreamCli, startCli, tempFolder, waitFor } from './helpers.js';

const lifted = ['--burst', '6000/1m', '--sustained', '60000/1h'];

async function simulator(t: { after: (fn: () => Promise<void>) => void }, options: Parameters<typeof startSimulator>[0] = {}): Promise<RunningSimulator> {
  const sim = await startSimulator({ imageMs: 1, workers: 4, burst: { limit: 6000, periodMs: 60_000 }, sustained: { limit: 60_000, periodMs: 3_600_000 }, ...options });
  t.after(() => sim.close());
  return sim;
}

/** The CSV's data lines by image name. */
async function rowsByName(file: string): Promise<Map<string, string[]>> {
  const lines = (await readFile(file, 'utf8')).trim().split('\n').slice(1);
  const byName = new Map<string, string[]>();
  for (const line of lines) {
    const name = line.split(',')[0]!;
    byName.set(name, [...(byName.get(name) ?? []), line]);
  }
  return byName;
}

async function namesIn(folder: string): Promise<string[]> {
  const names: string[] = [];
  for await (const image of walkFolder(folder)) names.push(image.name);
  return names;
}

test('a survey folder that changes between kills (photos added, removed, renamed, modified) ends with every photo once, as an uninterrupted run over the final folder', async (t) => {
  const root = await tempFolder(t);
  const folder = join(root, 'survey');
  for (const site of ['site1', 'site2', 'site3']) await paintSurvey(join(folder, site), 100, { width: 64, height: 64, blockRows: 2, blockColumns: 2, seed: site });
  const sim = await simulator(t, { imageMs: 20, workers: 2 });
  const env = { CORALNET_TOKEN: sim.token };
  const args = (out: string): string[] => ['run', '--api', sim.url, '--user', sim.username, '--classifier', '1', '--source', folder, '--points', 'stratified:2x2x1', '--seed', '4', '--image-size', '64x64',
    '--out', join(root, `${out}.csv`), '--ndjson', join(root, `${out}.ndjson`), ...lifted];
  const csv = join(root, 'crashed.csv');
  // Images the journal's last checkpoint says are written (a line of 34 bytes each in the written-images file).
  const imagesWritten = async (): Promise<number> => ((await readJournal(join(root, 'crashed.journal.ndjson')).catch(() => undefined))?.checkpoint?.written ?? 0) / 34;

  // 1. Killed once the first job's 100 photos (site1) are written and checkpointed.
  let run = startCli(args('crashed'), env);
  await waitFor(async () => (await imagesWritten()) >= 100);
  run.child.kill('SIGKILL');
  await run.exited;
  const firstAddress = (await readJournal(join(root, 'crashed.journal.ndjson')))?.served;
  assert.match(firstAddress ?? '', /^http:\/\/127\.0\.0\.1:\d+\/$/);
  // The team adds a folder that sorts first, removes a written photo, renames one and re-exports one.
  await paintSurvey(join(folder, 'site0'), 5, { width: 64, height: 64, blockRows: 2, blockColumns: 2, seed: 'site0' });
  await rm(join(folder, 'site1', 'IMG_0001.jpg'));
  await rename(join(folder, 'site1', 'IMG_0002.jpg'), join(folder, 'site1', 'IMG_0002b.jpg'));
  await paintImage(join(folder, 'site1', 'IMG_0003.jpg'), { width: 64, height: 64, blockRows: 2, blockColumns: 2, seed: 'painted over' });
  await utimes(join(folder, 'site1', 'IMG_0003.jpg'), new Date(), new Date(Date.now() + 5000));

  // 2. Resumed, and killed again once 200 images are checkpointed.
  run = startCli(args('crashed'), env);
  await waitFor(async () => (await imagesWritten()) >= 200 || existsSync(join(root, 'crashed.run.json')));
  run.child.kill('SIGKILL');
  await run.exited;
  assert.ok(Number(/resuming the run of .*crashed\.journal\.ndjson: (\d+) images already written/.exec(run.stderr())?.[1]) >= 100, run.stderr());
  assert.equal((await readJournal(join(root, 'crashed.journal.ndjson')))?.served, firstAddress, 'the folder is served at the same address, so jobs in flight still download');
  await rm(join(folder, 'site3', 'IMG_0100.jpg'));
  await paintImage(join(folder, 'site2', 'IMG_0101.jpg'), { width: 64, height: 64, blockRows: 2, blockColumns: 2, seed: 'late' });

  // 3. Resumed to the end.
  const last = await reefstreamCli(args('crashed'), env);
  assert.equal(last.status, 0, last.stderr);
  assert.doesNotMatch(last.stderr, /served at a new address/);
  const reference = await reefstreamCli(args('reference'), env);
  assert.equal(reference.status, 0, reference.stderr);

  const finalNames = await namesIn(folder);
  const [crashed, expected] = await Promise.all([rowsByName(csv), rowsByName(join(root, 'reference.csv'))]);
  for (const name of finalNames) assert.deepEqual(crashed.get(name), expected.get(name), `${name}: the rows of an uninterrupted run, once`);
  // Written before they left the folder: they stay, once. Removed before being written: absent.
  const extra = [...crashed.keys()].filter((name) => !finalNames.includes(name)).sort();
  assert.deepEqual(extra, ['site1/IMG_0001.jpg', 'site1/IMG_0002.jpg']);
  for (const name of extra) assert.equal(crashed.get(name)!.length, 4);
  assert.ok(!crashed.has('site3/IMG_0100.jpg'));
  // The modified photo was annotated again: its earlier rows are gone from CSV and NDJSON.
  const ndjsonNames = (await readFile(join(root, 'crashed.ndjson'), 'utf8')).trim().split('\n').map((line) => (JSON.parse(line) as { name: string }).name);
  assert.equal(ndjsonNames.length, new Set(ndjsonNames).size, 'no image twice in the NDJSON');
  assert.equal(ndjsonNames.length, finalNames.length + 2);
  // Rows in name order, each folder's photos before its subfolders', as people expect.
  assert.deepEqual([...expected.keys()], finalNames);
  assert.deepEqual(finalNames.slice(0, 7), ['site0/IMG_0001.jpg', 'site0/IMG_0002.jpg', 'site0/IMG_0003.jpg', 'site0/IMG_0004.jpg', 'site0/IMG_0005.jpg', 'site1/IMG_0002b.jpg', 'site1/IMG_0003.jpg']);
  assert.ok(!existsSync(join(root, 'crashed.journal.ndjson')) && !existsSync(join(root, 'crashed.journal.written')) && !existsSync(join(root, 'crashed.lock')));
  // What changed is said; the summary counts the images in the outputs, the re-annotated one once.
  assert.match(run.stderr(), /1 written before and changed since: annotated again, the earlier lines removed/);
  assert.match(run.stderr(), /2 written before are no longer in the source and stay in the outputs/);
  assert.match(last.stderr, /2 written before are no longer in the source and stay in the outputs/);
  const summary = JSON.parse(await readFile(join(root, 'crashed.run.json'), 'utf8')) as { images: number; annotated: number; points: number; resumes: number; changes: { gone: number; changed: number } };
  assert.deepEqual([summary.resumes, summary.annotated, summary.images, summary.points], [2, ndjsonNames.length, ndjsonNames.length, ndjsonNames.length * 4]);
  assert.deepEqual([summary.changes.gone, summary.changes.changed], [2, 0]);
});
