import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fetch } from 'undici';
import { paintedLabel, paintSurvey } from '../src/demo/syntheticSurvey.js';
import { runSurvey } from '../src/flow/runSurvey.js';
import type { ImageRef } from '../src/model.js';
import { startSimulator } from '../src/simulator/server.js';
import { directLink, dropbox, DropboxError } from '../src/sources/dropbox.js';
import { startDropboxDouble, type DropboxDoubleOptions } from './peers/dropbox.js';
import { reefstreamCli, tempFolder } from './helpers.js';

/** A Dropbox with /Surveys/site1: 7 photos, a note, and a subfolder `tow2` with 3 photos. */
async function surveyDropbox(t: { after: (fn: () => Promise<void>) => void }, options: Omit<DropboxDoubleOptions, 'root'> = {}) {
  const root = await tempFolder(t);
  const site = join(root, 'Surveys', 'site1');
  const painted = [
    ...(await paintSurvey(site, 7, { width: 160, height: 120, blockRows: 2, blockColumns: 2, tow: true })),
    ...(await paintSurvey(join(site, 'tow2'), 3, { width: 160, height: 120, blockRows: 2, blockColumns: 2, seed: 'tow2' })).map((p) => ({ ...p, name: `tow2/${p.name}` })),
  ];
  await writeFile(join(site, 'notes.txt'), 'tide 1.2 m');
  await mkdir(join(root, 'Surveys', 'empty'), { recursive: true });
  const double = await startDropboxDouble({ root, ...options });
  t.after(() => double.close());
  return { root, double, painted };
}

async function all(source: AsyncIterable<ImageRef>): Promise<ImageRef[]> {
  const images: ImageRef[] = [];
  for await (const image of source) images.push(image);
  return images;
}

const expectedNames = ['IMG_0001.jpg', 'IMG_0002.jpg', 'IMG_0003.jpg', 'IMG_0004.jpg', 'IMG_0005.jpg', 'IMG_0006.jpg', 'IMG_0007.jpg', 'tow2/IMG_0001.jpg', 'tow2/IMG_0002.jpg', 'tow2/IMG_0003.jpg'];

test('dropbox: pages until has_more is false (empty pages included), a dead cursor lists again, subfolders walked, images only, in name order', async (t) => {
  const { double } = await surveyDropbox(t, { emptyPages: true, resetOnce: true, reverseOrder: true });
  const images = await all(dropbox({ token: double.token, path: '/Surveys/site1', pageSize: 3, apiUrl: double.url }));
  assert.deepEqual(images.map((i) => i.name), expectedNames);
  assert.ok((double.stats.calls['files/list_folder/continue'] ?? 0) >= 4, JSON.stringify(double.stats.calls));
  assert.equal(double.stats.calls['files/list_folder'], 3, 'site1 twice (after the reset), tow2 once');
  for (const image of images) {
    const url = new URL(image.url!);
    assert.equal(url.searchParams.get('dl'), '1');
    assert.match(url.searchParams.get('rlkey') ?? '', /^rk\d+q$/);
  }
  const flat = await all(dropbox({ token: double.token, path: '/Surveys/site1/', recursive: false, apiUrl: double.url }));
  assert.equal(flat.length, 7);
});

test('dropbox: links are made as images are pulled; an existing link is found, with or without metadata; it downloads the photo', async (t) => {
  const { root, double } = await surveyDropbox(t);
  double.share('/Surveys/site1/IMG_0002.jpg', true);
  const bare = double.share('/Surveys/site1/IMG_0003.jpg', false);
  const iterator = dropbox({ token: double.token, path: '/Surveys/site1', apiUrl: double.url })[Symbol.asyncIterator]();
  const first = await iterator.next();
  assert.equal(double.stats.linksCreated, 1, 'one image pulled, one link');
  const rest: ImageRef[] = [];
  for (let next = await iterator.next(); !next.done; next = await iterator.next()) rest.push(next.value);
  assert.equal(rest.length, 9);
  assert.equal(double.stats.linksCreated, 8, 'two links existed');
  assert.equal(double.stats.calls['sharing/list_shared_links'], 1, 'looked up only when the 409 had no metadata');
  assert.equal(rest[1]!.url, directLink(bare));
  const bytes = Buffer.from(await (await fetch(rest[1]!.url)).arrayBuffer());
  assert.deepEqual(bytes, await readFile(join(root, 'Surveys', 'site1', 'IMG_0003.jpg')));
  const preview = await (await fetch(bare)).text();
  assert.match(preview, /preview/, 'the link as shared (dl=0) is a web page, not the photo');
  assert.ok(first.value);
});

test('directLink sets dl=1 and keeps rlkey and the rest', () => {
  assert.equal(directLink('https://www.dropbox.com/scl/fi/abc123/IMG_1.JPG?rlkey=xyz789&dl=0'), 'https://www.dropbox.com/scl/fi/abc123/IMG_1.JPG?rlkey=xyz789&dl=1');
  assert.equal(directLink('https://www.dropbox.com/s/abc/IMG_1.JPG?raw=1'), 'https://www.dropbox.com/s/abc/IMG_1.JPG?dl=1');
  assert.equal(directLink('https://www.dropbox.com/s/abc/IMG_1.JPG'), 'https://www.dropbox.com/s/abc/IMG_1.JPG?dl=1');
});

test('dropbox: 429 waits out Retry-After; an expired token is renewed once with the refresh token', async (t) => {
  const { double } = await surveyDropbox(t, { throttleCalls: [2], tokenLifetimeCalls: 4 });
  const images = await all(dropbox({ refreshToken: double.refreshToken, appKey: double.appKey, path: '/Surveys/site1', apiUrl: double.url }));
  assert.deepEqual(images.map((i) => i.name), expectedNames);
  assert.equal(double.stats.throttled, 1);
  assert.ok(double.stats.renewals >= 3, `${double.stats.renewals} renewals`);
});

test('dropbox: an expired token without a refresh token, a wrong token, a missing folder: one clear error, no token in it', async (t) => {
  const { double } = await surveyDropbox(t, { tokenLifetimeCalls: 1 });
  const token = double.token;
  await assert.rejects(all(dropbox({ token, path: '/Surveys/site1', apiUrl: double.url })), (error: unknown) => {
    assert.ok(error instanceof DropboxError);
    assert.match(error.message, /^Dropbox refused the token \(expired_access_token\): give a valid DROPBOX_TOKEN, or DROPBOX_REFRESH_TOKEN with DROPBOX_APP_KEY/);
    assert.ok(!error.message.includes(token));
    return true;
  });
  await assert.rejects(all(dropbox({ token: 'sl.wrong', path: '/Surveys/site1', apiUrl: double.url })), /refused the token \(invalid_access_token\)/);
  const fresh = await surveyDropbox(t);
  await assert.rejects(all(dropbox({ token: fresh.double.token, path: '/Surveys/site9', apiUrl: fresh.double.url })), /^DropboxError: The Dropbox folder \/Surveys\/site9 does not exist/);
  await assert.rejects(all(dropbox({ token: 'x', path: '/a', apiUrl: 'http://dropbox.example/' })), /plain http: a token is sent only over https/);
  await assert.rejects(all(dropbox({ path: '/a', apiUrl: fresh.double.url })), /needs an access token \(DROPBOX_TOKEN\)/);
});

test('a survey from a Dropbox folder through the simulator: probed from the first bytes of each link, every point labelled as painted', async (t) => {
  const { double, painted } = await surveyDropbox(t);
  const sim = await startSimulator({ burst: { limit: 600, periodMs: 60_000 }, sustained: { limit: 6000, periodMs: 3_600_000 } });
  t.after(() => sim.close());
  const folder = await tempFolder(t);
  for (const links of ['shared', 'temporary'] as const) {
    const out = join(folder, `${links}.csv`);
    const summary = await runSurvey({
      apiUrl: sim.url,
      token: sim.token,
      classifierId: 1,
      source: dropbox({ token: double.token, path: '/Surveys/site1', apiUrl: double.url, links }),
      points: 'stratified:2x2x1',
      out,
      ndjson: out.replace('.csv', '.ndjson'),
      chunkFlushMs: 50,
    });
    assert.equal(summary.annotated, 10, links);
    const lines = (await readFile(out.replace('.csv', '.ndjson'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as { name: string; width: number; dateTimeOriginal?: string; points: Array<{ row: number; column: number; classifications: Array<{ label_code: string }> }> });
    assert.deepEqual(lines.map((l) => l.name), expectedNames);
    for (const line of lines) {
      const image = painted.find((p) => p.name === line.name)!;
      assert.equal(line.width, 160);
      for (const point of line.points) assert.equal(point.classifications[0]!.label_code, paintedLabel(image, point.row, point.column), `${line.name} ${links}`);
    }
    assert.ok(lines[0]!.dateTimeOriginal, 'EXIF read from the link');
  }
  // The client read the first bytes of each photo (Range); the server downloaded each whole.
  const ranged = double.stats.downloads.filter((d) => d.range !== undefined);
  assert.equal(ranged.length, 20);
  assert.ok(ranged.every((d) => d.range === 'bytes=0-65535'));
  assert.equal(double.stats.downloads.length - ranged.length, 20);
});

test('reefstream run --source dropbox:/Surveys/site1, credentials from the environment', async (t) => {
  const { double } = await surveyDropbox(t);
  const sim = await startSimulator({ burst: { limit: 600, periodMs: 60_000 }, sustained: { limit: 6000, periodMs: 3_600_000 } });
  t.after(() => sim.close());
  const out = join(await tempFolder(t), 'results.csv');
  const args = ['run', '--api', sim.url, '--user', sim.username, '--classifier', '1', '--source', 'dropbox:/Surveys/site1', '--dropbox-api', double.url, '--points', 'random:5', '--out', out, '--burst', '600/60s', '--sustained', '6000/1h'];
  const withoutToken = await reefstreamCli(args, { CORALNET_TOKEN: sim.token });
  assert.equal(withoutToken.status, 2);
  assert.match(withoutToken.stderr, /^reefstream run: --source dropbox:… needs DROPBOX_TOKEN, or DROPBOX_REFRESH_TOKEN with DROPBOX_APP_KEY/);
  const run = await reefstreamCli(args, { CORALNET_TOKEN: sim.token, DROPBOX_TOKEN: double.token });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /^10 images: 10 annotated, 0 failed/);
  assert.ok(!run.stdout.includes(double.token) && !run.stderr.includes(double.token));
  assert.equal((await readFile(out, 'utf8')).trim().split('\n').length, 1 + 10 * 5);
});

test('reefstream run from Dropbox: a file Dropbox refuses to share, links the public cannot open, a HEIC: an errors line each, the rest annotated, exit 3', async (t) => {
  const { root, double } = await surveyDropbox(t, { deniedPaths: ['/surveys/site1/img_0004.jpg'] });
  double.share('/Surveys/site1/IMG_0002.jpg', true, 'team_only');
  double.share('/Surveys/site1/IMG_0003.jpg', false, 'password');
  await writeFile(join(root, 'Surveys', 'site1', 'IMG_0008.HEIC'), 'heic');
  const sim = await startSimulator({ burst: { limit: 600, periodMs: 60_000 }, sustained: { limit: 6000, periodMs: 3_600_000 } });
  t.after(() => sim.close());
  const out = join(await tempFolder(t), 'results.csv');
  const run = await reefstreamCli(
    ['run', '--api', sim.url, '--classifier', '1', '--source', 'dropbox:/Surveys/site1', '--dropbox-api', double.url, '--points', 'random:5', '--out', out, '--burst', '600/60s', '--sustained', '6000/1h'],
    { CORALNET_TOKEN: sim.token, DROPBOX_TOKEN: double.token },
  );
  assert.equal(run.status, 3, run.stderr);
  assert.match(run.stdout, /^11 images: 7 annotated, 4 failed \(1 its shared link is for "team" only, so CoralNet cannot download it, 1 its shared link is for "password" only, so CoralNet cannot download it, 1 Dropbox refused to share it \(access_denied\), 1 is a HEIC file, which CoralNet cannot read\)$/m);
  const errors = (await readFile(out.replace('.csv', '.errors.ndjson'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as { name: string; reason: string });
  assert.deepEqual(errors.map((e) => e.name), ['IMG_0002.jpg', 'IMG_0003.jpg', 'IMG_0004.jpg', 'IMG_0008.HEIC']);
  assert.match(errors[0]!.reason, /^\/surveys\/site1\/img_0002\.jpg: its shared link is for "team" only, so CoralNet cannot download it: open its sharing settings in Dropbox and make the link public/);
  assert.match(errors[1]!.reason, /^\/surveys\/site1\/img_0003\.jpg: its shared link is for "password" only/);
  assert.match(errors[2]!.reason, /^\/surveys\/site1\/img_0004\.jpg: Dropbox refused to share it \(access_denied\): the folder's or the team's settings allow no links; share it by hand, or use --dropbox-links temporary\.$/);
  assert.match(errors[3]!.reason, /IMG_0008\.HEIC is a HEIC file, which CoralNet cannot read: convert it to JPEG/);
  const rows = (await readFile(out, 'utf8')).trim().split('\n').slice(1).map((line) => line.split(',')[0]);
  assert.deepEqual([...new Set(rows)], ['IMG_0001.jpg', 'IMG_0005.jpg', 'IMG_0006.jpg', 'IMG_0007.jpg', 'tow2/IMG_0001.jpg', 'tow2/IMG_0002.jpg', 'tow2/IMG_0003.jpg']);
});
