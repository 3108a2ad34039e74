import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import sharp from 'sharp';
import { paintSurvey } from '../src/demo/syntheticSurvey.js';
import { runSurvey } from '../src/flow/runSurvey.js';
import { drawPoints, ringSize } from '../src/report/overlay.js';
import { writeOverlays } from '../src/report/overlayFolder.js';
import { labelColours } from '../src/report/palette.js';
import { writeReport } from '../src/report/report.js';
import { startSimulator } from '../src/simulator/server.js';
import { tempFolder } from './helpers.js';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((path) => existsSync(path));

async function annotatedSurvey(t: { after: (fn: () => Promise<void>) => void }) {
  const root = await tempFolder(t);
  const folder = join(root, 'survey');
  await paintSurvey(folder, 24, { width: 320, height: 320, blockRows: 2, blockColumns: 2, tow: true });
  await writeFile(join(folder, 'notes.jpg'), 'not a photo');
  const sim = await startSimulator({ burst: { limit: 600, periodMs: 60_000 } });
  t.after(() => sim.close());
  const summary = await runSurvey({
    apiUrl: sim.url,
    token: sim.token,
    classifierId: 1,
    source: folder,
    points: 'grid:3x3',
    out: join(root, 'results.csv'),
    ndjson: join(root, 'results.ndjson'),
    windows: [{ limit: 600, periodMs: 60_000 }],
    chunkFlushMs: 20,
  });
  return { root, folder, summary };
}

test('overlay codes stay inside the photo and clear of each other; one with no room is left out, its ring kept', async () => {
  const { pointsLayer } = await import('../src/report/overlay.js');
  const colours = labelColours(['CORAL', 'SAND', 'TURF']);
  // Points at the right edge, at the top, and three side by side.
  const points = [
    { row: 100, column: 598, label: 'CORAL' },
    { row: 2, column: 300, label: 'SAND' },
    { row: 200, column: 100, label: 'TURF' },
    { row: 200, column: 112, label: 'CORAL' },
    { row: 200, column: 124, label: 'SAND' },
  ];
  const svg = pointsLayer(600, 400, points, colours);
  const { font } = ringSize(600, 400);
  const texts = [...svg.matchAll(/<text x="([\d.-]+)" y="([\d.-]+)" text-anchor="(\w+)"[^>]*>(\w+)<\/text>/g)].map(([, x, y, anchor, label]) => {
    const w = font * 0.65 * label!.length;
    const left = anchor === 'start' ? Number(x) : anchor === 'end' ? Number(x) - w : Number(x) - w / 2;
    return { label, box: [left, Number(y) - font, left + w, Number(y)] as const };
  });
  assert.equal((svg.match(/<circle /g) ?? []).length, 2 * points.length, 'every ring drawn');
  for (const { box } of texts) assert.ok(box[0] >= 0 && box[2] <= 600 && box[1] >= -1 && box[3] <= 400, `inside: ${box.join()}`);
  for (let i = 0; i < texts.length; i++) {
    for (let j = i + 1; j < texts.length; j++) {
      const [a, b] = [texts[i]!.box, texts[j]!.box];
      assert.ok(!(a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3]), `${texts[i]!.label} and ${texts[j]!.label} overlap`);
    }
  }
  assert.ok(texts.length >= 4, `${texts.length} codes placed`);
  // Nor over another point's ring.
  const reach = ringSize(600, 400).radius + ringSize(600, 400).stroke;
  for (const { label, box } of texts) {
    const over = points.filter(({ row, column }) => column - reach < box[2] && box[0] < column + reach && row - reach < box[3] && box[1] < row + reach);
    assert.ok(over.length <= 1, `${label} is over ${over.length} rings`);
  }
});

test('a photo drawn smaller (the gallery) gets marks sized for the smaller picture', async (t) => {
  const root = await tempFolder(t);
  const file = join(root, 'big.png');
  await sharp({ create: { width: 4000, height: 3000, channels: 3, background: '#808080' } }).png().toFile(file);
  const jpeg = await drawPoints(file, [{ row: 1500, column: 2000, label: '' }], new Map([['', '#ff0000']]), { maxWidth: 480 });
  const { data, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
  assert.equal(info.width, 480);
  let [minColumn, maxColumn] = [Infinity, -Infinity];
  for (let i = 0; i < info.width * info.height; i++) {
    const [r, g, b] = [data[i * 3]!, data[i * 3 + 1]!, data[i * 3 + 2]!];
    if (r > 150 && r - g > 80 && r - b > 80) [minColumn, maxColumn] = [Math.min(minColumn, i % info.width), Math.max(maxColumn, i % info.width)];
  }
  // A ring of at least 8 pixels' radius as shown (drawn for the 4000-pixel photo it would be 6).
  assert.ok(maxColumn - minColumn >= 16, `ring ${maxColumn - minColumn} pixels across`);
});

test('the report map names each site at the middle of its photos', async (t) => {
  const root = await tempFolder(t);
  const line = (name: string, latitude: number, longitude: number): string =>
    JSON.stringify({ name, latitude, longitude, width: 10, height: 10, points: [{ row: 1, column: 1, classifications: [{ label_code: 'CORAL', score: 1 }] }] });
  // Two sites 5 km apart, three photos each along a short tow.
  const lines = [0, 1, 2].flatMap((i) => [line(`north/IMG_${i}.jpg`, -17.45, 149.75 + i * 0.0002), line(`south/IMG_${i}.jpg`, -17.495, 149.75 + i * 0.0002)]);
  await writeFile(join(root, 'results.ndjson'), `${lines.join('\n')}\n`);
  const html = await readFile(await writeReport({ input: join(root, 'results.ndjson'), out: join(root, 'report'), samples: 1 }), 'utf8');
  const sites = [...html.matchAll(/<text class="site" x="([\d.]+)" y="([\d.]+)"[^>]*>(\w+)<\/text>/g)].map(([, x, y, site]) => ({ site, x: Number(x), y: Number(y) }));
  assert.deepEqual(sites.map((s) => s.site).sort(), ['north', 'south']);
  assert.ok(sites.find((s) => s.site === 'north')!.y < sites.find((s) => s.site === 'south')!.y, 'north is above south');
  // Axes: the extreme longitudes under the photos, the extreme latitudes beside them.
  const axes = /<g id="axes"[^>]*>(.*?)<\/g>/.exec(html)![1]!;
  assert.deepEqual([...axes.matchAll(/>([^<]+)<\/text>/g)].map((m) => m[1]), ['149.75° E', '149.7504° E', '17.495° S', '17.45° S']);
});

test('label colours are chosen by the code: the same whatever the order or frequency, distinct within a survey', () => {
  const codes = ['TURF', 'CORAL', 'SAND', 'CCA', 'MA'];
  const colours = labelColours(codes);
  assert.deepEqual([...labelColours([...codes].reverse())].sort(), [...colours].sort());
  assert.equal(new Set(colours.values()).size, codes.length);
  // A code's colour does not move when codes it shares no slot with come and go.
  assert.equal(labelColours(['TURF']).get('TURF'), labelColours(['TURF', 'CORAL']).get('TURF'));
});

test('overlays: a ring in the label colour at each point, the point itself left visible, sizes scaled to the image', async (t) => {
  const root = await tempFolder(t);
  const file = join(root, 'sand.png');
  await sharp({ create: { width: 1800, height: 1200, channels: 3, background: '#F5DEB3' } }).png().toFile(file);
  const colours = labelColours(['SAND', 'CORAL']);
  const { radius, stroke } = ringSize(1800, 1200);
  assert.deepEqual({ radius, stroke }, { radius: 20, stroke: 5 });
  assert.deepEqual(ringSize(600, 300), { radius: 6, stroke: 2, font: 8 });
  assert.deepEqual(ringSize(4000, 3000), { radius: 50, stroke: 13, font: 70 });
  const drawn = await drawPoints(file, [{ row: 300, column: 400, label: 'CORAL' }], colours);
  const { data, info } = await sharp(drawn).raw().toBuffer({ resolveWithObject: true });
  const pixel = (row: number, column: number) => [...data.subarray((row * info.width + column) * 3, (row * info.width + column) * 3 + 3)];
  const near = (a: number[], hex: string) => {
    const b = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
    return a.every((v, i) => Math.abs(v - b[i]!) < 40);
  };
  assert.ok(near(pixel(300, 400), '#F5DEB3'), `centre stays the photo: ${pixel(300, 400).join()}`);
  assert.ok(near(pixel(300, 400 - radius), colours.get('CORAL')!), `ring on the left: ${pixel(300, 400 - radius).join()}`);
  assert.ok(near(pixel(300 - radius, 400), colours.get('CORAL')!), `ring above: ${pixel(300 - radius, 400).join()}`);
  assert.ok(near(pixel(300, 400 - radius - stroke - 4), '#F5DEB3'), 'outside the ring stays the photo');
});

test('reefstream overlay: every annotated photo drawn, by its name', async (t) => {
  const { root, folder } = await annotatedSurvey(t);
  const { drawn, missing } = await writeOverlays({ input: join(root, 'results.ndjson'), images: folder, out: join(root, 'overlays') });
  assert.equal(drawn, 24);
  assert.deepEqual(missing, []);
  const meta = await sharp(join(root, 'overlays', 'IMG_0001.jpg')).metadata();
  assert.deepEqual([meta.width, meta.height], [320, 320]);
});

test('report --groups: the cover chart stacks label groups, and the points in no group', async (t) => {
  const { root, folder } = await annotatedSurvey(t);
  await writeFile(join(root, 'groups.csv'), 'code,group\nCORAL,Live coral\nCCA,Live coral\nMA,Algae\nTURF,Algae\n');
  const cli = fileURLToPath(new URL('../src/cli.js', import.meta.url));
  const result = spawnSync(process.execPath, [cli, 'report', '--in', join(root, 'results.ndjson'), '--out', join(root, 'grouped'), '--images', folder, '--samples', '2', '--groups', join(root, 'groups.csv')], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  const html = await readFile(join(root, 'grouped', 'index.html'), 'utf8');
  const legend = /<ul class="legend" id="group-legend">(.*?)<\/ul>/.exec(html)?.[1] ?? '';
  assert.deepEqual([...legend.matchAll(/<\/span>([^<]+)<\/li>/g)].map((m) => m[1]), ['Algae', 'Live coral', 'in no group']);
  // Each bar's groups add up to the whole bar.
  const bar = /<g class="bar"[^>]*>(.*?)<\/g>/.exec(html)![1]!;
  const shares = [...bar.matchAll(/data-label="([^"]+)"><title>[^<]*: [^<]* ([\d.]+) %<\/title>/g)].map((m) => [m[1], Number(m[2])] as const);
  assert.ok(shares.every(([label]) => ['Algae', 'Live coral', 'in no group'].includes(label!)), JSON.stringify(shares));
  assert.ok(Math.abs(shares.reduce((sum, [, share]) => sum + share, 0) - 100) < 0.5, JSON.stringify(shares));
});

test('the report: summary, failures, cover per window, map, labels and gallery carry their data', async (t) => {
  const { root, folder, summary } = await annotatedSurvey(t);
  const file = await writeReport({ input: join(root, 'results.ndjson'), out: join(root, 'report'), images: folder, samples: 6 });
  const html = await readFile(file, 'utf8');
  const data = JSON.parse(/<script type="application\/json" id="report-data">(.*?)<\/script>/s.exec(html)![1]!) as {
    images: number;
    points: number;
    failed: number;
    labels: Record<string, number>;
    cover: Array<{ key: string; images: number }>;
    map: number;
    gallery: number;
  };
  assert.equal(data.images, 24);
  assert.equal(data.points, 24 * 9);
  assert.equal(data.failed, 1);
  assert.equal(Object.values(data.labels).reduce((a, b) => a + b, 0), 24 * 9);
  assert.deepEqual(data.cover.map((c) => [c.key, c.images]), [['2024-03-05T09:00:00', 24]]);
  assert.equal(data.map, 24);
  assert.equal(data.gallery, 6);
  assert.match(html, /<td>is not an image that can be read \(JPEG, PNG, TIFF or WebP\)<\/td><td>1<\/td>/);
  assert.match(html, new RegExp(`<b>${Math.round(summary.imagesPerMinute).toLocaleString('en')}</b>images per minute`));
  assert.equal((html.match(/<circle /g) ?? []).length, 24);
  // The legend's colours are the codes' own, as in the overlays.
  const swatches = [...html.matchAll(/<li><span class="swatch" style="background:(#[0-9A-Fa-f]{6})"><\/span>(\w+)<\/li>/g)].map(([, colour, code]) => [code!, colour!] as const);
  const legend = new Map(swatches);
  assert.deepEqual(legend, labelColours(legend.keys()));
  // A scale bar of a round length (1, 2 or 5 × 10ⁿ m), about a fifth of the map's width.
  const bar = /<g id="scale-bar" data-metres="(\d+)"><line x1="([\d.]+)" x2="([\d.]+)"[^>]*\/><text[^>]*>([^<]+)<\/text><\/g>/.exec(html);
  assert.ok(bar, 'a scale bar');
  const [metres, x1, x2, label] = [Number(bar[1]), Number(bar[2]), Number(bar[3]), bar[4]];
  assert.match(String(metres), /^[125]0*$/);
  assert.equal(label, metres >= 1000 ? `${metres / 1000} km` : `${metres} m`);
  assert.ok(x2 - x1 > 48 && x2 - x1 <= 120, `${x2 - x1} pixels`);
  // South and west written as such; a short run in seconds; the file's name, not its path.
  assert.match(html, /149\.75\d*° E to 149\.75\d*° E, 17\.5\d*° S to 17\.4\d*° S<\/text>/);
  assert.match(html, /<div><b>\d+ s<\/b>time taken<\/div>/);
  assert.match(html, /<title>reefstream report — results\.ndjson<\/title>/);
  assert.ok(!/https?:\/\/(?!www\.w3\.org)/.test(html.replace(/<title>.*?<\/title>/g, '')), 'no network address the page would load');
});

test('the report in a real browser: it renders, charts have their data, every photo decodes, no console errors', { skip: CHROMIUM === undefined && 'no Chromium installed (apt-get install chromium): browser test skipped' }, async (t) => {
  const { root, folder } = await annotatedSurvey(t);
  const file = await writeReport({ input: join(root, 'results.ndjson'), out: join(root, 'report'), images: folder, samples: 6 });
  const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${join(root, 'chromium')}`, '--enable-logging=stderr', '--v=0', '--virtual-time-budget=5000'];
  const dom = spawnSync(CHROMIUM!, [...flags, '--dump-dom', `file://${file}`], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(dom.status, 0, dom.stderr);
  assert.match(dom.stdout, /<body data-broken-images="0" data-ready="yes">/);
  assert.equal((dom.stdout.match(/<g class="bar"/g) ?? []).length, 1);
  assert.equal((/<svg id="map"[^>]*>(.*?)<\/svg>/s.exec(dom.stdout)![1]!.match(/<circle /g) ?? []).length, 24);
  assert.equal((dom.stdout.match(/<img alt=/g) ?? []).length, 6);
  const consoleLines = dom.stderr.split('\n').filter((line) => /CONSOLE|Uncaught|Failed to load resource/.test(line));
  assert.deepEqual(consoleLines, []);
  const shot = join(root, 'report.png');
  const screenshot = spawnSync(CHROMIUM!, [...flags, '--window-size=1100,1400', `--screenshot=${shot}`, `file://${file}`], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(screenshot.status, 0, screenshot.stderr);
  const stats = await sharp(shot).stats();
  assert.ok(stats.channels.some((c) => c.stdev > 20), 'the screenshot shows more than a blank page');
  // An overlay, as a browser shows it: the photo's size, a ring in its label's colour over a point.
  await writeOverlays({ input: join(root, 'results.ndjson'), images: folder, out: join(root, 'overlays') });
  const overlayShot = join(root, 'overlay.png');
  const page = join(root, 'overlay.html');
  await writeFile(page, `<!doctype html><html><body style="margin:0;overflow:hidden"><img style="display:block" src="overlays/IMG_0001.jpg"></body></html>`);
  const shown = spawnSync(CHROMIUM!, [...flags, '--hide-scrollbars', '--window-size=320,320', `--screenshot=${overlayShot}`, `file://${page}`], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(shown.status, 0, shown.stderr);
  const [inBrowser, drawn] = await Promise.all([sharp(overlayShot).raw().toBuffer({ resolveWithObject: true }), sharp(join(root, 'overlays', 'IMG_0001.jpg')).raw().toBuffer({ resolveWithObject: true })]);
  const differ = inBrowser.data.reduce((n, value, i) => n + (Math.abs(value - drawn.data[i]!) > 48 ? 1 : 0), 0);
  assert.ok(differ / drawn.data.length < 0.02, `the browser shows the overlay as drawn (${differ} values differ)`);
});

test('the report with a review: the confidence curve with its chosen threshold and the confusion matrix, in a real browser', { skip: CHROMIUM === undefined && 'no Chromium installed (apt-get install chromium): browser test skipped' }, async (t) => {
  const { root, folder } = await annotatedSurvey(t);
  const ndjson = join(root, 'results.ndjson');
  const lines = (await readFile(ndjson, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { name: string; points: Array<{ row: number; column: number; classifications: Array<{ label_code: string; score: number }> }> });
  // Reviewers agree with the machine except on the least sure point of every other image.
  const codes = [...new Set(lines.flatMap((l) => l.points.map((p) => p.classifications[0]!.label_code)))].sort();
  const categories = [...codes, 'RUBBLE'].map((name, i) => ({ id: i + 1, name }));
  const idOf = (code: string) => categories.find((c) => c.name === code)!.id;
  const annotations = lines.flatMap((line, i) => {
    const least = line.points.reduce((a, p, k) => (p.classifications[0]!.score < line.points[a]!.classifications[0]!.score ? k : a), 0);
    return line.points.map((p, k) => ({ image_id: i + 1, category_id: idOf(i % 2 === 0 && k === least ? 'RUBBLE' : p.classifications[0]!.label_code), keypoints: [p.column, p.row, 2] }));
  });
  const human = join(root, 'reviewed.json');
  await writeFile(human, JSON.stringify({ images: lines.map((l, i) => ({ id: i + 1, file_name: l.name })), categories, annotations }));
  const agreementOut = join(root, 'agreement');
  const cli = fileURLToPath(new URL('../src/cli.js', import.meta.url));
  const compare = spawnSync(process.execPath, [cli, 'review', 'compare', '--human', human, '--results', ndjson, '--out', agreementOut, '--target', '95'], { encoding: 'utf8' });
  assert.equal(compare.status, 0, compare.stderr);
  const agreement = JSON.parse(await readFile(`${agreementOut}.json`, 'utf8')) as { matched: number; confidence: { overall: { chosen: { threshold: number } | null } }; confusion: { labels: string[] } };
  const chosen = agreement.confidence.overall.chosen;
  assert.ok(chosen !== null, 'the flipped points are the least sure: a threshold above them reaches the target');

  const file = await writeReport({ input: ndjson, out: join(root, 'report'), images: folder, samples: 2, agreement: agreementOut });
  const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${join(root, 'chromium')}`, '--enable-logging=stderr', '--v=0', '--virtual-time-budget=5000'];
  const dom = spawnSync(CHROMIUM!, [...flags, '--dump-dom', `file://${file}`], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(dom.status, 0, dom.stderr);
  assert.match(dom.stdout, /<body data-broken-images="0" data-ready="yes">/);
  assert.match(dom.stdout, /<svg id="confidence-curve"[^>]* data-thresholds="101"/);
  assert.match(dom.stdout, new RegExp(`<g id="chosen" data-threshold="${chosen.threshold}">`));
  assert.match(dom.stdout, /<path id="accuracy-line" d="M[\d.]+,[\d.]+(L[\d.]+,[\d.]+)+"/);
  const cells = [...dom.stdout.matchAll(/<g class="cell" data-human="([^"]+)" data-machine="([^"]+)" data-count="(\d+)">/g)];
  const n = agreement.confusion.labels.length;
  assert.equal(cells.length, n * n);
  assert.equal(cells.reduce((sum, c) => sum + Number(c[3]), 0), agreement.matched);
  assert.equal(cells.filter((c) => c[1] === 'RUBBLE').reduce((sum, c) => sum + Number(c[3]), 0), 12, 'one flipped point in each of 12 images');
  assert.deepEqual(dom.stderr.split('\n').filter((line) => /CONSOLE|Uncaught|Failed to load resource/.test(line)), []);
  const shot = join(root, 'review.png');
  const screenshot = spawnSync(CHROMIUM!, [...flags, '--window-size=1100,2600', `--screenshot=${shot}`, `file://${file}`], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(screenshot.status, 0, screenshot.stderr);
  // The curve's two lines are drawn in their colours on the page.
  const { data, info } = await sharp(shot).raw().toBuffer({ resolveWithObject: true });
  const near = (rgb: [number, number, number]) => {
    let n = 0;
    for (let i = 0; i < data.length; i += info.channels) if (Math.abs(data[i]! - rgb[0]) + Math.abs(data[i + 1]! - rgb[1]) + Math.abs(data[i + 2]! - rgb[2]) < 40) n++;
    return n;
  };
  assert.ok(near([0x1f, 0x6f, 0xb4]) > 500 && near([0xd9, 0x82, 0x2b]) > 500, 'both lines of the curve are on the page');
});
