/**
 * The accepted survey: people's labels where they reviewed, the machine's at or above the
 * threshold, none otherwise; cover of it; and the reviewed points in CoralNet's upload format.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { reefstreamCli, tempFolder } from './helpers.js';

type T = { after: (fn: () => Promise<void>) => void };

/** A point with its top label and score, and a second choice at half the score. */
const point = (row: number, column: number, label: string, score: number) => ({
  row,
  column,
  classifications: [
    { label_id: 1, label_code: label, label_name: label, score },
    { label_id: 2, label_code: label === 'SAND' ? 'CORAL' : 'SAND', label_name: 'second', score: score / 2 },
  ],
});

/**
 * Two images. site1/A.JPG was reviewed: its first point agreed with (0.9), its second relabelled
 * TURF (0.55), its third removed (0.4), and a SAND point added at (5, 5). IMG_2.JPG was not: CORAL
 * 0.99, SAND 0.8 (at the threshold), TURF 0.79 (under it).
 */
async function survey(t: T): Promise<{ folder: string; results: string; human: string }> {
  const folder = await tempFolder(t);
  const results = join(folder, 'results.ndjson');
  const lines = [
    { name: 'site1/A.JPG', width: 40, height: 30, dateTimeOriginal: '2024:03:05 10:00:00', points: [point(10, 10, 'CORAL', 0.9), point(10, 20, 'CORAL', 0.55), point(20, 10, 'TURF', 0.4)] },
    { name: 'IMG_2.JPG', width: 40, height: 30, points: [point(10, 10, 'CORAL', 0.99), point(10, 20, 'SAND', 0.8), point(20, 10, 'TURF', 0.79)] },
  ];
  await writeFile(results, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  const human = join(folder, 'reviewed.json');
  await writeFile(
    human,
    JSON.stringify({
      images: [{ id: 7, file_name: 'site1__A.JPG', width: 40, height: 30 }],
      categories: [{ id: 1, name: 'coral' }, { id: 2, name: 'TURF' }, { id: 3, name: 'SAND' }],
      annotations: [
        { id: 1, image_id: 7, category_id: 1, keypoints: [10, 10, 2] },
        { id: 2, image_id: 7, category_id: 2, keypoints: [20, 10, 2] },
        { id: 3, image_id: 7, category_id: 3, keypoints: [5, 5, 2] },
      ],
    }),
  );
  return { folder, results, human };
}

const csvLines = async (file: string): Promise<string[]> => (await readFile(file, 'utf8')).trim().split('\n');

test('accept: reviewed points take the person\'s label, others the machine\'s at or above the threshold, the rest none; cover counts the unlabelled apart', async (t) => {
  const { folder, results, human } = await survey(t);
  const accepted = await reefstreamCli(['accept', '--results', results, '--human', human, '--threshold', '0.8', '--reviewer', 'Ana']);
  assert.equal(accepted.status, 0, accepted.stderr);
  assert.equal(
    accepted.stdout,
    `accept: 2 images, 7 points at threshold 0.8: 3 reviewed (42.9 %), 2 accepted from the machine (28.6 %), 2 without a label (28.6 %, 1 of them removed by reviewers); 1 point added by reviewers\n` +
      `  ${join(folder, 'results.accepted.csv')}, ${join(folder, 'results.accepted.ndjson')}\n`,
  );
  const csv = await csvLines(join(folder, 'results.accepted.csv'));
  assert.equal(csv[0], 'Name,Row,Column,Label code,Annotator,Machine suggestion 1,Machine confidence 1,Machine suggestion 2,Machine confidence 2,Machine suggestion 3,Machine confidence 3,Machine suggestion 4,Machine confidence 4,Machine suggestion 5,Machine confidence 5');
  assert.deepEqual(
    csv.slice(1).map((row) => row.split(',').slice(0, 7).join(',')),
    [
      'site1/A.JPG,10,10,CORAL,Ana,CORAL,90',
      'site1/A.JPG,10,20,TURF,Ana,CORAL,55',
      'site1/A.JPG,20,10,,Ana,TURF,40',
      'site1/A.JPG,5,5,SAND,Ana,,',
      'IMG_2.JPG,10,10,CORAL,robot,CORAL,99',
      'IMG_2.JPG,10,20,SAND,robot,SAND,80',
      'IMG_2.JPG,20,10,,,TURF,79',
    ],
  );
  assert.equal(csv[1], 'site1/A.JPG,10,10,CORAL,Ana,CORAL,90,SAND,45,,,,,,');

  const cover = await reefstreamCli(['cover', '--in', join(folder, 'results.accepted.ndjson'), '--out', join(folder, 'cover.csv')]);
  assert.equal(cover.status, 0, cover.stderr);
  assert.deepEqual(await csvLines(join(folder, 'cover.csv')), [
    'Image,Images,Points,Unlabelled points,CORAL %,SAND %,TURF %',
    'site1/A.JPG,1,3,1,33.33,33.33,33.33',
    'IMG_2.JPG,1,2,1,50.00,50.00,0.00',
  ]);
  // The run's own NDJSON: no unlabelled column, every point counted.
  const machineCover = await reefstreamCli(['cover', '--in', results, '--out', join(folder, 'machine-cover.csv')]);
  assert.equal(machineCover.status, 0, machineCover.stderr);
  assert.equal((await csvLines(join(folder, 'machine-cover.csv')))[0], 'Image,Images,Points,CORAL %,SAND %,TURF %');
});

test('accept from review compare\'s output: its threshold when none is given; without a review, a threshold is needed', async (t) => {
  const { folder, results, human } = await survey(t);
  const out = join(folder, 'agreement');
  const compare = await reefstreamCli(['review', 'compare', '--human', human, '--results', results, '--out', out, '--target', '100']);
  assert.equal(compare.status, 0, compare.stderr);
  // Agreed at 0.9, not at 0.55: 100 % first at 56.
  assert.match(compare.stdout, /at a threshold of 56 %: top-1 100\.0 % on 1 reviewed points; accepts 4 of the survey's 6 points \(66\.7 %\) without review/);
  const accepted = await reefstreamCli(['accept', '--results', results, '--human', out]);
  assert.equal(accepted.status, 0, accepted.stderr);
  assert.match(accepted.stdout, /^accept: 2 images, 7 points at threshold 0\.56 \(the one the comparison found\): 3 reviewed .*, 3 accepted from the machine/);
  assert.equal((await csvLines(join(folder, 'results.accepted.csv'))).at(-1)!.split(',').slice(0, 5).join(','), 'IMG_2.JPG,20,10,TURF,robot');

  const bare = await reefstreamCli(['accept', '--results', results]);
  assert.equal(bare.status, 2);
  assert.equal(bare.stderr, 'reefstream accept: give --threshold (a score, 0 to 1), the lowest machine score to accept.\n');
  const percent = await reefstreamCli(['accept', '--results', results, '--threshold', '80']);
  assert.equal(percent.stderr, 'reefstream accept: --threshold "80": is a score, 0 to 1 (0.8, not 80)\n');
  // Machine only: the threshold alone.
  const machine = await reefstreamCli(['accept', '--results', results, '--threshold', '0.8', '--out', join(folder, 'm.csv'), '--ndjson', join(folder, 'm.ndjson')]);
  assert.match(machine.stdout, /^accept: 2 images, 6 points at threshold 0\.8: 0 reviewed \(0\.0 %\), 3 accepted from the machine \(50\.0 %\), 3 without a label/);
});

test('review export --coralnet: the reviewed points only, in CoralNet\'s upload columns, under the survey\'s or the name map\'s names', async (t) => {
  const { folder, results, human } = await survey(t);
  const out = join(folder, 'agreement');
  assert.equal((await reefstreamCli(['review', 'compare', '--human', human, '--results', results, '--out', out])).status, 0);
  const upload = join(folder, 'annotations.csv');
  const exported = await reefstreamCli(['review', 'export', '--coralnet', upload, '--human', out]);
  assert.equal(exported.status, 0, exported.stderr);
  assert.equal(exported.stdout, `review export: 3 reviewed points of 1 image in ${upload}, for CoralNet's annotation upload\n`);
  assert.match(exported.stderr, /^ {2}1 image written under a name with folders \(site1\/IMG_1\.JPG\): a CoralNet source knows images by the uploaded file's name .*; give --name-map\n$/);
  // The reviewer's "coral" as CoralNet's code; the removed point not written; the added one is.
  assert.deepEqual(await csvLines(upload), ['Name,Row,Column,Label code', 'site1/A.JPG,10,10,CORAL', 'site1/A.JPG,10,20,TURF', 'site1/A.JPG,5,5,SAND']);

  // Matched now from the COCO file, under the source's names.
  const names = join(folder, 'names.csv');
  await writeFile(names, 'survey,coralnet\nsite1/A.JPG,A_2024.JPG\n');
  const mapped = await reefstreamCli(['review', 'export', '--coralnet', upload, '--human', human, '--results', results, '--name-map', names]);
  assert.equal(mapped.status, 0, mapped.stderr);
  assert.equal(mapped.stderr, '');
  assert.deepEqual((await csvLines(upload)).slice(1), ['A_2024.JPG,10,10,CORAL', 'A_2024.JPG,10,20,TURF', 'A_2024.JPG,5,5,SAND']);

  // An image the map lacks is said, and the exit code is 3; a label the classifier never gave first is warned of.
  await writeFile(names, 'survey,coralnet\nother.JPG,B.JPG\n');
  const reviewedJson = JSON.parse(await readFile(human, 'utf8')) as { categories: Array<{ id: number; name: string }> };
  reviewedJson.categories[2]!.name = 'Rubble';
  await writeFile(human, JSON.stringify(reviewedJson));
  const missing = await reefstreamCli(['review', 'export', '--coralnet', upload, '--human', human, '--results', results, '--name-map', names]);
  assert.equal(missing.status, 3);
  assert.match(missing.stderr, /^reefstream review export: 1 reviewed image not in .*names\.csv, not written: site1\/A\.JPG; add them to the name map \(exit code 3\)\n$/m);
  assert.deepEqual(await csvLines(upload), ['Name,Row,Column,Label code']);
  const unknown = await reefstreamCli(['review', 'export', '--coralnet', upload, '--human', human, '--results', results]);
  assert.match(unknown.stderr, /labels the classifier never gave first in this survey: Rubble; CoralNet takes only label codes of the source's labelset/);
});

test('accept and review export with what is not there: one line naming it, and no outputs made', async (t) => {
  const { folder, results } = await survey(t);
  const missing = join(folder, 'missing.ndjson');
  const noResults = await reefstreamCli(['accept', '--results', missing, '--threshold', '0.5']);
  assert.equal(noResults.status, 1);
  assert.equal(noResults.stderr, `${missing} cannot be read (ENOENT): give the --ndjson output of reefstream run.\n`);
  assert.equal(existsSync(join(folder, 'missing.accepted.csv')), false);
  const noHuman = await reefstreamCli(['accept', '--results', results, '--human', join(folder, 'agreement')]);
  assert.equal(noHuman.status, 2);
  assert.equal(noHuman.stderr, `reefstream accept: --human ${join(folder, 'agreement')} is neither the --out of reefstream review compare (there is no ${join(folder, 'agreement.points.ndjson')}) nor a COCO file.\n`);
  const upload = join(folder, 'annotations.csv');
  const noMap = await reefstreamCli(['review', 'export', '--coralnet', upload, '--human', join(folder, 'reviewed.json'), '--results', results, '--name-map', join(folder, 'names.csv')]);
  assert.equal(noMap.status, 1);
  assert.equal(noMap.stderr, `${join(folder, 'names.csv')} cannot be read as a name map (it is not there): give a CSV of two columns, the survey's image name and its name in the CoralNet source, after a header row.\n`);
  assert.equal(existsSync(upload), false);
});
