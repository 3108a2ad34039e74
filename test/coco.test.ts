import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { paintSurvey } from '../src/demo/syntheticSurvey.js';
import { writeCoco } from '../src/sinks/coco.js';
import { startSimulator } from '../src/simulator/server.js';
import { reefstreamCli, tempFolder } from './helpers.js';

const c = (label_id: number, label_code: string, label_name: string, score: number) => ({ label_id, label_code, label_name, score });

test('COCO keypoints from a run: a category per label, a point per annotation at x = column, y = row, v = 2; every classification\'s score as COCO results', async (t) => {
  const root = await tempFolder(t);
  const input = join(root, 'results.ndjson');
  const lines = [
    { name: 'site1/IMG_0001.JPG', url: 'https://example.org/1.jpg', width: 4000, height: 3000, points: [
      { row: 10, column: 20, classifications: [c(3, 'MA', 'Macroalgae', 0.75), c(1, 'CORAL', 'Hard coral', 0.25)] },
      { row: 30, column: 40, classifications: [c(1, 'CORAL', 'Hard coral', 0.5), c(3, 'MA', 'Macroalgae', 0.5)] },
    ] },
    { name: 'site1/IMG_0002.JPG', width: 4000, height: 3000, points: [{ row: 5, column: 6, classifications: [c(5, 'SAND', 'Sand', 0.9)] }] },
  ];
  await writeFile(input, `${lines.map((line) => JSON.stringify(line)).join('\n')}\n`);
  const written = await writeCoco({ input, out: join(root, 'results.coco.json') });
  assert.deepEqual(written, { images: 2, annotations: 3, categories: 3, results: join(root, 'results.coco.results.json') });
  const coco = JSON.parse(await readFile(join(root, 'results.coco.json'), 'utf8')) as Record<string, unknown>;
  assert.deepEqual(Object.keys(coco), ['info', 'licenses', 'categories', 'images', 'annotations']);
  assert.deepEqual(coco.categories, [
    { id: 1, name: 'CORAL', supercategory: '', keypoints: ['point'], skeleton: [], label_name: 'Hard coral' },
    { id: 3, name: 'MA', supercategory: '', keypoints: ['point'], skeleton: [], label_name: 'Macroalgae' },
    { id: 5, name: 'SAND', supercategory: '', keypoints: ['point'], skeleton: [], label_name: 'Sand' },
  ]);
  assert.deepEqual(coco.images, [
    { id: 1, width: 4000, height: 3000, file_name: 'site1/IMG_0001.JPG', coco_url: 'https://example.org/1.jpg' },
    { id: 2, width: 4000, height: 3000, file_name: 'site1/IMG_0002.JPG' },
  ]);
  const annotation = (id: number, image_id: number, category_id: number, x: number, y: number) => ({ id, image_id, category_id, keypoints: [x, y, 2], num_keypoints: 1, iscrowd: 0, area: 1, bbox: [x, y, 1, 1], segmentation: [] });
  assert.deepEqual(coco.annotations, [annotation(1, 1, 3, 20, 10), annotation(2, 1, 1, 40, 30), annotation(3, 2, 5, 6, 5)]);
  assert.deepEqual(JSON.parse(await readFile(written.results, 'utf8')), [
    { image_id: 1, category_id: 3, keypoints: [20, 10, 2], score: 0.75 },
    { image_id: 1, category_id: 1, keypoints: [20, 10, 2], score: 0.25 },
    { image_id: 1, category_id: 1, keypoints: [40, 30, 2], score: 0.5 },
    { image_id: 1, category_id: 3, keypoints: [40, 30, 2], score: 0.5 },
    { image_id: 2, category_id: 5, keypoints: [6, 5, 2], score: 0.9 },
  ]);

  await writeFile(join(root, 'bad.ndjson'), '{"name":"a.jpg","points":[]}\nnot json\n');
  await assert.rejects(writeCoco({ input: join(root, 'bad.ndjson'), out: join(root, 'bad.coco.json') }), /bad\.ndjson, line 2: not JSON; give the --ndjson output of reefstream run\./);
});

test('reefstream run --coco: every point of the run in the COCO file; --coco without --ndjson is a usage error', async (t) => {
  const root = await tempFolder(t);
  await paintSurvey(join(root, 'survey'), 3, { width: 200, height: 150 });
  const sim = await startSimulator({ burst: { limit: 600, periodMs: 60_000 }, sustained: { limit: 6000, periodMs: 3_600_000 } });
  t.after(() => sim.close());
  const base = ['run', '--api', sim.url, '--classifier', '1', '--source', join(root, 'survey'), '--points', 'grid:2x3', '--out', join(root, 'results.csv'), '--burst', '600/60s', '--sustained', '6000/1h'];
  const usage = await reefstreamCli([...base, '--coco', join(root, 'results.coco.json')], { CORALNET_TOKEN: sim.token });
  assert.equal(usage.status, 2);
  assert.equal(usage.stderr, 'reefstream run: --coco is written from the NDJSON output: give --ndjson FILE too.\n');
  const run = await reefstreamCli([...base, '--ndjson', join(root, 'results.ndjson'), '--coco', join(root, 'results.coco.json')], { CORALNET_TOKEN: sim.token });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /coco: 3 images, 18 points, \d categories in .*results\.coco\.json; scores in .*results\.coco\.results\.json/);
  const coco = JSON.parse(await readFile(join(root, 'results.coco.json'), 'utf8')) as { annotations: Array<{ image_id: number; category_id: number; keypoints: number[] }>; categories: Array<{ id: number; name: string }> };
  const ndjson = (await readFile(join(root, 'results.ndjson'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as { points: Array<{ row: number; column: number; classifications: Array<{ label_code: string }> }> });
  const expected = ndjson.flatMap((image, i) => image.points.map((p) => [i + 1, p.column, p.row, p.classifications[0]!.label_code]));
  const names = new Map(coco.categories.map((category) => [category.id, category.name]));
  assert.deepEqual(coco.annotations.map((a) => [a.image_id, a.keypoints[0], a.keypoints[1], names.get(a.category_id)]), expected);
});
