/**
 * CoralNet reads a photo's pixels as stored: EXIF orientation is not applied. Points, rows and
 * columns are on the stored grid end to end; pictures for people are turned upright with each
 * point turned with them, over the pixel CoralNet read.
 */
import assert from 'node:assert/strict';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { paintedLabel, paintImage, type PaintedImage } from '../src/demo/syntheticSurvey.js';
import { drawPoints, uprightPoint } from '../src/report/overlay.js';
import { startSimulator } from '../src/simulator/server.js';
import { reefstreamCli, tempFolder } from './helpers.js';

const WIDTH = 96;
const HEIGHT = 64;

/** A photo painted in blocks on its stored grid, tagged with an EXIF orientation. */
async function taggedPhoto(folder: string, orientation: number): Promise<PaintedImage> {
  const path = join(folder, `o${orientation}.jpg`);
  const painted = await paintImage(path, { width: WIDTH, height: HEIGHT, blockRows: 2, blockColumns: 3, seed: `o${orientation}` });
  const tagged = await sharp(path).withMetadata({ orientation }).jpeg({ quality: 95, chromaSubsampling: '4:4:4' }).toBuffer();
  await writeFile(path, tagged);
  assert.equal((await sharp(path).metadata()).orientation ?? 1, orientation);
  return { ...painted, name: `o${orientation}.jpg` };
}

test('uprightPoint turns a stored-grid point as a viewer turns the photo, for each EXIF orientation', async () => {
  // The corner at row 0, column 0 of a photo stored 96 wide × 64 tall, seen upright.
  const corner = [1, 2, 3, 4, 5, 6, 7, 8].map((o) => uprightPoint({ row: 0, column: 0 }, o, WIDTH, HEIGHT));
  assert.deepEqual(corner, [
    { row: 0, column: 0 },
    { row: 0, column: 95 },
    { row: 63, column: 95 },
    { row: 63, column: 0 },
    { row: 0, column: 0 },
    { row: 0, column: 63 },
    { row: 95, column: 63 },
    { row: 95, column: 0 },
  ]);
  // Checked against sharp: a single marked pixel of the stored grid lands where uprightPoint says.
  for (let orientation = 1; orientation <= 8; orientation++) {
    const pixels = Buffer.alloc(WIDTH * HEIGHT * 3);
    const at = { row: 10, column: 70 };
    pixels.fill(255, (at.row * WIDTH + at.column) * 3, (at.row * WIDTH + at.column) * 3 + 3);
    const tagged = await sharp(pixels, { raw: { width: WIDTH, height: HEIGHT, channels: 3 } }).png().withMetadata({ orientation }).toBuffer();
    const upright = await sharp(tagged).rotate().raw().toBuffer({ resolveWithObject: true });
    const lit = upright.data.findIndex((value) => value === 255) / 3;
    const seen = { row: Math.floor(lit / upright.info.width), column: lit % upright.info.width };
    assert.deepEqual(seen, uprightPoint(at, orientation, WIDTH, HEIGHT), `orientation ${orientation}`);
  }
});

test('drawPoints rings each point over the pixel CoralNet read, in the photo turned upright', async (t) => {
  const folder = await tempFolder(t);
  for (let orientation = 1; orientation <= 8; orientation++) {
    const path = join(folder, `grey${orientation}.png`);
    await sharp({ create: { width: WIDTH, height: HEIGHT, channels: 3, background: '#808080' } }).png().withMetadata({ orientation }).toFile(path);
    const point = { row: 20, column: 60, label: '' };
    const jpeg = await drawPoints(path, [point], new Map([['', '#ff0000']]));
    const { data, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height], orientation >= 5 ? [HEIGHT, WIDTH] : [WIDTH, HEIGHT]);
    // The centre of the red ring's pixels is the point, turned.
    let rows = 0;
    let columns = 0;
    let n = 0;
    for (let i = 0; i < info.width * info.height; i++) {
      const [r, g, b] = [data[i * 3]!, data[i * 3 + 1]!, data[i * 3 + 2]!];
      if (r > 150 && r - g > 80 && r - b > 80) {
        rows += Math.floor(i / info.width);
        columns += i % info.width;
        n++;
      }
    }
    const expected = uprightPoint(point, orientation, WIDTH, HEIGHT);
    assert.ok(n > 20, `orientation ${orientation}: a ring is drawn`);
    assert.ok(Math.abs(rows / n - expected.row) <= 1 && Math.abs(columns / n - expected.column) <= 1, `orientation ${orientation}: ring at ${rows / n},${columns / n}, point at ${expected.row},${expected.column}`);
  }
});

test('photos tagged with each EXIF orientation: every point on the stored grid, labelled as the stored pixel, the tag in the NDJSON, overlays upright', async (t) => {
  const root = await tempFolder(t);
  const folder = join(root, 'survey');
  const { mkdir } = await import('node:fs/promises');
  await mkdir(folder);
  const painted: PaintedImage[] = [];
  for (let orientation = 1; orientation <= 8; orientation++) painted.push(await taggedPhoto(folder, orientation));
  const sim = await startSimulator({ burst: { limit: 600, periodMs: 60_000 }, sustained: { limit: 6000, periodMs: 3_600_000 } });
  t.after(() => sim.close());
  const out = join(root, 'results.csv');
  const ndjson = join(root, 'results.ndjson');
  const run = await reefstreamCli(['run', '--api', sim.url, '--classifier', '1', '--source', folder, '--points', 'stratified:2x3x2', '--out', out, '--ndjson', ndjson, '--burst', '600/60s', '--sustained', '6000/1h'], { CORALNET_TOKEN: sim.token });
  assert.equal(run.status, 0, run.stderr);
  const rows = (await readFile(out, 'utf8')).trim().split('\n').slice(1).map((line) => line.split(','));
  assert.equal(rows.length, 8 * 12);
  const header = (await readFile(out, 'utf8')).split('\n')[0]!.split(',');
  const [name, row, column, label] = ['Name', 'Row', 'Column', 'Label code'].map((c) => header.indexOf(c));
  for (const fields of rows) {
    const image = painted.find((p) => p.name === fields[name!])!;
    const [r, c] = [Number(fields[row!]), Number(fields[column!])];
    assert.ok(r < HEIGHT && c < WIDTH, `${image.name}: ${r},${c} inside the stored ${WIDTH} × ${HEIGHT}`);
    assert.equal(fields[label!], paintedLabel(image, r, c), `${image.name} at ${r},${c}`);
  }
  const lines = (await readFile(ndjson, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as { name: string; width: number; height: number; orientation?: number });
  assert.deepEqual(
    lines.map((l) => [l.name, l.width, l.height, l.orientation]),
    painted.map((p, i) => [p.name, WIDTH, HEIGHT, i === 0 ? undefined : i + 1]),
  );

  const overlays = join(root, 'overlays');
  const drawn = await reefstreamCli(['overlay', '--in', ndjson, '--images', folder, '--out', overlays]);
  assert.equal(drawn.status, 0, drawn.stderr);
  for (const file of (await readdir(overlays)).sort()) {
    const orientation = Number(/o(\d)/.exec(file)![1]);
    const meta = await sharp(join(overlays, file)).metadata();
    assert.deepEqual([meta.width, meta.height, meta.orientation ?? 1], orientation >= 5 ? [HEIGHT, WIDTH, 1] : [WIDTH, HEIGHT, 1], file);
  }
  // The report's sample photos are drawn the same way: upright, with the points turned with them.
  const report = await reefstreamCli(['report', '--in', ndjson, '--out', join(root, 'report'), '--images', folder, '--samples', '8']);
  assert.equal(report.status, 0, report.stderr);
  const html = await readFile(join(root, 'report', 'index.html'), 'utf8');
  const samples = [...html.matchAll(/<img alt="(o\d)\.jpg[^"]*" src="data:image\/jpeg;base64,([^"]+)"/g)];
  assert.equal(samples.length, 8);
  for (const [, name, data] of samples) {
    const meta = await sharp(Buffer.from(data!, 'base64')).metadata();
    assert.deepEqual([meta.width, meta.height], Number(name!.slice(1)) >= 5 ? [HEIGHT, WIDTH] : [WIDTH, HEIGHT], name);
  }
});
