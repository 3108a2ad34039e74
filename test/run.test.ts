import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { paintedLabel, paintSurvey, type PaintedImage } from '../src/demo/syntheticSurvey.js';
import { runSurvey } from '../src/flow/runSurvey.js';
import { startSimulator, type RunningSimulator } from '../src/simulator/server.js';
import { serveFolder } from '../src/sources/folderServer.js';
import { reefstreamCli as reefstream, tempFolder } from './helpers.js';

const windows = { burst: { limit: 600, periodMs: 60_000 }, sustained: { limit: 6000, periodMs: 3_600_000 } };

function csvRows(text: string): Array<Record<string, string>> {
  const [header, ...lines] = text.trim().split('\n');
  const names = header!.split(',');
  return lines.map((line) => Object.fromEntries(line.split(',').map((value, i) => [names[i]!, value])));
}

async function simulator(t: { after: (fn: () => Promise<void>) => void }): Promise<RunningSimulator> {
  const sim = await startSimulator({ ...windows, imageMs: 5 });
  t.after(() => sim.close());
  return sim;
}

test('reefstream run: a folder to CSV, NDJSON and errors; every point once, with the painted label', async (t) => {
  const root = await tempFolder(t);
  const folder = join(root, 'survey');
  const painted: PaintedImage[] = await paintSurvey(join(folder, 'site1'), 12, { width: 320, height: 320, blockRows: 2, blockColumns: 2, tow: true });
  await writeFile(join(folder, 'notes.jpg'), 'not a photo');
  await writeFile(join(folder, 'empty.jpg'), '');
  await sharp({ create: { width: 4, height: 4, channels: 3, background: '#FF7F50' } }).png().toFile(join(folder, 'tiny.png'));
  const sim = await simulator(t);
  const out = join(root, 'results.csv');
  const result = await reefstream(
    ['run', '--api', sim.url, '--user', sim.username, '--classifier', '1', '--source', folder, '--points', 'stratified:5x6x1', '--area', '5,95,5,95', '--seed', '3',
      '--out', out, '--ndjson', join(root, 'results.ndjson'), '--burst', '600/60s', '--sustained', '6000/1h'],
    { CORALNET_TOKEN: sim.token },
  );
  assert.equal(result.status, 3, result.stderr);
  assert.match(result.stdout, /^15 images: 12 annotated, 3 failed \(/);
  assert.ok(!result.stdout.includes(sim.token) && !result.stderr.includes(sim.token));

  const rows = csvRows(await readFile(out, 'utf8'));
  assert.equal(rows.length, 12 * 30);
  const byName = new Map(painted.map((p) => [`site1/${p.name}`, p]));
  const keys = new Set<string>();
  for (const row of rows) {
    const image = byName.get(row.Name!);
    assert.ok(image, row.Name);
    assert.equal(row['Label code'], paintedLabel(image, Number(row.Row), Number(row.Column)), JSON.stringify(row));
    assert.equal(row.Annotator, 'robot');
    assert.equal(row.Date, '2024-03-05');
    keys.add(`${row.Name}:${row.Row}:${row.Column}`);
  }
  assert.equal(keys.size, rows.length, 'each point exactly once');
  for (const name of byName.keys()) assert.equal(rows.filter((r) => r.Name === name).length, 30, name);

  const ndjson = (await readFile(join(root, 'results.ndjson'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as { name: string; points: Array<{ row: number; column: number; classifications: unknown[] }>; request: unknown });
  assert.equal(ndjson.length, 12);
  const fromNdjson = new Set(ndjson.flatMap((image) => image.points.map((p) => `${image.name}:${p.row}:${p.column}`)));
  assert.deepEqual([...fromNdjson].sort(), [...keys].sort());
  assert.deepEqual(ndjson[0]!.request, { classifierId: '1', points: 'stratified:5x6x1', area: '5,95,5,95', seed: '3' });
  assert.ok(ndjson.every((image) => image.points.every((p) => p.classifications.length === 5)));

  const errors = (await readFile(join(root, 'results.errors.ndjson'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as { name: string; reason: string; attempts: number });
  const reasons = Object.fromEntries(errors.map((e) => [e.name, e.reason]));
  assert.deepEqual(Object.keys(reasons).sort(), ['empty.jpg', 'notes.jpg', 'tiny.png']);
  assert.match(reasons['empty.jpg']!, /empty\.jpg is an empty file$/);
  assert.match(reasons['notes.jpg']!, /notes\.jpg is not an image that can be read \(JPEG, PNG, TIFF or WebP\): check the file, or convert it to JPEG$/);
  assert.match(reasons['tiny.png']!, /^tiny\.png \(4 x 4\): the annotation area \(4 × 4 pixels\) is smaller than the 6 × 5 cell grid$/);
  assert.ok(errors.every((e) => e.attempts === 0));
});

test('reefstream run: a URL list; a download failure is sent again, then reported with its attempts', async (t) => {
  const root = await tempFolder(t);
  const painted = await paintSurvey(join(root, 'www'), 3, { width: 320, height: 320, blockRows: 2, blockColumns: 2 });
  const served = await serveFolder(join(root, 'www'));
  t.after(() => served.close());
  const list = join(root, 'urls.csv');
  await writeFile(list, `url,name,Aux1\n${painted.map((p) => `${served.urlOf(p.name)},${p.name},tow 7`).join('\n')}\n${served.urlOf('lost.jpg')},lost.jpg,tow 7\n`);
  const sim = await simulator(t);
  const out = join(root, 'results.csv');
  const result = await reefstream(
    ['run', '--api', sim.url, '--classifier', '1', '--source', list, '--points', 'grid:3x3', '--image-size', '320x320', '--max-attempts', '2', '--out', out, '--burst', '600/60s', '--sustained', '6000/1h'],
    { CORALNET_TOKEN: sim.token },
  );
  assert.equal(result.status, 3, result.stderr);
  const rows = csvRows(await readFile(out, 'utf8'));
  assert.equal(rows.length, 27);
  assert.ok(rows.every((r) => r.Aux1 === 'tow 7'));
  const errors = (await readFile(join(root, 'results.errors.ndjson'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as { name: string; reason: string; transient: boolean; attempts: number; jobIds: string[] });
  assert.equal(errors.length, 1);
  assert.equal(errors[0]!.name, 'lost.jpg');
  assert.match(errors[0]!.reason, /^spacer\.exceptions\.URLDownloadError: Failed to download from the URL '.*lost\.jpg'\. \/ Details - HTTPError: HTTP Error 404: Not Found$/);
  assert.equal(errors[0]!.transient, true);
  assert.equal(errors[0]!.attempts, 2);
  assert.equal(errors[0]!.jobIds.length, 2);
  assert.equal(sim.stats.jobsCreated, 2);
});

test('an image with more than 200 points is sent as several entries and joined back in order', async (t) => {
  const root = await tempFolder(t);
  const [image] = await paintSurvey(root, 1, { width: 320, height: 320, blockRows: 2, blockColumns: 2 });
  const sim = await simulator(t);
  const summary = await runSurvey({
    apiUrl: sim.url,
    token: sim.token,
    classifierId: 1,
    source: root,
    points: 'grid:15x15',
    out: join(root, 'out.csv'),
    ndjson: join(root, 'out.ndjson'),
    windows: [windows.burst],
    chunkFlushMs: 10,
  });
  assert.equal(summary.annotated, 1);
  assert.equal(summary.points, 225);
  const line = JSON.parse((await readFile(join(root, 'out.ndjson'), 'utf8')).trim()) as { points: Array<{ row: number; column: number; classifications: Array<{ label_code: string }> }> };
  assert.equal(line.points.length, 225);
  assert.deepEqual(line.points.slice(0, 2).map((p) => [p.row, p.column]), [[10, 10], [10, 31]]);
  assert.ok(line.points.every((p) => p.classifications[0]!.label_code === paintedLabel(image!, p.row, p.column)));
});

test('a local folder for the real CoralNet needs --url-prefix; a wrong token stops with one line', async (t) => {
  const root = await tempFolder(t);
  await paintSurvey(root, 1, { width: 64, height: 64 });
  const remote = await reefstream(['run', '--classifier', '1', '--source', root, '--points', 'random:5', '--out', join(root, 'o.csv')], { CORALNET_TOKEN: 'a'.repeat(40) });
  assert.equal(remote.status, 1);
  assert.match(remote.stderr, /^CoralNet downloads each image by URL, so the images in .* must be published first: .*--url-prefix/);
  assert.equal(remote.stderr.trim().split('\n').length, 1);
  const sim = await simulator(t);
  const wrong = 'b'.repeat(40);
  const denied = await reefstream(['run', '--api', sim.url, '--user', sim.username, '--classifier', '1', '--source', root, '--points', 'random:5', '--out', join(root, 'o.csv')], { CORALNET_TOKEN: wrong });
  assert.equal(denied.status, 1);
  assert.equal(denied.stderr, 'GET /api/user/surveyor/ answered 403: Invalid token. Check the token (--token or CORALNET_TOKEN) or log in again with --user; retrying will not help.\n');
  const bad = await reefstream(['run', '--classifier', 'one', '--source', root, '--points', 'random:5', '--out', 'x.csv']);
  assert.equal(bad.status, 2);
  assert.equal(bad.stderr, 'reefstream run: --classifier "one": is a classifier id, a whole number (see the classifier page on CoralNet)\n');
});

test('reefstream run --aux-from-folders: Aux1 and Aux2 from the site and transect folders', async (t) => {
  const root = await tempFolder(t);
  const folder = join(root, 'survey');
  await paintSurvey(join(folder, 'site1', 'T2'), 2, { width: 64, height: 64, blockRows: 2, blockColumns: 2 });
  await paintSurvey(folder, 1, { width: 64, height: 64, blockRows: 2, blockColumns: 2, seed: 'top' });
  const sim = await simulator(t);
  const out = join(root, 'results.csv');
  const result = await reefstream(['run', '--api', sim.url, '--classifier', '1', '--source', folder, '--points', 'random:2', '--aux-from-folders', '--out', out, '--burst', '600/60s', '--sustained', '6000/1h'], { CORALNET_TOKEN: sim.token });
  assert.equal(result.status, 0, result.stderr);
  const rows = csvRows(await readFile(out, 'utf8'));
  assert.deepEqual([...new Set(rows.map((r) => [r.Name, r.Aux1, r.Aux2, r.Aux3].join('|')))], ['IMG_0001.jpg|||', 'site1/T2/IMG_0001.jpg|site1|T2|', 'site1/T2/IMG_0002.jpg|site1|T2|']);
});
