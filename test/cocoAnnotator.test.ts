import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { test } from 'node:test';
import { paintedLabel, paintSurvey, type PaintedImage } from '../src/demo/syntheticSurvey.js';
import { runSurvey } from '../src/flow/runSurvey.js';
import type { ImageRef } from '../src/model.js';
import { CocoAnnotator, CocoAnnotatorError, readCocoFile } from '../src/review/cocoAnnotator.js';
import { compareWithHumans, machineFromCoco } from '../src/review/compare.js';
import type { Confidence } from '../src/review/confidence.js';
import { pushForReview } from '../src/review/push.js';
import { readLabelGroups } from '../src/cover/labelGroups.js';
import { cocoResultsPath, writeCoco } from '../src/sinks/coco.js';
import { startSimulator } from '../src/simulator/server.js';
import { cocoAnnotatorImages } from '../src/sources/cocoAnnotator.js';
import { startCocoAnnotatorDouble, type CocoAnnotatorDouble } from './peers/cocoAnnotator.js';
import { reefstreamCli, tempFolder } from './helpers.js';

type T = { after: (fn: () => Promise<void>) => void };

async function annotatorDouble(t: T, options: Parameters<typeof startCocoAnnotatorDouble>[0] = {}): Promise<CocoAnnotatorDouble> {
  const double = await startCocoAnnotatorDouble(options);
  t.after(() => double.close());
  return double;
}

const login = (double: CocoAnnotatorDouble) => ({ url: double.url, username: double.username, password: double.password });

/** A dataset of `count` painted photos uploaded as in the web UI. */
async function datasetOf(t: T, double: CocoAnnotatorDouble, name: string, count: number): Promise<{ id: number; painted: PaintedImage[]; folder: string }> {
  const folder = await tempFolder(t);
  const painted = await paintSurvey(folder, count, { width: 160, height: 120, blockRows: 2, blockColumns: 2, tow: true });
  const dataset = { id: double.datasets.length + 1, name, categories: [] };
  double.datasets.push(dataset);
  for (const image of painted) await double.addImage(dataset.id, image.name, await readFile(join(folder, image.name)));
  return { id: dataset.id, painted, folder };
}

async function all<T>(source: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of source) items.push(item);
  return items;
}

/** A finished run of `folder` through the simulator, with its NDJSON. */
async function annotated(t: T, source: string | AsyncIterable<ImageRef>, options: { imagesFolder?: string } = {}): Promise<{ out: string; ndjson: string }> {
  const sim = await startSimulator({ burst: { limit: 600, periodMs: 60_000 }, sustained: { limit: 6000, periodMs: 3_600_000 } });
  t.after(() => sim.close());
  const out = join(await tempFolder(t), 'results.csv');
  const ndjson = out.replace('.csv', '.ndjson');
  const summary = await runSurvey({ apiUrl: sim.url, token: sim.token, classifierId: 1, source, points: 'stratified:2x2x1', out, ndjson, chunkFlushMs: 50, ...options });
  assert.equal(summary.failed, 0);
  return { out, ndjson };
}

test('coco annotator: login by session cookie; a lost session is renewed once; a wrong password is one clear line without it', async (t) => {
  const double = await annotatorDouble(t);
  double.datasets.push({ id: 1, name: 'Lagoon', categories: [] });
  const annotator = await CocoAnnotator.connect(login(double));
  assert.deepEqual((await annotator.datasets()).map((d) => d.name), ['Lagoon']);
  double.forgetSessions();
  assert.deepEqual((await annotator.datasets()).map((d) => d.name), ['Lagoon']);
  assert.equal(double.stats.logins, 2);
  assert.equal(double.stats.unauthorised, 1);
  await assert.rejects(CocoAnnotator.connect({ ...login(double), password: 'not-it' }), (e: Error) => {
    assert.ok(e instanceof CocoAnnotatorError);
    assert.equal(e.message, `COCO Annotator at ${double.url.slice(0, -1)} refused the login of reviewer (Could not authenticate user): check COCO_ANNOTATOR_USER and COCO_ANNOTATOR_PASSWORD.`);
    return true;
  });
  await assert.rejects(CocoAnnotator.connect({ ...login(double), url: 'http://annotator.example.org/' }), /is not https: reefstream sends the password and session only over https/);
  await assert.rejects(annotator.dataset('Reef'), /has no dataset Reef; it has Lagoon\.$/);
});

test('coco annotator: pages asked from 1, answered from 0, one page too many when the total divides evenly — every image once', async (t) => {
  const double = await annotatorDouble(t);
  const even = await datasetOf(t, double, 'Even', 6);
  const odd = await datasetOf(t, double, 'Odd', 7);
  const annotator = await CocoAnnotator.connect(login(double));
  const names = (images: Array<{ file_name: string }>) => images.map((i) => i.file_name);
  const evenImages = await all(annotator.images(even.id, 3));
  assert.deepEqual(names(evenImages), even.painted.map((p) => p.name));
  assert.equal(double.stats.calls['GET /api/dataset/:id/data'], 2, 'pages 1 and 2 of 3 claimed: the third would be empty');
  const oddImages = await all(annotator.images(odd.id, 3));
  assert.deepEqual(names(oddImages), odd.painted.map((p) => p.name));
  assert.equal(double.stats.calls['GET /api/dataset/:id/data'], 2 + 3);
  // The server's own numbers, as the listing saw them.
  const page = (await (await fetch(new URL(`api/dataset/${even.id}/data?page=2&limit=3`, double.url), { headers: { authorization: `Basic ${Buffer.from(`${double.username}:${double.password}`).toString('base64')}` } })).json()) as { page: number; pages: number; total: number };
  assert.deepEqual([page.page, page.pages, page.total], [1, 3, 6]);
});

test('coco annotator as a source: originals downloaded as pulled, not again on a second run; through the simulator every point as painted', async (t) => {
  const double = await annotatorDouble(t);
  const { painted, folder } = await datasetOf(t, double, 'Lagoon 2024', 5);
  const into = join(await tempFolder(t), 'images');
  const iterator = cocoAnnotatorImages({ ...login(double), dataset: 'Lagoon 2024', into })[Symbol.asyncIterator]();
  const first = await iterator.next();
  assert.equal(double.stats.calls['GET /api/image/:id'], 1, 'one image pulled, one download');
  assert.equal((first.value as ImageRef).name, 'IMG_0001.jpg');
  await iterator.return?.(undefined);
  // As uploaded, EXIF and all, not re-encoded.
  assert.deepEqual(await readFile(join(into, 'IMG_0001.jpg')), await readFile(join(folder, 'IMG_0001.jpg')));

  const { ndjson } = await annotated(t, cocoAnnotatorImages({ ...login(double), dataset: 'Lagoon 2024', into }), { imagesFolder: into });
  assert.equal(double.stats.calls['GET /api/image/:id'], 5, 'the first image was there already');
  const lines = (await readFile(ndjson, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { name: string; dateTimeOriginal?: string; points: Array<{ row: number; column: number; classifications: Array<{ label_code: string }> }> });
  assert.deepEqual(lines.map((l) => l.name), painted.map((p) => p.name));
  for (const line of lines) {
    const image = painted.find((p) => p.name === line.name)!;
    for (const point of line.points) assert.equal(point.classifications[0]!.label_code, paintedLabel(image, point.row, point.column));
  }
  assert.ok(lines[0]!.dateTimeOriginal, 'EXIF kept: the original was downloaded');
  assert.deepEqual((await readdir(into)).sort(), painted.map((p) => p.name));
  await annotated(t, cocoAnnotatorImages({ ...login(double), dataset: 'Lagoon 2024', into }), { imagesFolder: into });
  assert.equal(double.stats.calls['GET /api/image/:id'], 5, 'nothing downloaded twice');
});

test('review push: images uploaded into the dataset, categories made and attached beside the ones it had, points imported as a task; twice imports nothing', async (t) => {
  const survey = await tempFolder(t);
  const painted = await paintSurvey(survey, 6, { width: 160, height: 120, blockRows: 2, blockColumns: 2 });
  const { ndjson } = await annotated(t, survey);
  const double = await annotatorDouble(t);
  // The team made the dataset by hand, with a category of its own attached.
  double.categories.push({ id: 90, name: 'Unknown', keypoints: [] });
  double.datasets.push({ id: 1, name: 'Lagoon review', categories: [90] });
  const first = await pushForReview({ ...login(double), dataset: 'Lagoon review', results: ndjson, pollMs: 10 });
  assert.equal(first.datasetCreated, false);
  assert.deepEqual([first.images, first.uploaded, first.alreadyThere, first.annotations], [6, 6, 0, 24]);
  assert.equal(first.task?.completed, true);
  assert.deepEqual([first.task?.errors, first.task?.warnings, first.lost], [0, 0, { points: 0, images: 0, reasons: [] }]);
  const dataset = double.datasets.find((d) => d.name === 'Lagoon review')!;
  const names = (ids: number[]) => ids.map((id) => double.categories.find((c) => c.id === id)!.name).sort();
  assert.deepEqual(names(dataset.categories), [...first.categories, 'Unknown'].sort(), 'attaching replaces the list: the one it had is sent too');
  assert.equal(first.categoriesCreated, first.categories.length);
  assert.ok(double.categories.filter((c) => first.categories.includes(c.name)).every((c) => c.keypoints.join() === 'point'));

  // Each point where the machine put it (x = column, y = row), with its first choice.
  const lines = (await readFile(ndjson, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { name: string; points: Array<{ row: number; column: number; classifications: Array<{ label_code: string }> }> });
  const stored = double.annotations.map((a) => {
    const image = double.images.find((i) => i.id === a.imageId)!;
    return `${image.fileName} ${a.keypoints.join(',')} ${double.categories.find((c) => c.id === a.categoryId)!.name}`;
  });
  const expected = lines.flatMap((l) => l.points.map((p) => `${l.name} ${p.column},${p.row},2 ${p.classifications[0]!.label_code}`));
  assert.deepEqual(stored.sort(), expected.sort());
  for (const line of lines) {
    const image = painted.find((p) => p.name === line.name)!;
    for (const point of line.points) assert.equal(point.classifications[0]!.label_code, paintedLabel(image, point.row, point.column));
  }

  // The team detaches one label meanwhile; a second push attaches it again and keeps theirs.
  dataset.categories.splice(dataset.categories.indexOf(double.categories.find((c) => c.name === first.categories[0])!.id), 1);
  const before = { images: double.images.length, annotations: double.annotations.length, categories: double.categories.length };
  const second = await pushForReview({ ...login(double), dataset: 'Lagoon review', results: ndjson, pollMs: 10 });
  assert.deepEqual([second.datasetCreated, second.uploaded, second.alreadyThere, second.pushedBefore, second.annotations, second.categoriesCreated], [false, 0, 6, 6, 0, 0]);
  assert.deepEqual({ images: double.images.length, annotations: double.annotations.length, categories: double.categories.length }, before);
  assert.deepEqual(names(dataset.categories), [...first.categories, 'Unknown'].sort());
  assert.equal(double.stats.calls['POST /api/image/'], 6, 'images there are not sent again');
  assert.equal(double.tasks.length, 1, 'nothing new: no second import');
});

test('review push: the import task is polled until done and its errors are reported from its log', async (t) => {
  const double = await annotatorDouble(t, { taskStepMs: 20 });
  const { id } = await datasetOf(t, double, 'Lagoon', 1);
  const annotator = await CocoAnnotator.connect(login(double));
  const coco = {
    images: [{ id: 1, file_name: 'IMG_0001.jpg', width: 160, height: 120 }, { id: 2, file_name: 'IMG_0404.jpg', width: 160, height: 120 }],
    categories: [{ id: 7, name: 'CORAL', keypoints: ['point'] }],
    annotations: [
      ...Array.from({ length: 120 }, (_, i) => ({ id: i + 1, image_id: 1, category_id: 7, keypoints: [i, 5, 2] })),
      { id: 200, image_id: 1, category_id: 7, keypoints: [] },
    ],
  };
  const taskId = await annotator.importCoco(id, new Blob([JSON.stringify(coco)], { type: 'application/json' }));
  const seen: number[] = [];
  const { task, logs } = await annotator.taskDone(taskId, { intervalMs: 5, settleMs: 100, onProgress: (t) => seen.push(t.progress) });
  assert.equal(task.completed, true);
  assert.ok(seen.some((p) => p < 100), `progress seen before the end: ${seen.join(',')}`);
  assert.deepEqual([task.errors, task.warnings], [0, 3]);
  assert.deepEqual(logs, [
    { level: 'WARNING', message: 'CORAL category not found (creating a new one)' },
    { level: 'WARNING', message: 'Could not find image IMG_0404.jpg' },
    { level: 'WARNING', message: 'Annotation 200 has no segmentation or keypoints' },
  ]);
  assert.equal(double.annotations.length, 120);
});

test('review compare: top-1 and top-5 per label, the confusion matrix, and cover per image and group, human beside machine', async (t) => {
  const survey = await tempFolder(t);
  await paintSurvey(survey, 4, { width: 160, height: 120, blockRows: 2, blockColumns: 2 });
  const { ndjson } = await annotated(t, survey);
  const lines = (await readFile(ndjson, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { name: string; points: Array<{ row: number; column: number; classifications: Array<{ label_code: string }> }> });
  // The humans: the machine's first choices, with three points relabelled, one moved by a pixel, one removed and one added.
  const categories = ['CORAL', 'CCA', 'MA', 'TURF', 'SAND'].map((name, i) => ({ id: i + 1, name: name.toLowerCase() === 'ma' ? 'ma' : name }));
  const idOf = (code: string) => categories.find((c) => c.name.toLowerCase() === code.toLowerCase())!.id;
  const images = lines.map((l, i) => ({ id: i + 1, file_name: l.name, width: 160, height: 120 }));
  images.push({ id: 99, file_name: 'IMG_9999.jpg', width: 160, height: 120 });
  const annotations: Array<{ image_id: number; category_id: number; keypoints: number[] }> = [];
  const pairedLabels = new Set<string>();
  lines.forEach((line, i) =>
    line.points.forEach((p, k) => {
      let code = p.classifications[0]!.label_code;
      if (i === 0 && k < 3) code = code === 'SAND' ? 'CORAL' : 'SAND';
      if (i === 1 && k === 0) return; // removed
      pairedLabels.add(code).add(p.classifications[0]!.label_code);
      const column = i === 2 && k === 0 ? p.column + 1 : p.column;
      annotations.push({ image_id: i + 1, category_id: idOf(code), keypoints: [column, p.row, 2] });
    }),
  );
  annotations.push({ image_id: 2, category_id: idOf('TURF'), keypoints: [1, 1, 2] });
  const human = join(await tempFolder(t), 'reviewed.json');
  await writeFile(human, JSON.stringify({ images, categories, annotations }));
  const out = join(await tempFolder(t), 'agreement');
  const groups = join(await tempFolder(t), 'groups.json');
  await writeFile(groups, JSON.stringify({ CORAL: 'Live coral', CCA: 'Algae', MA: 'Algae', TURF: 'Algae' }));
  const cli = await reefstreamCli(['review', 'compare', '--human', human, '--results', ndjson, '--out', out, '--tolerance', '1', '--groups', groups]);
  assert.equal(cli.status, 0, cli.stderr);
  const agreement = JSON.parse(await readFile(`${out}.json`, 'utf8')) as {
    images: number;
    notInResults: string[];
    matched: number;
    humanOnly: number;
    machineOnly: number;
    top1Accuracy: number;
    top5Accuracy: number;
    labels: Array<{ label: string; points: number; top1: number; top5: number }>;
    confusion: { labels: string[]; counts: number[][] };
    cover: Array<{ image: string; humanPoints: number; machinePoints: number; cover: Record<string, { human: number; machine: number; difference: number }> }>;
    confidence: Confidence;
  };
  assert.deepEqual([agreement.images, agreement.notInResults, agreement.matched, agreement.humanOnly, agreement.machineOnly], [4, ['IMG_9999.jpg'], 15, 1, 1]);
  assert.equal(agreement.top1Accuracy, 12 / 15);
  assert.equal(agreement.top5Accuracy, 1, 'the simulator gives all five labels');
  assert.equal(agreement.labels.reduce((n, l) => n + l.points, 0), 15);
  assert.equal(agreement.labels.reduce((n, l) => n + l.top1, 0), 12);
  const diagonal = agreement.confusion.labels.reduce((n, _, i) => n + agreement.confusion.counts[i]![i]!, 0);
  assert.equal(diagonal, 12);
  assert.equal(agreement.confusion.counts.flat().reduce((a, b) => a + b, 0), 15);
  // A reviewer's "ma" is the machine's MA, spelt as CoralNet spells it.
  assert.ok(!agreement.confusion.labels.includes('ma'));
  assert.ok(agreement.cover.every((row) => !('ma' in row.cover)), 'cover columns too, in every row');
  assert.deepEqual(agreement.confusion.labels, [...pairedLabels].sort((a, b) => a.localeCompare(b)));
  // Image 1: three of four points relabelled; its cover rows say so, label by label.
  const first = agreement.cover.find((row) => row.image === lines[0]!.name)!;
  const machineFirst = lines[0]!.points.map((p) => p.classifications[0]!.label_code);
  for (const code of new Set(machineFirst)) assert.equal(first.cover[code]!.machine, (100 * machineFirst.filter((c) => c === code).length) / 4);
  assert.equal(Object.values(first.cover).filter((c, i) => !Object.keys(first.cover)[i]!.startsWith('group:')).reduce((n, c) => n + c.human, 0), 100);
  const total = agreement.cover.at(-1)!;
  assert.deepEqual([total.image, total.humanPoints, total.machinePoints], ['All reviewed images', 16, 16]);
  for (const c of Object.values(total.cover)) assert.equal(c.difference, Math.round((c.machine - c.human) * 100) / 100);
  const cover = (await readFile(`${out}.cover.csv`, 'utf8')).trim().split('\n');
  assert.equal(cover.length, 1 + 4 + 1);
  assert.match(cover[0]!, /^Image,Human points,Machine points,.*CORAL human %,CORAL machine %,CORAL difference.*,Live coral \(group\) human %/);
  const labelsCsv = (await readFile(`${out}.labels.csv`, 'utf8')).trim().split('\n');
  assert.equal(labelsCsv.at(-1), `All labels,15,12,15,${((100 * 12) / 15).toFixed(2)},100.00`);
  assert.match(cli.stdout, /^agreement: 4 reviewed images, 15 points matched \(1 only human, 1 only machine\); top-1 80\.0 %, top-5 100\.0 %/);
  // The confidence curve: 101 thresholds overall and for each label the machine gave; every survey point counted at 0.
  const curve = (await readFile(`${out}.confidence.csv`, 'utf8')).trim().split('\n');
  const machineLabels = new Set(lines.flatMap((l) => l.points.map((p) => p.classifications[0]!.label_code)));
  assert.equal(curve.length, 1 + 101 * (1 + machineLabels.size));
  assert.equal(curve[0], 'Label,Threshold %,Reviewed points at or above,Reviewed share %,Top-1 agree,Top-1 accuracy %,Survey points at or above,Survey share %,Chosen');
  assert.equal(curve[1], `All labels,0,15,100.00,12,${((100 * 12) / 15).toFixed(2)},16,100.00,${agreement.confidence.overall.chosen?.threshold === 0 ? 'reaches 95 %' : ''}`);
  assert.equal(agreement.confidence.target, 95);
  // The reviewed points, under the survey's names, for accept and the CoralNet export.
  const reviewed = (await readFile(`${out}.points.ndjson`, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { name: string; points: Array<{ label: string; machine?: unknown }> });
  assert.deepEqual(reviewed.map((r) => r.name), lines.map((l) => l.name));
  assert.equal(reviewed.flatMap((r) => r.points).length, 16);
  assert.equal(reviewed.flatMap((r) => r.points).filter((p) => p.machine !== undefined).length, 15);
  assert.ok(!reviewed.flatMap((r) => r.points).some((p) => p.label === 'ma'), 'spelt as the machine spells it');

  // The machine's side from the COCO file and its scores: the same agreement.
  const coco = join(await tempFolder(t), 'results.coco.json');
  await writeCoco({ input: ndjson, out: coco });
  const fromCoco = await compareWithHumans({ human: await readCocoFile(human), machine: machineFromCoco(coco, cocoResultsPath(coco)), tolerance: 1, groups: await readLabelGroups(groups) });
  assert.deepEqual(fromCoco, agreement);
});

test('the end to end: a Dropbox folder through the simulator into COCO Annotator, reviewed there, and back into an agreement report', async (t) => {
  const { startDropboxDouble } = await import('./peers/dropbox.js');
  const root = await tempFolder(t);
  const painted = await paintSurvey(join(root, 'Surveys', 'site1'), 5, { width: 160, height: 120, blockRows: 2, blockColumns: 2, tow: true });
  const dropboxDouble = await startDropboxDouble({ root });
  t.after(() => dropboxDouble.close());
  const sim = await startSimulator({ burst: { limit: 600, periodMs: 60_000 }, sustained: { limit: 6000, periodMs: 3_600_000 } });
  t.after(() => sim.close());
  const annotator = await annotatorDouble(t);
  const work = await tempFolder(t);
  const out = join(work, 'results.csv');
  const ndjson = join(work, 'results.ndjson');
  const env = { CORALNET_TOKEN: sim.token, DROPBOX_TOKEN: dropboxDouble.token, COCO_ANNOTATOR_USER: annotator.username, COCO_ANNOTATOR_PASSWORD: annotator.password };
  const run = await reefstreamCli(
    ['run', '--api', sim.url, '--user', sim.username, '--classifier', '1', '--source', 'dropbox:/Surveys/site1', '--dropbox-api', dropboxDouble.url, '--points', 'stratified:2x2x1', '--out', out, '--ndjson', ndjson, '--burst', '600/60s', '--sustained', '6000/1h'],
    env,
  );
  assert.equal(run.status, 0, run.stderr);
  const push = await reefstreamCli(['review', 'push', '--coco-annotator', annotator.url, '--dataset', 'Site 1 review', '--results', ndjson], env);
  assert.equal(push.status, 0, push.stderr);
  assert.match(push.stdout, /^review: dataset Site 1 review \(id 1, made now\): 5 images; 5 uploaded, 0 there already; 20 points imported \(task 1\); \d categories \(\d made\)\n {2}record: /);
  // The uploads are the photos from Dropbox, as the backend saved them again: the same pixel grid, no EXIF.
  for (const image of annotator.images) {
    const [stored, original] = await Promise.all([sharp(image.bytes).metadata(), sharp(await readFile(join(root, 'Surveys', 'site1', image.fileName))).metadata()]);
    assert.deepEqual([stored.width, stored.height, stored.exif], [original.width, original.height, undefined]);
    assert.ok(original.exif !== undefined);
  }
  for (const secret of [sim.token, dropboxDouble.token, annotator.password]) assert.ok(!`${run.stdout}${run.stderr}${push.stdout}${push.stderr}`.includes(secret));

  // A reviewer corrects two points in the web UI: to the label of another point.
  const [target] = annotator.categories;
  const changed = annotator.annotations.filter((a) => a.categoryId !== target!.id).slice(0, 2);
  assert.equal(changed.length, 2);
  for (const a of changed) a.categoryId = target!.id;
  const agreementPrefix = join(work, 'agreement');
  const compare = await reefstreamCli(['review', 'compare', '--coco-annotator', annotator.url, '--dataset', 'Site 1 review', '--results', ndjson, '--out', agreementPrefix], env);
  assert.equal(compare.status, 0, compare.stderr);
  assert.match(compare.stdout, /^agreement: 5 reviewed images, 20 points matched \(0 only human, 0 only machine\); top-1 90\.0 %, top-5 100\.0 %/);
  const labels = (await readFile(`${agreementPrefix}.labels.csv`, 'utf8')).trim().split('\n');
  assert.equal(labels.at(-1), 'All labels,20,18,20,90.00,100.00');
  const confusion = (await readFile(`${agreementPrefix}.confusion.csv`, 'utf8')).trim().split('\n');
  const header = confusion[0]!.split(',');
  const row = confusion.find((line) => line.startsWith(`${target!.name},`))!.split(',');
  const offDiagonal = row.slice(1).reduce((n, cell, i) => n + (header[i + 1] === target!.name ? 0 : Number(cell)), 0);
  assert.equal(offDiagonal, 2, `the two corrected points: humans said ${target!.name}, the machine did not`);
  assert.equal(painted.length, 5);
});

test('reefstream run --source coco-annotator:DATASET: login from the environment, images downloaded beside the output; a missing dataset is one line', async (t) => {
  const double = await annotatorDouble(t);
  const { painted } = await datasetOf(t, double, 'Lagoon 2024', 3);
  const sim = await startSimulator({ burst: { limit: 600, periodMs: 60_000 }, sustained: { limit: 6000, periodMs: 3_600_000 } });
  t.after(() => sim.close());
  const work = await tempFolder(t);
  const out = join(work, 'results.csv');
  const args = (dataset: string) => ['run', '--api', sim.url, '--user', sim.username, '--classifier', '1', '--source', `coco-annotator:${dataset}`, '--coco-annotator', double.url, '--points', 'random:4', '--out', out, '--burst', '600/60s', '--sustained', '6000/1h'];
  const noLogin = await reefstreamCli(args('Lagoon 2024'), { CORALNET_TOKEN: sim.token });
  assert.equal(noLogin.status, 2);
  assert.equal(noLogin.stderr, 'reefstream run: set COCO_ANNOTATOR_USER and COCO_ANNOTATOR_PASSWORD to log in to COCO Annotator.\n');
  const env = { CORALNET_TOKEN: sim.token, COCO_ANNOTATOR_USER: double.username, COCO_ANNOTATOR_PASSWORD: double.password };
  const missing = await reefstreamCli(args('Reef'), env);
  assert.equal(missing.status, 1);
  assert.equal(missing.stderr, `COCO Annotator at ${double.url.slice(0, -1)} has no dataset Reef; it has Lagoon 2024.\n`);
  const run = await reefstreamCli(args('Lagoon 2024'), env);
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /^3 images: 3 annotated, 0 failed/);
  assert.deepEqual((await readdir(join(work, 'results.images'))).sort(), painted.map((p) => p.name));
  assert.equal((await readFile(out, 'utf8')).trim().split('\n').length, 1 + 3 * 4);
  assert.ok(!`${run.stdout}${run.stderr}`.includes(double.password));
});
