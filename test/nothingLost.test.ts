/**
 * The ordinary accidents of field work, through the `reefstream` command with real files, real
 * servers on loopback and real SIGKILLs: every photo of the source ends in the outputs exactly
 * once, or in the errors file with its reason, and the exit code says which.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
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
  assert.equal((await readJournal(join(root, 'crashed.journal.ndjson')))?.finished, true);
  assert.ok(!existsSync(join(root, 'crashed.lock')));
  // What changed is said; the summary counts the images in the outputs, the re-annotated one once.
  assert.match(run.stderr(), /1 written before and changed since: annotated again, the earlier lines removed/);
  assert.match(run.stderr(), /2 written before are no longer in the source and stay in the outputs/);
  assert.match(last.stderr, /2 written before are no longer in the source and stay in the outputs/);
  const summary = JSON.parse(await readFile(join(root, 'crashed.run.json'), 'utf8')) as { images: number; annotated: number; points: number; resumes: number; changes: { gone: number; changed: number } };
  assert.deepEqual([summary.resumes, summary.annotated, summary.images, summary.points], [2, ndjsonNames.length, ndjsonNames.length, ndjsonNames.length * 4]);
  assert.deepEqual([summary.changes.gone, summary.changes.changed], [2, 0]);

  // Photos copied in after the run finished: the same command adds them, and rewrites nothing.
  const before = await readFile(csv, 'utf8');
  const jobs = sim.stats.jobsCreated;
  await paintSurvey(join(folder, 'site4'), 2, { width: 64, height: 64, blockRows: 2, blockColumns: 2, seed: 'site4' });
  const again = await reefstreamCli(args('crashed'), env);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stderr, /going on with the finished run of .*: \d+ images written; annotating only what the source holds that the outputs do not/);
  assert.match(again.stderr, /since the finished run: 2 photos not written before/);
  const after = await readFile(csv, 'utf8');
  assert.ok(after.startsWith(before), 'what the finished run wrote is kept as it was');
  assert.deepEqual([...(await rowsByName(csv)).keys()].slice(-2), ['site4/IMG_0001.jpg', 'site4/IMG_0002.jpg']);
  assert.equal(sim.stats.jobsCreated, jobs + 1, again.stdout + again.stderr);
  const grown = JSON.parse(await readFile(join(root, 'crashed.run.json'), 'utf8')) as { annotated: number; resumes: number };
  assert.deepEqual([grown.annotated, grown.resumes], [ndjsonNames.length + 2, 2]);
});

test('a second run on the same outputs is refused with one line naming the holder; a lock whose process was killed is taken over', async (t) => {
  const root = await tempFolder(t);
  const www = join(root, 'www');
  const painted = await paintSurvey(www, 30, { width: 64, height: 64, blockRows: 2, blockColumns: 2 });
  // The first deploy's answer is held back: the first run is alive and busy when the second starts.
  const faults = { deployAnswerDelayMs: 60_000 };
  const sim = await simulator(t, { faults });
  const args = ['run', '--api', sim.url, '--user', sim.username, '--classifier', '1', '--source', www, '--points', 'stratified:2x2x1', '--image-size', '64x64', '--out', join(root, 'results.csv'), '--ndjson', join(root, 'results.ndjson'), ...lifted];
  const first = startCli(args, { CORALNET_TOKEN: sim.token });
  await waitFor(() => sim.stats.jobsCreated > 0);
  const second = await reefstreamCli(args, { CORALNET_TOKEN: sim.token });
  assert.equal(second.status, 1);
  assert.equal(second.stderr.trim().split('\n').length, 1, second.stderr);
  assert.match(second.stderr, new RegExp(`results\\.csv is being written by another run \\(process ${first.child.pid} on [^,]+, since \\d{4}-`));
  assert.match(second.stderr, /If that run is no longer alive, remove .*results\.lock/);
  assert.equal(sim.stats.jobsCreated, 1, 'the second run sent nothing');

  first.child.kill('SIGKILL');
  await first.exited;
  faults.deployAnswerDelayMs = 0;
  const third = await reefstreamCli(args, { CORALNET_TOKEN: sim.token });
  assert.equal(third.status, 0, third.stderr);
  assert.match(third.stderr, /resuming the run/);
  const names = (await readFile(join(root, 'results.ndjson'), 'utf8')).trim().split('\n').map((line) => (JSON.parse(line) as { name: string }).name);
  assert.deepEqual(names, painted.map((p) => p.name));
  assert.ok(!existsSync(join(root, 'results.lock')), 'the lock is given back at the end');
});

test('two outputs of one run at one path are refused before anything is written', async (t) => {
  const root = await tempFolder(t);
  const sim = await simulator(t);
  const base = ['run', '--api', sim.url, '--classifier', '1', '--source', join(root, 'urls.txt'), '--points', 'random:5'];
  await writeFile(join(root, 'urls.txt'), 'https://example.org/a.jpg\n');
  const out = join(root, 'results.csv');
  for (const [extra, words] of [
    [['--ndjson', out], /--out and --ndjson are both .*results\.csv: each output needs a file of its own/],
    [['--errors', join(root, 'r.ndjson'), '--ndjson', join(root, 'r.ndjson')], /--ndjson and --errors are both/],
    [['--ndjson', join(root, 'r.ndjson'), '--cover', out], /--out and --cover are both/],
    [['--ndjson', join(root, 'r.ndjson'), '--coco', join(root, 'r.ndjson')], /--ndjson and --coco are both/],
  ] as const) {
    const result = await reefstreamCli([...base, '--out', out, ...extra], { CORALNET_TOKEN: sim.token });
    assert.equal(result.status, 2, result.stderr);
    assert.match(result.stderr, words);
    assert.ok(!existsSync(out) && !existsSync(join(root, 'r.ndjson')), 'nothing written');
  }
  assert.equal(sim.stats.requests, 0);
});

test('a URL list of two transects with the same file names keeps the folders in the names; a name column that repeats names both lines', async (t) => {
  const root = await tempFolder(t);
  const www = join(root, 'www');
  await paintSurvey(join(www, 'lagoon', 'T1'), 2, { width: 64, height: 64, blockRows: 2, blockColumns: 2, seed: 'T1' });
  await paintSurvey(join(www, 'lagoon', 'T2'), 2, { width: 64, height: 64, blockRows: 2, blockColumns: 2, seed: 'T2' });
  const { serveFolder } = await import('../src/sources/folderServer.js');
  const served = await serveFolder(www);
  t.after(() => served.close());
  const sim = await simulator(t);
  const list = join(root, 'urls.txt');
  await writeFile(list, ['T1/IMG_0001.jpg', 'T1/IMG_0002.jpg', 'T2/IMG_0001.jpg', 'T2/IMG_0002.jpg'].map((name) => served.urlOf(`lagoon/${name}`)).join('\n'));
  const args = (source: string, out: string): string[] => ['run', '--api', sim.url, '--classifier', '1', '--source', source, '--points', 'stratified:2x2x1', '--image-size', '64x64', '--out', join(root, out), '--ndjson', join(root, out.replace('.csv', '.ndjson')), ...lifted];
  const result = await reefstreamCli(args(list, 'results.csv'), { CORALNET_TOKEN: sim.token });
  assert.equal(result.status, 0, result.stderr);
  assert.deepEqual([...(await rowsByName(join(root, 'results.csv'))).keys()], ['T1/IMG_0001.jpg', 'T1/IMG_0002.jpg', 'T2/IMG_0001.jpg', 'T2/IMG_0002.jpg']);

  const named = join(root, 'named.csv');
  await writeFile(named, `url,name\n${served.urlOf('lagoon/T1/IMG_0001.jpg')},GOPR0101.JPG\n${served.urlOf('lagoon/T1/IMG_0002.jpg')},GOPR0102.JPG\n${served.urlOf('lagoon/T2/IMG_0001.jpg')},GOPR0101.JPG\n`);
  const refused = await reefstreamCli(args(named, 'named-results.csv'), { CORALNET_TOKEN: sim.token });
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /named\.csv: lines 2 and 4 both name an image "GOPR0101\.JPG": names must be unique\. Give one of them another name in the name column\./);
  assert.equal(sim.stats.jobsCreated, 1, 'the refused list sent nothing');
  assert.ok(!existsSync(join(root, 'named-results.journal.ndjson')), 'nothing to resume');
});

test('a folder with a HEIC and a raw file, links, a link loop and an unreadable subfolder: each bad item is an errors line, the rest is annotated, exit 3', async (t) => {
  const root = await tempFolder(t);
  const folder = join(root, 'survey');
  const painted = await paintSurvey(join(folder, 'site1'), 3, { width: 64, height: 64, blockRows: 2, blockColumns: 2 });
  await paintSurvey(join(root, 'elsewhere'), 2, { width: 64, height: 64, blockRows: 2, blockColumns: 2, seed: 'elsewhere' });
  await writeFile(join(folder, 'site1', 'IMG_0100.HEIC'), 'heic bytes');
  await writeFile(join(folder, 'site1', 'IMG_0101.CR2'), 'raw bytes');
  const { symlink, chmod } = await import('node:fs/promises');
  await symlink(join(root, 'elsewhere', 'IMG_0001.jpg'), join(folder, 'site1', 'linked.jpg'));
  await symlink(join(root, 'elsewhere'), join(folder, 'site2'));
  await symlink(folder, join(folder, 'site1', 'loop'));
  await symlink(join(root, 'nothing-here.jpg'), join(folder, 'site1', 'dangling.jpg'));
  await mkdir(join(folder, 'locked'));
  await paintSurvey(join(folder, 'locked'), 1, { width: 64, height: 64, blockRows: 2, blockColumns: 2 });
  await chmod(join(folder, 'locked'), 0o000);
  // Root reads any folder: the run is made as nobody where this test runs as root.
  const asRoot = process.getuid?.() === 0;
  const outputs = join(root, 'out');
  await mkdir(outputs);
  await chmod(root, 0o755);
  await chmod(outputs, 0o777);
  const sim = await simulator(t);
  const run = startCli(
    ['run', '--api', sim.url, '--classifier', '1', '--source', folder, '--points', 'stratified:2x2x1', '--out', join(outputs, 'results.csv'), '--ndjson', join(outputs, 'results.ndjson'), ...lifted],
    { CORALNET_TOKEN: sim.token },
    asRoot ? { uid: 65534, gid: 65534 } : {},
  );
  assert.equal(await run.exited, 3, run.stderr());
  assert.match(run.stdout(), /^11 images: 6 annotated, 5 failed/m);
  assert.match(run.stdout(), /5 images not annotated: see .*results\.errors\.ndjson \(exit code 3\)/);
  const annotated = [...(await rowsByName(join(outputs, 'results.csv'))).keys()];
  assert.deepEqual(annotated, [...painted.map((p) => `site1/${p.name}`), 'site1/linked.jpg', 'site2/IMG_0001.jpg', 'site2/IMG_0002.jpg']);
  const errors = (await readFile(join(outputs, 'results.errors.ndjson'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as { name: string; reason: string });
  const reasons = Object.fromEntries(errors.map((e) => [e.name, e.reason]));
  assert.deepEqual(Object.keys(reasons).sort(), ['locked/', 'site1/IMG_0100.HEIC', 'site1/IMG_0101.CR2', 'site1/dangling.jpg', 'site1/loop/'].sort());
  assert.match(reasons['site1/IMG_0100.HEIC']!, /is a HEIC file, which CoralNet cannot read: convert it to JPEG/);
  assert.match(reasons['site1/IMG_0101.CR2']!, /is a CR2 file, which CoralNet cannot read: convert it to JPEG/);
  assert.match(reasons['site1/dangling.jpg']!, /is a link to nothing \(ENOENT\)/);
  assert.match(reasons['site1/loop/']!, /leads to a folder already listed \(the survey folder itself\)/);
  assert.match(reasons['locked/']!, /The folder .*locked could not be read \(EACCES\): its photos are not in this run\. Make it readable and run the same command again\./);
});

test('exit codes: 4 when the source holds no image, 3 when every image failed, each said in the summary', async (t) => {
  const root = await tempFolder(t);
  const sim = await simulator(t);
  const empty = join(root, 'empty');
  await mkdir(join(empty, 'site1'), { recursive: true });
  await writeFile(join(empty, 'site1', 'notes.txt'), 'tide 1.2 m');
  const base = ['run', '--api', sim.url, '--classifier', '1', '--points', 'stratified:2x2x1', ...lifted];
  const none = await reefstreamCli([...base, '--source', empty, '--out', join(root, 'none.csv')], { CORALNET_TOKEN: sim.token });
  assert.equal(none.status, 4, none.stderr);
  assert.match(none.stdout, /^0 images: 0 annotated, 0 failed/);
  assert.match(none.stdout, /no image found in the source \(exit code 4\)/);

  // The photos are 64 x 64; a wrong --image-size puts every point outside them.
  const folder = join(root, 'survey');
  await paintSurvey(folder, 3, { width: 64, height: 64, blockRows: 2, blockColumns: 2 });
  const wrong = await reefstreamCli([...base, '--source', folder, '--image-size', '4000x3000', '--out', join(root, 'wrong.csv')], { CORALNET_TOKEN: sim.token });
  assert.equal(wrong.status, 3, wrong.stderr);
  assert.match(wrong.stdout, /^3 images: 0 annotated, 3 failed/);
  assert.match(wrong.stdout, /every image failed: see .*wrong\.errors\.ndjson \(exit code 3\)/);

  const right = await reefstreamCli([...base, '--source', folder, '--out', join(root, 'right.csv')], { CORALNET_TOKEN: sim.token });
  assert.equal(right.status, 0, right.stderr);
  assert.match(right.stdout, /every image annotated/);
});

test('a full disk ends the run with one line naming the file and the cause; with more room the same command finishes with nothing lost', async (t) => {
  const root = await tempFolder(t);
  const disk = await mkdtemp(join(tmpdir(), 'reefstream-small-disk-'));
  const { execFileSync } = await import('node:child_process');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', disk], { stdio: 'ignore' });
  } catch {
    await rm(disk, { recursive: true });
    t.skip('a small file system cannot be mounted here (mount needs root)');
    return;
  }
  t.after(async () => {
    execFileSync('umount', [disk]);
    await rm(disk, { recursive: true });
  });
  const folder = join(root, 'survey');
  await paintSurvey(folder, 150, { width: 64, height: 64, blockRows: 2, blockColumns: 2 });
  const sim = await simulator(t);
  const args = (out: string): string[] => ['run', '--api', sim.url, '--classifier', '1', '--source', folder, '--points', 'stratified:3x3x1', '--image-size', '64x64', '--out', join(out, 'results.csv'), '--ndjson', join(out, 'results.ndjson'), ...lifted];
  const full = await reefstreamCli(args(disk), { CORALNET_TOKEN: sim.token });
  assert.equal(full.status, 1, full.stdout);
  assert.equal(full.stderr.trim().split('\n').length, 1, full.stderr);
  assert.match(full.stderr, /^Cannot write .*reefstream-small-disk-\w+\/results\.\w+(\.\w+)?: the disk is full \(ENOSPC\)\. What was written before it is kept: make room \(or fix the file\) and run the same command again to go on\.$/m);
  assert.ok(existsSync(join(disk, 'results.journal.ndjson')), 'the journal is kept for the resume');

  execFileSync('mount', ['-o', 'remount,size=4m', disk]);
  const resumed = await reefstreamCli(args(disk), { CORALNET_TOKEN: sim.token });
  assert.equal(resumed.status, 0, resumed.stderr);
  const reference = join(root, 'reference');
  await mkdir(reference);
  assert.equal((await reefstreamCli(args(reference), { CORALNET_TOKEN: sim.token })).status, 0);
  assert.equal(await readFile(join(disk, 'results.csv'), 'utf8'), await readFile(join(reference, 'results.csv'), 'utf8'));
  // The same images and points (the URLs and job ids are each run's own).
  const points = async (folder: string): Promise<string[]> =>
    (await readFile(join(folder, 'results.ndjson'), 'utf8')).trim().split('\n').map((line) => {
      const { name, points: classified } = JSON.parse(line) as { name: string; points: unknown };
      return JSON.stringify({ name, classified });
    });
  const [resumedPoints, referencePoints] = await Promise.all([points(disk), points(reference)]);
  assert.equal(resumedPoints.length, 150);
  assert.ok(resumedPoints.every((line, i) => line === referencePoints[i]), 'every image once, with the reference run\'s points');
});

test('what the server did is counted: 429s and server errors in the log as they happen, in the summary and in results.run.json', async (t) => {
  const root = await tempFolder(t);
  const folder = join(root, 'survey');
  await paintSurvey(folder, 250, { width: 64, height: 64, blockRows: 2, blockColumns: 2 });
  // The server allows 6 requests in 2 s and answers 15 % of them with a 5xx; the client is told of 600 a minute.
  const sim = await simulator(t, { burst: { limit: 6, periodMs: 2000 }, faults: { seed: 3, serverErrors: 0.15 } });
  const out = join(root, 'results.csv');
  const run = await reefstreamCli(['run', '--api', sim.url, '--user', sim.username, '--classifier', '1', '--source', folder, '--points', 'stratified:2x2x1', '--image-size', '64x64', '--out', out, ...lifted], { CORALNET_TOKEN: sim.token });
  assert.equal(run.status, 0, run.stderr);
  assert.ok(sim.stats.throttled > 0 && sim.stats.injectedServerErrors > 0, JSON.stringify(sim.stats));
  const summary = JSON.parse(await readFile(join(root, 'results.run.json'), 'utf8')) as { server: { throttled: number; retries: number; serverErrors: number; waitSeconds: number } };
  assert.equal(summary.server.throttled, sim.stats.throttled);
  assert.equal((run.stderr.match(/^throttled by CoralNet \(429 on .*\): waiting \d+ s$/gm) ?? []).length, sim.stats.throttled);
  assert.ok(summary.server.serverErrors >= 1 && summary.server.serverErrors <= sim.stats.injectedServerErrors, JSON.stringify(summary.server));
  assert.equal((run.stderr.match(/^server error 5\d\d on .*: trying again in \d+ s/gm) ?? []).length, summary.server.serverErrors);
  assert.ok(summary.server.retries >= summary.server.serverErrors && summary.server.waitSeconds > 0);
  assert.match(run.stdout, new RegExp(`^server: ${sim.stats.throttled} throttled \\(429\\), ${summary.server.retries} requests tried again \\(${summary.server.serverErrors} server errors\\), \\d+\\.\\d s waiting$`, 'm'));
});

test('an output removed while the run writes it ends the run with one line naming it, never rows written into a deleted file', async (t) => {
  const root = await tempFolder(t);
  const folder = join(root, 'survey');
  await paintSurvey(folder, 300, { width: 64, height: 64, blockRows: 2, blockColumns: 2 });
  const sim = await simulator(t, { imageMs: 10, workers: 2 });
  const ndjson = join(root, 'results.ndjson');
  const run = startCli(['run', '--api', sim.url, '--classifier', '1', '--source', folder, '--points', 'stratified:2x2x1', '--image-size', '64x64', '--out', join(root, 'results.csv'), '--ndjson', ndjson, ...lifted], { CORALNET_TOKEN: sim.token });
  await waitFor(async () => (await readFile(ndjson, 'utf8').catch(() => '')).length > 0);
  await rm(ndjson);
  assert.equal(await run.exited, 1, run.stderr());
  assert.equal(run.stderr().trim(), `Cannot write ${ndjson}: the file was removed or replaced while the run wrote it. What was written before it is kept: make room (or fix the file) and run the same command again to go on.`);
});

test('Ctrl-C says how to go on, exits 130, and the same command goes on from there', async (t) => {
  const root = await tempFolder(t);
  const folder = join(root, 'survey');
  await paintSurvey(folder, 200, { width: 64, height: 64, blockRows: 2, blockColumns: 2 });
  const sim = await simulator(t, { imageMs: 10, workers: 2 });
  const args = ['run', '--api', sim.url, '--classifier', '1', '--source', folder, '--points', 'stratified:2x2x1', '--image-size', '64x64', '--out', join(root, 'results.csv'), ...lifted];
  const run = startCli(args, { CORALNET_TOKEN: sim.token });
  await waitFor(() => sim.stats.jobsCreated > 0);
  run.child.kill('SIGINT');
  assert.equal(await run.exited, 130);
  assert.equal(run.stderr().trim(), 'reefstream run: stopped. What was written is kept: run the same command again to go on from there.');
  // Stopped before any row was written, the time it ran is kept for the summary.
  const checkpoint = (await readJournal(join(root, 'results.journal.ndjson')))?.checkpoint;
  assert.ok((checkpoint?.tally?.seconds ?? 0) > 0, JSON.stringify(checkpoint));
  const again = await reefstreamCli(args, { CORALNET_TOKEN: sim.token });
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stderr, /^resuming the run of /);
  assert.equal((await rowsByName(join(root, 'results.csv'))).size, 200);
});
