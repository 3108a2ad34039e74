/**
 * Human review that is never undone: pushes into the COCO Annotator double (which behaves as the
 * backend does — imports match deleted annotations, uploads are re-encoded and named by their base
 * name, category names are unique per creator) after people reviewed, from surveys with folders.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { request } from 'undici';
import { paintSurvey } from '../src/demo/syntheticSurvey.js';
import { pushForReview } from '../src/review/push.js';
import { appendPushRecord, pushRecordPath, readPushRecord, type PushedImage } from '../src/review/pushRecord.js';
import { reviewFileName, surveyName } from '../src/review/reviewNames.js';
import { isFailed } from '../src/operators/failures.js';
import { startSimulator } from '../src/simulator/server.js';
import { cocoAnnotatorImages } from '../src/sources/cocoAnnotator.js';
import { startCocoAnnotatorDouble, type CocoAnnotatorDouble } from './peers/cocoAnnotator.js';
import { reefstreamCli, tempFolder } from './helpers.js';

type T = { after: (fn: () => Promise<void>) => void };

interface Line {
  name: string;
  dateTimeOriginal?: string;
  latitude?: number;
  longitude?: number;
  points: Array<{ row: number; column: number; classifications: Array<{ label_code: string; score?: number }> }>;
}

const readLines = async (file: string): Promise<Line[]> =>
  (await readFile(file, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Line);

async function simulator(t: T) {
  const sim = await startSimulator({ burst: { limit: 600, periodMs: 60_000 }, sustained: { limit: 6000, periodMs: 3_600_000 } });
  t.after(() => sim.close());
  return sim;
}

async function annotatorDouble(t: T, options: Parameters<typeof startCocoAnnotatorDouble>[0] = {}): Promise<CocoAnnotatorDouble> {
  const double = await startCocoAnnotatorDouble(options);
  t.after(() => double.close());
  return double;
}

/** `reefstream run` of a folder through the simulator, 2 × 2 stratified points an image. */
async function runCli(sim: Awaited<ReturnType<typeof simulator>>, source: string, work: string, extra: string[] = [], env: Record<string, string> = {}) {
  const out = join(work, 'results.csv');
  const ndjson = join(work, 'results.ndjson');
  const run = await reefstreamCli(
    ['run', '--api', sim.url, '--user', sim.username, '--classifier', '1', '--source', source, '--points', 'stratified:2x2x1', '--out', out, '--ndjson', ndjson, '--burst', '600/60s', '--sustained', '6000/1h', ...extra],
    { CORALNET_TOKEN: sim.token, ...env },
  );
  return { run, out, ndjson };
}

/** A painted survey of `count` photos run through the simulator: its NDJSON. */
async function ranSurvey(t: T, count: number): Promise<string> {
  const sim = await simulator(t);
  const survey = await tempFolder(t);
  await paintSurvey(survey, count, { width: 160, height: 120, blockRows: 2, blockColumns: 2 });
  const { run, ndjson } = await runCli(sim, survey, await tempFolder(t));
  assert.equal(run.status, 0, run.stderr);
  return ndjson;
}

const loginEnv = (double: CocoAnnotatorDouble) => ({ COCO_ANNOTATOR_USER: double.username, COCO_ANNOTATOR_PASSWORD: double.password });

/** The dataset as people see it: each live point as `file x,y label`. */
function livePoints(double: CocoAnnotatorDouble): string[] {
  return double.annotations
    .filter((a) => !a.deleted)
    .map((a) => `${double.images.find((i) => i.id === a.imageId)!.fileName} ${a.keypoints.slice(0, 2).join(',')} ${double.categories.find((c) => c.id === a.categoryId)!.name}`)
    .sort();
}

/** A reviewer's edits through the API, as the web UI sends them. */
async function asReviewer(double: CocoAnnotatorDouble, method: 'PUT' | 'DELETE', annotationId: number, body?: unknown): Promise<void> {
  const auth = `Basic ${Buffer.from(`${double.username}:${double.password}`).toString('base64')}`;
  const res = await request(new URL(`api/annotation/${annotationId}`, double.url), {
    method,
    headers: { authorization: auth, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.equal(res.statusCode, 200, await res.body.text());
  await res.body.dump();
}

test('review names: folders flattened with __, reversibly; plain names unchanged', () => {
  const cases: Array<[string, string]> = [
    ['IMG_0001.JPG', 'IMG_0001.JPG'],
    ['site1/IMG_1.JPG', 'site1__IMG_1.JPG'],
    ['T1/2024/GOPR0101.JPG', 'T1__2024__GOPR0101.JPG'],
    ['a__b.jpg', 'a%5F%5Fb.jpg'],
    ['_x/y_/z_1.jpg', '%5Fx__y%5F__z_1.jpg'],
    ['100%/"q".jpg', '100%25__%22q%22.jpg'],
  ];
  for (const [name, flat] of cases) {
    assert.equal(reviewFileName(name), flat, name);
    assert.equal(surveyName(flat), name, flat);
  }
  // Two folders' IMG_1.JPG stay two, and a name cannot take another's place.
  assert.notEqual(reviewFileName('site1/IMG_1.JPG'), reviewFileName('site2/IMG_1.JPG'));
  assert.notEqual(reviewFileName('a__b/c.jpg'), reviewFileName('a/b__c.jpg'));
});

test('a push after review never undoes it: relabelled points stay relabelled, a deleted point stays deleted, nothing is imported twice', async (t) => {
  const ndjson = await ranSurvey(t, 6);
  const double = await annotatorDouble(t);
  const push = (results = ndjson) => pushForReview({ url: double.url, username: double.username, password: double.password, dataset: 'Lagoon review', results, pollMs: 5 });
  const first = await push();
  assert.deepEqual([first.images, first.uploaded, first.annotations, first.pushedBefore, first.lost.points], [6, 6, 24, 0, 0]);
  assert.equal(double.annotations.length, 24);

  // A reviewer relabels two points and deletes one.
  const [a, b, c] = double.annotations;
  const other = (id: number) => double.categories.find((cat) => cat.id !== id && double.datasets[0]!.categories.includes(cat.id))!.id;
  await asReviewer(double, 'PUT', a!.id, { category_id: other(a!.categoryId) });
  await asReviewer(double, 'PUT', b!.id, { category_id: other(b!.categoryId) });
  await asReviewer(double, 'DELETE', c!.id);
  const reviewed = livePoints(double);
  assert.equal(reviewed.length, 23);

  // The same run pushed again: the review stands, nothing new is made.
  const second = await push();
  assert.deepEqual([second.images, second.uploaded, second.annotations, second.pushedBefore, second.lost.points], [6, 0, 0, 6, 0]);
  assert.deepEqual(livePoints(double), reviewed);
  assert.equal(double.annotations.length, 24);
  assert.equal(double.annotations.find((x) => x.id === c!.id)!.deleted, true);
  assert.equal(double.tasks.length, 1, 'nothing to import: no import task');
});

test('review push: an import that drops points is a loss: exit 3, how many points and why; the next push sends them', async (t) => {
  const ndjson = await ranSurvey(t, 3);
  let vanish: string | undefined = 'IMG_0002.jpg';
  const double = await annotatorDouble(t, {
    beforeImport: () => {
      // Meanwhile, someone fully deletes an image the push uploaded.
      const index = double.images.findIndex((i) => i.fileName === vanish);
      if (index >= 0) double.images.splice(index, 1);
      vanish = undefined;
    },
  });
  const args = ['review', 'push', '--coco-annotator', double.url, '--dataset', 'Lagoon', '--results', ndjson];
  const lossy = await reefstreamCli(args, loginEnv(double));
  assert.equal(lossy.status, 3, lossy.stdout + lossy.stderr);
  assert.match(lossy.stdout, /^review: dataset Lagoon \(id 1, made now\): 3 images; 3 uploaded, 0 there already; 12 points imported \(task 1\)/);
  assert.match(lossy.stdout, /\n {2}4 points of 1 image did not arrive:\n {4}IMG_0002\.jpg: Could not find image IMG_0002\.jpg\n/);
  assert.match(lossy.stderr, /4 points did not arrive: push again to send them/);
  assert.equal(livePoints(double).length, 8);

  // The record holds only what arrived: the next push uploads and imports the lost image alone.
  const again = await reefstreamCli(args, loginEnv(double));
  assert.equal(again.status, 0, again.stdout + again.stderr);
  assert.match(again.stdout, /^review: dataset Lagoon \(id 1\): 3 images; 1 uploaded, 2 there already; 4 points imported \(task 2\); 2 images pushed before, left as reviewed/);
  assert.equal(livePoints(double).length, 12);
  assert.equal(double.annotations.length, 12);
});

test('review push: categories found among those the user sees, whatever their case and whoever made them; another user\'s name is no clash', async (t) => {
  const ndjson = await ranSurvey(t, 4);
  const labels = [...new Set((await readLines(ndjson)).flatMap((l) => l.points.map((p) => p.classifications[0]!.label_code)))].sort();
  assert.ok(labels.length >= 2, labels.join());
  const double = await annotatorDouble(t, { users: [{ username: 'maria', password: 'm' }] });
  // A colleague's category of the first label, in lower case, in a dataset shared with the reviewer.
  double.categories.push({ id: 40, name: labels[0]!.toLowerCase(), keypoints: ['point'], creator: 'maria' });
  double.datasets.push({ id: 1, name: 'Maria shared', categories: [40], owner: 'maria', users: [double.username] });
  // Maria's own category of the second label, which the reviewer cannot see.
  double.categories.push({ id: 41, name: labels[1]!, keypoints: ['point'], creator: 'maria' });
  const pushed = await pushForReview({ url: double.url, username: double.username, password: double.password, dataset: 'Lagoon', results: ndjson, pollMs: 5 });
  assert.equal(pushed.lost.points, 0);
  assert.equal(pushed.categoriesCreated, labels.length - 1, 'the visible one is used, the unseen one is no clash');
  assert.ok(!double.categories.some((c) => c.name === labels[0] && c.id !== 40), 'no second category of the first label');
  const exported = await request(new URL(`api/dataset/2/coco`, double.url), { headers: { authorization: `Basic ${Buffer.from(`${double.username}:${double.password}`).toString('base64')}` } });
  const coco = (await exported.body.json()) as { annotations: Array<{ category_id: number }>; categories: Array<{ id: number }> };
  const attached = new Set(coco.categories.map((c) => c.id));
  assert.equal(coco.annotations.length, 16);
  assert.ok(coco.annotations.every((a) => attached.has(a.category_id)), 'every point under a category of the dataset');
});

test('review push: a category this user deleted (in the undo tab) stops the push before anything is sent, saying what to do', async (t) => {
  const ndjson = await ranSurvey(t, 2);
  const label = (await readLines(ndjson))[0]!.points[0]!.classifications[0]!.label_code;
  const double = await annotatorDouble(t);
  double.categories.push({ id: 7, name: label, keypoints: ['point'], creator: double.username, deleted: true });
  const push = await reefstreamCli(['review', 'push', '--coco-annotator', double.url, '--dataset', 'Lagoon', '--results', ndjson], loginEnv(double));
  assert.equal(push.status, 1);
  assert.equal(push.stderr, `COCO Annotator has your category ${label} in its undo tab (deleted): restore it there, or delete it fully, then push again.\n`);
  assert.equal(double.images.length, 0);
  assert.equal(double.tasks.length, 0);
});

test('the review loop end to end: a survey with folders is run, pushed, reviewed, grown, run and pushed again; compare shows exactly the review; EXIF recovered', async (t) => {
  const sim = await simulator(t);
  const survey = await tempFolder(t);
  await paintSurvey(join(survey, 'site1'), 2, { width: 160, height: 120, blockRows: 2, blockColumns: 2, tow: true, seed: 'one' });
  await paintSurvey(join(survey, 'site2'), 2, { width: 160, height: 120, blockRows: 2, blockColumns: 2, tow: true, seed: 'two' });
  const work = await tempFolder(t);
  const first = await runCli(sim, survey, work);
  assert.equal(first.run.status, 0, first.run.stderr);
  const double = await annotatorDouble(t);
  const env = loginEnv(double);
  const pushArgs = ['review', 'push', '--coco-annotator', double.url, '--dataset', 'Lagoon review', '--results', first.ndjson];
  const push1 = await reefstreamCli(pushArgs, env);
  assert.equal(push1.status, 0, push1.stdout + push1.stderr);
  // Flat, unique names: two folders' IMG_0001.jpg stay two images.
  assert.deepEqual(double.images.map((i) => i.fileName).sort(), ['site1__IMG_0001.jpg', 'site1__IMG_0002.jpg', 'site2__IMG_0001.jpg', 'site2__IMG_0002.jpg']);
  assert.equal(double.annotations.length, 16);

  // A reviewer relabels two points and deletes one.
  const inDataset = double.datasets[0]!.categories;
  const [a, b, c] = double.annotations;
  const relabel = (id: number) => inDataset.find((x) => x !== id)!;
  await asReviewer(double, 'PUT', a!.id, { category_id: relabel(a!.categoryId) });
  await asReviewer(double, 'PUT', b!.id, { category_id: relabel(b!.categoryId) });
  await asReviewer(double, 'DELETE', c!.id);

  // The survey grows; the same command annotates what is new, and the longer run is pushed.
  await paintSurvey(join(survey, 'site3'), 1, { width: 160, height: 120, blockRows: 2, blockColumns: 2, tow: true, seed: 'three' });
  const second = await runCli(sim, survey, work);
  assert.equal(second.run.status, 0, second.run.stderr);
  assert.equal((await readLines(second.ndjson)).length, 5);
  const push2 = await reefstreamCli(pushArgs, env);
  assert.equal(push2.status, 0, push2.stdout + push2.stderr);
  assert.match(push2.stdout, /^review: dataset Lagoon review \(id 1\): 5 images; 1 uploaded, 4 there already; 4 points imported \(task 2\); 4 images pushed before, left as reviewed/);

  // Each point once; the review stands.
  const live = double.annotations.filter((x) => !x.deleted);
  assert.equal(live.length, 19);
  assert.equal(new Set(live.map((x) => `${x.imageId} ${x.keypoints.join()}`)).size, 19);
  assert.equal(double.annotations.length, 20);
  assert.equal(double.annotations.find((x) => x.id === c!.id)!.deleted, true);

  // Compare: the reviewer's changes, exactly, under the survey's names.
  const agreement = join(work, 'agreement');
  const compare = await reefstreamCli(['review', 'compare', '--coco-annotator', double.url, '--dataset', 'Lagoon review', '--results', second.ndjson, '--out', agreement], env);
  assert.equal(compare.status, 0, compare.stderr);
  assert.match(compare.stdout, /^agreement: 5 reviewed images, 19 points matched \(0 only human, 1 only machine\); top-1 89\.5 %/);
  const cover = (await readFile(`${agreement}.cover.csv`, 'utf8')).trim().split('\n').map((l) => l.split(',')[0]);
  assert.deepEqual(cover.slice(1), ['site1/IMG_0001.jpg', 'site1/IMG_0002.jpg', 'site2/IMG_0001.jpg', 'site2/IMG_0002.jpg', 'site3/IMG_0001.jpg', 'All reviewed images']);

  // The dataset as a source: names mapped back; the upload lost its EXIF, the pushed run has it.
  const again = join(await tempFolder(t), 'again.csv');
  const fromDataset = (extra: string[]) =>
    reefstreamCli(['run', '--api', sim.url, '--user', sim.username, '--classifier', '1', '--source', 'coco-annotator:Lagoon review', '--coco-annotator', double.url, '--points', 'stratified:2x2x1', '--out', again, '--ndjson', again.replace('.csv', '.ndjson'), '--burst', '600/60s', '--sustained', '6000/1h', ...extra], { CORALNET_TOKEN: sim.token, ...env });
  const plain = await fromDataset([]);
  assert.equal(plain.status, 0, plain.stderr);
  assert.match(plain.stderr, /COCO Annotator re-encodes uploaded images: their EXIF date and GPS are gone; give --pushed-run with the NDJSON of the run that was pushed to recover them\./);
  const plainLines = await readLines(again.replace('.csv', '.ndjson'));
  assert.deepEqual(plainLines.map((l) => l.name), ['site1/IMG_0001.jpg', 'site1/IMG_0002.jpg', 'site2/IMG_0001.jpg', 'site2/IMG_0002.jpg', 'site3/IMG_0001.jpg']);
  assert.ok(plainLines.every((l) => l.dateTimeOriginal === undefined && l.latitude === undefined));

  const again2 = join(await tempFolder(t), 'again.csv');
  const recovered = await reefstreamCli(['run', '--api', sim.url, '--user', sim.username, '--classifier', '1', '--source', 'coco-annotator:Lagoon review', '--coco-annotator', double.url, '--pushed-run', second.ndjson, '--points', 'stratified:2x2x1', '--out', again2, '--ndjson', again2.replace('.csv', '.ndjson'), '--burst', '600/60s', '--sustained', '6000/1h'], { CORALNET_TOKEN: sim.token, ...env });
  assert.equal(recovered.status, 0, recovered.stderr);
  assert.match(recovered.stderr, /date and GPS of 5 images recovered from /);
  const original = new Map((await readLines(second.ndjson)).map((l) => [l.name, l]));
  for (const line of await readLines(again2.replace('.csv', '.ndjson'))) {
    const was = original.get(line.name)!;
    assert.ok(was.dateTimeOriginal !== undefined);
    assert.deepEqual([line.dateTimeOriginal, line.latitude, line.longitude], [was.dateTimeOriginal, was.latitude, was.longitude], line.name);
  }
});

test('push record: lines of other servers and datasets apart; a line cut by a crash is passed over and ended before the next append', async (t) => {
  const folder = await tempFolder(t);
  const path = join(folder, 'results.pushed.ndjson');
  assert.equal(pushRecordPath(join(folder, 'results.ndjson')), path);
  assert.deepEqual(await readPushRecord(path, 'https://a.example', 1), new Map(), 'no record yet');
  const line = (name: string, dataset: number, points: Array<[number, number]>, server = 'https://a.example'): PushedImage => ({ server, dataset, name, file: reviewFileName(name), points, task: 1, at: '2026-12-01T09:00:00.000Z' });
  await appendPushRecord(path, [line('site1/IMG_1.JPG', 1, [[10, 20], [30, 40]]), line('site1/IMG_1.JPG', 2, [[1, 1]]), line('site1/IMG_2.JPG', 1, [[5, 5]], 'https://b.example')]);
  await writeFile(path, `${await readFile(path, 'utf8')}{"server":"https://a.example","dataset":1,"name":"site2/IMG_9.JPG","fi`); // a crash mid-line
  await appendPushRecord(path, [line('site1/IMG_1.JPG', 1, [[50, 60]])]);
  const text = await readFile(path, 'utf8');
  assert.equal(text.split('\n').length, 6, 'the cut line ended on its own line');
  assert.deepEqual(await readPushRecord(path, 'https://a.example', 1), new Map([['site1/IMG_1.JPG', new Set(['10,20', '30,40', '50,60'])]]));
  assert.deepEqual(await readPushRecord(path, 'https://a.example', 2), new Map([['site1/IMG_1.JPG', new Set(['1,1'])]]));
});

test('coco annotator as a source: flat names read as folders; two images of one name in different server folders: the second is an errors line', async (t) => {
  const double = await annotatorDouble(t);
  const folder = await tempFolder(t);
  const [photo] = await paintSurvey(folder, 1, { width: 64, height: 48 });
  const bytes = await readFile(photo!.path);
  double.datasets.push({ id: 1, name: 'Scanned', categories: [] });
  await double.addImage(1, 'site1__IMG_0001.jpg', bytes);
  await double.addImage(1, 'a/IMG_7.jpg', bytes);
  await double.addImage(1, 'b/IMG_7.jpg', bytes);
  const into = join(folder, 'into');
  const refs = [];
  for await (const ref of cocoAnnotatorImages({ url: double.url, username: double.username, password: double.password, dataset: 'Scanned', into })) refs.push(ref);
  assert.deepEqual(
    refs.map((r) => (isFailed(r) ? `failed ${r.name}: ${r.reason}` : `${r.name} ${r.path}`)),
    [
      `IMG_7.jpg ${join(into, 'IMG_7.jpg')}`,
      'failed IMG_7.jpg: Dataset Scanned has two images named IMG_7.jpg (ids 2 and 3), in different folders of the server: only the first is annotated; rename the other in COCO Annotator.',
      `site1/IMG_0001.jpg ${join(into, 'site1', 'IMG_0001.jpg')}`,
    ],
  );
});

test('a push record that cannot be written, or a --pushed-run that is not there, is one line before anything is sent', async (t) => {
  const ndjson = await ranSurvey(t, 1);
  const double = await annotatorDouble(t);
  const push = await reefstreamCli(['review', 'push', '--coco-annotator', double.url, '--dataset', 'Lagoon', '--results', ndjson, '--record', join(ndjson, '..', 'no-such-folder', 'pushed.ndjson')], loginEnv(double));
  assert.equal(push.status, 1);
  assert.match(push.stderr, /^The push record .*no-such-folder\/pushed\.ndjson cannot be written \(ENOENT\): give a --record path in a folder you can write to\.\n$/);
  assert.deepEqual([double.images.length, double.tasks.length, double.datasets.length], [0, 0, 0]);
  const gone = join(ndjson, '..', 'gone.ndjson');
  const listing = cocoAnnotatorImages({ url: double.url, username: double.username, password: double.password, dataset: 'Lagoon', into: await tempFolder(t), pushedRun: gone });
  await assert.rejects(listing.next(), { message: `--pushed-run ${gone} cannot be read (ENOENT): give the --ndjson of the run that was pushed into the dataset.` });
});

test('review push --below: the uncertain images (their uncertain points only) and a seeded sample of the others; recorded with why; a higher threshold adds the rest without undoing the review', async (t) => {
  const ran = await ranSurvey(t, 6);
  // Scores set by hand: image 0 has one point under 0.8, image 1 one under 0.9, the rest none.
  const lines = (await readFile(ran, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Line);
  const scores = [[0.5, 0.9, 0.9, 0.9], [0.85, 0.95, 0.95, 0.95], ...Array.from({ length: 4 }, () => [0.95, 0.95, 0.95, 0.95])];
  lines.forEach((line, i) => line.points.forEach((p, k) => (p.classifications[0]!.score = scores[i]![k]!)));
  const ndjson = join(await tempFolder(t), 'results.ndjson');
  await writeFile(ndjson, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  const names = lines.map((l) => l.name);
  // The sample is the first of the other images in the seeded order: sha-256 of "seed\nname".
  const rank = (seed: string, name: string) => createHash('sha256').update(`${seed}\n${name}`).digest().readUIntBE(0, 6);
  const seed = ['a', 'b', 'c', 'd', 'e', 'f', 'g'].find((s) => names.slice(1).sort((x, y) => rank(s, x) - rank(s, y))[0] !== names[1])!;
  const sampledName = names.slice(1).sort((x, y) => rank(seed, x) - rank(seed, y))[0]!;

  const double = await annotatorDouble(t);
  const push = (extra: string[]) => reefstreamCli(['review', 'push', '--coco-annotator', double.url, '--dataset', 'Lagoon', '--results', ndjson, ...extra], loginEnv(double));
  const first = await push(['--below', '0.8', '--sample', '1', '--seed', seed, '--points', 'below']);
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stdout, /5 points imported/);
  assert.match(first.stdout, new RegExp(`chosen: 1 image with a point under 0\\.8 \\(those points only\\), 1 image sampled from the others \\(seed ${seed}\\), 4 left out`));
  assert.deepEqual(livePoints(double).map((p) => p.split(' ')[0]).sort(), [reviewFileName(names[0]!), ...Array.from({ length: 4 }, () => reviewFileName(sampledName))].sort());
  const record = await readLines(pushRecordPath(ndjson)) as unknown as PushedImage[];
  assert.deepEqual(record.map((r) => [r.name, r.why, r.below, r.points.length]).sort(), [[names[0], 'below', 0.8, 1], [sampledName, 'sample', 0.8, 4]].sort());
  assert.deepEqual(record.find((r) => r.why === 'below')!.points, [[lines[0]!.points[0]!.row, lines[0]!.points[0]!.column]]);

  // The same push again: the same sample, nothing new.
  const again = await push(['--below', '0.8', '--sample', '1', '--seed', seed, '--points', 'below']);
  assert.match(again.stdout, /0 points imported \(nothing new\)/);

  // A reviewer relabels the uncertain point; then a push at 0.9 adds image 1's point under 0.9 and nothing else.
  const uncertain = double.annotations[0]!;
  const other = double.categories.find((c) => c.id !== uncertain.categoryId && double.datasets[0]!.categories.includes(c.id))!;
  await asReviewer(double, 'PUT', uncertain.id, { category_id: other.id });
  const reviewed = livePoints(double);
  const higher = await push(['--below', '0.9', '--points', 'below']);
  assert.equal(higher.status, 0, higher.stderr);
  assert.match(higher.stdout, /1 point imported/);
  const now = livePoints(double);
  assert.deepEqual(now.filter((p) => !reviewed.includes(p)).map((p) => p.split(' ')[0]), [reviewFileName(names[1]!)]);
  assert.ok(reviewed.every((p) => now.includes(p)), 'the relabelled point stays as the reviewer left it');

  // Compared on what was pushed: the points never pushed are not "removed by the reviewer".
  const out = join(await tempFolder(t), 'agreement');
  const compare = await reefstreamCli(['review', 'compare', '--coco-annotator', double.url, '--dataset', 'Lagoon', '--results', ndjson, '--out', out], loginEnv(double));
  assert.equal(compare.status, 0, compare.stderr);
  assert.match(compare.stdout, /3 reviewed images, 6 points matched \(0 only human, 0 only machine\); top-1 83\.3 %/);
  // Back to CoralNet: the six reviewed points, the relabelled one as the reviewer left it.
  const upload = join(await tempFolder(t), 'annotations.csv');
  const exported = await reefstreamCli(['review', 'export', '--coralnet', upload, '--coco-annotator', double.url, '--dataset', 'Lagoon', '--results', ndjson], loginEnv(double));
  assert.equal(exported.status, 0, exported.stderr);
  const rows = (await readFile(upload, 'utf8')).trim().split('\n');
  assert.equal(rows.length, 1 + 6);
  const relabelled = lines[0]!.points[0]!;
  assert.ok(rows.includes(`${names[0]},${relabelled.row},${relabelled.column},${other.name}`), rows.join('\n'));

  // --sample without --below is a usage error.
  const usage = await push(['--sample', '5']);
  assert.equal(usage.status, 2);
  assert.match(usage.stderr, /give --below too/);
});
