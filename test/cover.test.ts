import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { from, lastValueFrom, toArray } from 'rxjs';
import { readLabelGroups } from '../src/cover/labelGroups.js';
import { percentCover, type CoverImage } from '../src/cover/percentCover.js';
import { tempFolder } from './helpers.js';

const survey: CoverImage[] = [
  { name: 'site1/a.jpg', dateTimeOriginal: '2024:03:05 09:00:10', latitude: -17.5, longitude: 149.75, aux: { Aux1: 'T1' }, labels: ['CORAL', 'CORAL', 'MA', 'SAND'] },
  { name: 'site1/b.jpg', dateTimeOriginal: '2024:03:05 09:00:50', latitude: -17.6, longitude: 149.85, aux: { Aux1: 'T1' }, labels: ['CORAL', 'TURF', 'TURF', 'TURF'] },
  { name: 'site2/c.jpg', dateTimeOriginal: '2024:03:05 09:01:05', aux: { Aux1: 'T2' }, labels: ['SAND', 'SAND', 'SAND', 'CCA', 'CCA', 'MA'] },
  { name: 'site2/d.jpg', aux: { Aux1: 'T2' }, labels: ['CORAL', 'MA'] },
];
const groups = new Map([
  ['CORAL', 'Live coral'],
  ['CCA', 'Live coral'],
  ['MA', 'Algae'],
  ['TURF', 'Algae'],
]);

const cover = (options: Parameters<typeof percentCover>[0], images = survey) => lastValueFrom(from(images).pipe(percentCover(options), toArray()));

test('cover by image, with label groups, matches the hand count', async () => {
  const rows = await cover({ by: 'image', groups });
  assert.equal(rows.length, 4);
  assert.deepEqual(rows[0], {
    key: 'site1/a.jpg',
    images: 1,
    points: 4,
    labels: { CORAL: 50, MA: 25, SAND: 25 },
    groups: { 'Live coral': 50, Algae: 25 },
    latitude: -17.5,
    longitude: 149.75,
  });
  assert.deepEqual(rows[3]!.labels, { CORAL: 50, MA: 50 });
});

test('cover by folder: points pooled over the images of each site, mean GPS of those that have it', async () => {
  const rows = await cover({ by: 'folder', groups });
  assert.deepEqual(rows.map((r) => r.key), ['site1', 'site2']);
  assert.deepEqual(rows[0], {
    key: 'site1',
    images: 2,
    points: 8,
    labels: { CORAL: 37.5, MA: 12.5, SAND: 12.5, TURF: 37.5 },
    groups: { 'Live coral': 37.5, Algae: 50 },
    latitude: (-17.5 + -17.6) / 2,
    longitude: (149.75 + 149.85) / 2,
  });
  assert.deepEqual(rows[1], { key: 'site2', images: 2, points: 8, labels: { CCA: 25, CORAL: 12.5, MA: 25, SAND: 37.5 }, groups: { 'Live coral': 37.5, Algae: 25 } });
  const byAux = await cover({ by: 'Aux1', groups });
  assert.deepEqual(byAux.map((r) => [r.key, r.points, r.labels]), rows.map((r) => [r.key === 'site1' ? 'T1' : 'T2', r.points, r.labels]));
});

test('cover by one-minute window of DateTimeOriginal; photos without a date are left out', async () => {
  const rows = await cover({ by: 'window', windowMs: 60_000, groups });
  assert.deepEqual(rows.map((r) => [r.key, r.first, r.last, r.images, r.points]), [
    ['2024-03-05T09:00:00', '2024:03:05 09:00:10', '2024:03:05 09:00:50', 2, 8],
    ['2024-03-05T09:01:00', '2024:03:05 09:01:05', '2024:03:05 09:01:05', 1, 6],
  ]);
  assert.deepEqual(rows[1]!.labels, { CCA: (100 * 2) / 6, MA: 100 / 6, SAND: 50 });
  assert.deepEqual(rows[1]!.groups, { 'Live coral': (100 * 2) / 6, Algae: 100 / 6 });
  const tenSeconds = await cover({ by: 'window', windowMs: 10_000 });
  assert.deepEqual(tenSeconds.map((r) => r.key), ['2024-03-05T09:00:10', '2024-03-05T09:00:50', '2024-03-05T09:01:00']);
});

test('sorted windows are written as soon as a later window starts; out of order is a clear error', async () => {
  const emitted: string[] = [];
  const done = new Promise<void>((resolve) =>
    from(survey.slice(0, 3))
      .pipe(percentCover({ by: 'window', sorted: true }))
      .subscribe({ next: (row) => emitted.push(row.key), complete: resolve }),
  );
  await done;
  assert.deepEqual(emitted, ['2024-03-05T09:00:00', '2024-03-05T09:01:00']);
  await assert.rejects(cover({ by: 'window', sorted: true }, [survey[2]!, survey[0]!]), /site1\/a\.jpg \(2024:03:05 09:00:10\) comes after photos of 2024-03-05T09:01:00: the survey is not in time order/);
});

test('label groups from CSV and JSON', async (t) => {
  const root = await tempFolder(t);
  await writeFile(join(root, 'g.csv'), 'Label code,Group\nCORAL,Live coral\nMA,Algae\n');
  await writeFile(join(root, 'g.json'), '{"CORAL":"Live coral","MA":"Algae"}');
  await writeFile(join(root, 'bad.csv'), 'CORAL\n');
  assert.deepEqual([...(await readLabelGroups(join(root, 'g.csv')))], [['CORAL', 'Live coral'], ['MA', 'Algae']]);
  assert.deepEqual([...(await readLabelGroups(join(root, 'g.json')))], [['CORAL', 'Live coral'], ['MA', 'Algae']]);
  await assert.rejects(readLabelGroups(join(root, 'bad.csv')), /bad\.csv, line 1: write one label code and its group/);
  // The README's own header, and a group name with a comma in quotes.
  await writeFile(join(root, 'readme.csv'), 'code,group\nCORAL,"Coral, live"\r\nTURF,Algae\n');
  assert.deepEqual([...(await readLabelGroups(join(root, 'readme.csv')))], [['CORAL', 'Coral, live'], ['TURF', 'Algae']]);
});

test('reefstream cover: from a run NDJSON to a cover CSV by window, with groups and GPS', async (t) => {
  const root = await tempFolder(t);
  const ndjson = join(root, 'results.ndjson');
  const line = (image: CoverImage) => JSON.stringify({ ...image, labels: undefined, points: image.labels.map((code) => ({ row: 1, column: 1, classifications: [{ label_code: code, score: 1 }] })) });
  await writeFile(ndjson, survey.map(line).join('\n') + '\n');
  await writeFile(join(root, 'groups.json'), JSON.stringify(Object.fromEntries(groups)));
  const cli = fileURLToPath(new URL('../src/cli.js', import.meta.url));
  const out = join(root, 'cover.csv');
  const result = spawnSync(process.execPath, [cli, 'cover', '--in', ndjson, '--out', out, '--by', 'window', '--window', '1m', '--groups', join(root, 'groups.json'), '--gps'], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout, `cover: 2 rows in ${out}\n`);
  assert.equal(
    await readFile(out, 'utf8'),
    [
      'Window start,First photo,Last photo,Images,Points,Latitude,Longitude,CCA %,CORAL %,MA %,SAND %,TURF %,Live coral (group) %,Algae (group) %',
      '2024-03-05T09:00:00,2024-03-05T09:00:10,2024-03-05T09:00:50,2,8,-17.550000,149.800000,0.00,37.50,12.50,12.50,37.50,37.50,50.00',
      '2024-03-05T09:01:00,2024-03-05T09:01:05,2024-03-05T09:01:05,1,6,,,33.33,0.00,16.67,50.00,0.00,33.33,16.67',
      '',
    ].join('\n'),
  );
  const bad = spawnSync(process.execPath, [cli, 'cover', '--in', ndjson, '--out', out, '--by', 'site'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.equal(bad.stderr, 'reefstream cover: --by "site": is one of image, folder, Aux1 … Aux5, window\n');
});
