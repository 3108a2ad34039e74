import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import sharp from 'sharp';
import { paintedLabel, paintSurvey } from '../src/demo/syntheticSurvey.js';
import { startSimulator } from '../src/simulator/server.js';
import { serveFolder } from '../src/sources/folderServer.js';
import { tempFolder } from './helpers.js';
import { startCocoAnnotatorDouble } from './peers/cocoAnnotator.js';
import { startDropboxDouble } from './peers/dropbox.js';

function runPipeline(file: string, args: string[], env: Record<string, string>, cwd: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const script = fileURLToPath(new URL(`../pipelines/${file}`, import.meta.url));
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, ...args], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

test('the pipeline files run as written against the simulator', async (t) => {
  const root = await tempFolder(t);
  const painted = await paintSurvey(join(root, 'www'), 33, { width: 320, height: 320, blockRows: 2, blockColumns: 2, tow: true });
  const served = await serveFolder(join(root, 'www'));
  t.after(() => served.close());
  const sim = await startSimulator({ burst: { limit: 60, periodMs: 6000 } });
  t.after(() => sim.close());
  const env = { CORALNET_API: sim.url, CORALNET_TOKEN: sim.token, CORALNET_USER: sim.username, CORALNET_CLASSIFIER: '1' };
  const list = join(root, 'urls.txt');
  await writeFile(list, painted.map((p) => served.urlOf(p.name)).join('\n'));

  // The custom chain keeps photos from 09:00:30 on: the 31st to the 33rd, 4 grid points each.
  const custom = await runPipeline('custom-chain.js', [list], env, root);
  assert.equal(custom.status, 0, custom.stderr);
  const lines = custom.stdout.trim().split('\n');
  assert.equal(lines[0], 'Name,Row,Column,Label');
  assert.deepEqual([...new Set(lines.slice(1).map((l) => l.split(',')[0]))].sort(), ['IMG_0031.jpg', 'IMG_0032.jpg', 'IMG_0033.jpg']);
  assert.equal(lines.length, 1 + 12);
  for (const line of lines.slice(1)) {
    const [name, row, column, label] = line.split(',');
    assert.equal(label, paintedLabel(painted.find((p) => p.name === name)!, Number(row), Number(column)));
  }

  // The README's example: CoralNet's CSV, the NDJSON and the errors file, every point as painted.
  const readme = await runPipeline('readme-example.js', [list], env, root);
  assert.equal(readme.status, 0, readme.stderr);
  const rows = (await readFile(join(root, 'results.csv'), 'utf8')).trim().split('\n');
  assert.equal(rows.length, 1 + 33 * 30);
  assert.match(rows[0]!, /^Name,Date,Aux1,Aux2,Aux3,Aux4,Aux5,Latitude,Longitude,Row,Column,Label code,Annotator,/);
  for (const line of rows.slice(1)) {
    const cells = line.split(',');
    assert.equal(cells[11], paintedLabel(painted.find((p) => p.name === cells[0])!, Number(cells[9]), Number(cells[10])), line);
  }
  assert.equal((await readFile(join(root, 'results.ndjson'), 'utf8')).trim().split('\n').length, 33);
  assert.equal(await readFile(join(root, 'results.errors.ndjson'), 'utf8'), '');

  // The folder pipeline, with the folder "published" under the local server's URL.
  const folder = await runPipeline('folder-to-csv.js', [join(root, 'www'), served.url, join(root, 'folder.csv')], env, root);
  assert.equal(folder.status, 0, folder.stderr);
  assert.equal(folder.stdout, `33 images annotated, 0 failed (see ${join(root, 'folder.errors.ndjson')})\n`);
  assert.equal((await readFile(join(root, 'folder.csv'), 'utf8')).trim().split('\n').length, 1 + 33 * 30);

  // The URL-list pipeline assumes 4000 × 3000 photos: on these small ones every point is outside.
  const urls = await runPipeline('urls-to-ndjson.js', [list, join(root, 'tow')], env, root);
  assert.equal(urls.status, 0, urls.stderr);
  const errors = (await readFile(join(root, 'tow.errors.ndjson'), 'utf8')).trim().split('\n');
  assert.equal(errors.length, 33);
  assert.match(errors[0]!, /RowColumnInvalidError: .*falls outside this image's valid range of 0-319/);
});

/** The simulator and the COCO Annotator double, and the environment a review pipeline reads them from. */
async function reviewPeers(t: { after: (fn: () => Promise<void>) => void }) {
  const annotator = await startCocoAnnotatorDouble();
  t.after(() => annotator.close());
  const sim = await startSimulator({ burst: { limit: 600, periodMs: 60_000 } });
  t.after(() => sim.close());
  const env = {
    CORALNET_API: sim.url,
    CORALNET_TOKEN: sim.token,
    CORALNET_USER: sim.username,
    CORALNET_CLASSIFIER: '1',
    COCO_ANNOTATOR_URL: annotator.url,
    COCO_ANNOTATOR_USER: annotator.username,
    COCO_ANNOTATOR_PASSWORD: annotator.password,
  };
  return { annotator, env };
}

test('the Dropbox-to-review pipeline runs as written against the Dropbox and COCO Annotator doubles', async (t) => {
  const root = await tempFolder(t);
  await paintSurvey(join(root, 'dbx', 'Surveys', 'site1'), 4, { width: 320, height: 320, blockRows: 2, blockColumns: 2, tow: true });
  const dropboxDouble = await startDropboxDouble({ root: join(root, 'dbx') });
  t.after(() => dropboxDouble.close());
  const { annotator, env: reviewEnv } = await reviewPeers(t);
  const env = { ...reviewEnv, DROPBOX_TOKEN: dropboxDouble.token, DROPBOX_API: dropboxDouble.url };
  const push = await runPipeline('dropbox-to-review.js', ['/Surveys/site1', 'Site 1 review'], env, root);
  assert.equal(push.status, 0, push.stderr);
  assert.equal(push.stdout, '4 images annotated; 4 uploaded to Site 1 review, 120 points to review\n');
  // Three points relabelled by a reviewer, to a label the machine gave none of them.
  const unused = { id: 999, name: 'Reviewer label', keypoints: ['point'] };
  annotator.categories.push(unused);
  annotator.datasets[0]!.categories.push(unused.id);
  for (const a of annotator.annotations.slice(0, 3)) a.categoryId = unused.id;
  const compare = await runPipeline('dropbox-to-review.js', ['/Surveys/site1', 'Site 1 review', 'compare'], env, root);
  assert.equal(compare.status, 0, compare.stderr);
  assert.equal(compare.stdout, `top-1 agreement ${((117 / 120) * 100).toFixed(1)} % on 120 reviewed points (agreement.*.csv)\n`);
  assert.match(await readFile(join(root, 'agreement.labels.csv'), 'utf8'), /^Reviewer label,3,0,0,0\.00,0\.00$/m);
});

test('the review-loop pipeline: the uncertain points and a sample pushed; after review, the curve, the final labels and the points for CoralNet', async (t) => {
  const root = await tempFolder(t);
  const survey = join(root, 'survey');
  const painted = await paintSurvey(survey, 30, { width: 320, height: 320, blockRows: 2, blockColumns: 2, tow: true });
  // Five photos of a colour halfway between coral and sand: the machine is unsure of every point.
  for (const { name } of painted.slice(0, 5)) {
    await sharp({ create: { width: 320, height: 320, channels: 3, background: { r: 250, g: 175, b: 130 } } }).jpeg().toFile(join(survey, name));
  }
  const { annotator, env } = await reviewPeers(t);
  const push = await runPipeline('review-loop.js', [survey, 'Lagoon review', 'push', '0.8'], env, root);
  assert.equal(push.status, 0, push.stderr);
  const lines = (await readFile(join(root, 'results.ndjson'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { name: string; points: Array<{ classifications: Array<{ score: number }> }> });
  const unsure = lines.filter((l) => l.points.some((p) => p.classifications[0]!.score < 0.8));
  const sampled = Math.min(20, lines.length - unsure.length);
  const pushedPoints = unsure.reduce((n, l) => n + l.points.filter((p) => p.classifications[0]!.score < 0.8).length, 0) + 30 * sampled;
  assert.ok(unsure.length >= 5 && unsure.length < lines.length, `${unsure.length} of ${lines.length} images unsure at 0.8`);
  assert.equal(push.stdout, `30 images annotated; for review: ${unsure.length} with a point under 0.8, ${sampled} sampled; ${pushedPoints} points pushed\n`);
  assert.equal(annotator.annotations.length, pushedPoints);

  // A reviewer relabels one point.
  const relabelled = annotator.annotations[0]!;
  relabelled.categoryId = annotator.datasets[0]!.categories.find((id) => id !== relabelled.categoryId)!;
  const finish = await runPipeline('review-loop.js', [survey, 'Lagoon review', 'finish'], env, root);
  assert.equal(finish.status, 0, finish.stderr);
  assert.match(finish.stdout, new RegExp(`^${pushedPoints} reviewed points, top-1 ${((100 * (pushedPoints - 1)) / pushedPoints).toFixed(1)} %; .*; final labels: ${pushedPoints} reviewed, \\d+ machine, \\d+ none \\(results\\.accepted\\.csv\\); ${pushedPoints} points for CoralNet \\(coralnet-annotations\\.csv\\)\\n$`));
  assert.equal((await readFile(join(root, 'results.accepted.csv'), 'utf8')).trim().split('\n').length, 1 + 30 * 30);
  assert.equal((await readFile(join(root, 'coralnet-annotations.csv'), 'utf8')).trim().split('\n').length, 1 + pushedPoints);
  assert.equal((await readFile(join(root, 'agreement.confidence.csv'), 'utf8')).split('\n')[1]!.split(',')[0], 'All labels');
});
