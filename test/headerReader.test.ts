import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import sharp from 'sharp';
import { paintImage, towExif } from '../src/demo/syntheticSurvey.js';
import { HeaderReader } from '../src/images/headerReader.js';
import { jpegFields } from '../src/images/photoFields.js';
import { probeImage } from '../src/images/probe.js';
import { HelperThread } from '../src/util/helperThread.js';
import { tempFolder } from './helpers.js';

const canvas = (width: number, height: number) => sharp({ create: { width, height, channels: 3, background: '#3a7' } });

test('header thread: many photos asked at once, each answered with its own size and EXIF, as the main thread reads them', async (t) => {
  const root = await tempFolder(t);
  const jpegs: Array<{ path: string; width: number; height: number; orientation?: number }> = [];
  // 90 sizes, every third tagged with EXIF orientation 6: a mix-up between photos, batches or tags shows.
  for (let i = 0; i < 90; i++) {
    const path = join(root, `IMG_${i}.jpg`);
    const turned = i % 3 === 0;
    const image = canvas(100 + i, 40 + i).jpeg();
    await (turned ? image.withMetadata({ orientation: 6 }) : image).toFile(path);
    jpegs.push({ path, width: 100 + i, height: 40 + i, ...(turned ? { orientation: 6 } : {}) });
  }
  for (const i of [1, 2]) {
    const path = join(root, `tow_${i}.jpg`);
    await paintImage(path, { width: 160, height: 120, exif: towExif(i) });
    jpegs.push({ path, width: 160, height: 120 });
  }
  await canvas(30, 20).png().toFile(join(root, 'plain.png'));
  await writeFile(join(root, 'empty.jpg'), '');
  await writeFile(join(root, 'notes.jpg'), 'field notes, not a photo');

  const reader = new HeaderReader();
  assert.equal(await reader.thread.whenReady(), true);
  const answers = await Promise.all(jpegs.map(({ path }) => reader.fieldsOf(path)));
  for (const [i, { path, width, height, orientation }] of jpegs.entries()) {
    const inProcess = await jpegFields(await readFile(path));
    assert.deepEqual(answers[i], inProcess, path);
    assert.deepEqual([answers[i]?.width, answers[i]?.height, answers[i]?.orientation], [width, height, orientation], path);
  }
  assert.deepEqual(answers.at(-1), { width: 160, height: 120, dateTimeOriginal: '2024:03:05 09:00:01', latitude: answers.at(-1)?.latitude, longitude: 149.7501 });
  assert.ok(Math.abs(answers.at(-1)!.latitude! - towExif(2).latitude!) < 1e-6);

  // What the thread cannot read it leaves to the main thread, which says why.
  for (const name of ['plain.png', 'empty.jpg', 'notes.jpg', 'missing.jpg']) assert.equal(await reader.fieldsOf(join(root, name)), undefined, name);
  assert.deepEqual(await probeImage({ name: 'plain.png', path: join(root, 'plain.png') }), { name: 'plain.png', path: join(root, 'plain.png'), width: 30, height: 20 });
  await assert.rejects(probeImage({ name: 'empty.jpg', path: join(root, 'empty.jpg') }), /is an empty file/);
  await assert.rejects(probeImage({ name: 'missing.jpg', path: join(root, 'missing.jpg') }), /ENOENT/);
});

test('a helper thread that cannot start leaves the work to its callers, and does not hold the process', async (t) => {
  const root = await tempFolder(t);
  const missing = new HelperThread<string[], string[]>(pathToFileURL(join(root, 'no-such-thread.js')));
  assert.equal(await missing.whenReady(), false);
  assert.equal(missing.ready, false);
  assert.equal(await missing.ask(['IMG_0001.JPG']), undefined);
  assert.equal(missing.inFlight, 0);
});
