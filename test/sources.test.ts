import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { probeImage, ImageProbeError } from '../src/images/probe.js';
import { listImages } from '../src/operators/listImages.js';
import { isFailed } from '../src/operators/failures.js';
import { serveFolder } from '../src/sources/folderServer.js';
import { walkFolder } from '../src/sources/localFolder.js';
import { readUrlList } from '../src/sources/urlList.js';
import { paintImage, towExif } from '../src/demo/syntheticSurvey.js';
import { tempFolder } from './helpers.js';

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

test('a folder: images of every subfolder, by extension in any case, hidden files skipped', async (t) => {
  const root = await tempFolder(t);
  await mkdir(join(root, 'site2', 'transect 1'), { recursive: true });
  for (const name of ['a.JPG', 'b.png', 'notes.txt', '.hidden.jpg', 'site2/c.jpeg', 'site2/transect 1/d.jpg', 'site2/transect 1/e.MPO']) {
    await writeFile(join(root, name), 'x');
  }
  const names = (await collect(walkFolder(root))).map((i) => i.name).sort();
  assert.deepEqual(names, ['a.JPG', 'b.png', 'site2/c.jpeg', 'site2/transect 1/d.jpg', 'site2/transect 1/e.MPO']);
  // The same names from the folder written with a trailing slash or relative to here, each with its path.
  for (const written of [`${root}/`, relative(process.cwd(), root)]) {
    const images = await collect(walkFolder(written));
    assert.deepEqual(images.map((i) => i.name).sort(), names, written);
    for (const image of images) assert.equal(resolve(image.path!), join(root, image.name), written);
  }
  await assert.rejects(collect(walkFolder(join(root, 'missing'))), /Cannot read the folder .*missing \(ENOENT\): check that it exists/);
});

test('a URL list: one URL a line, comments and blank lines skipped; a line that is no URL is named', async (t) => {
  const root = await tempFolder(t);
  const file = join(root, 'urls.txt');
  await writeFile(file, '# lagoon tow 3\nhttps://example.org/s/IMG_0001.JPG?dl=1\n\nhttps://example.org/s/IMG%200002.JPG\n');
  assert.deepEqual(await collect(readUrlList(file)), [
    { name: 'IMG_0001.JPG', url: 'https://example.org/s/IMG_0001.JPG?dl=1' },
    { name: 'IMG 0002.JPG', url: 'https://example.org/s/IMG%200002.JPG' },
  ]);
  await writeFile(file, 'https://example.org/a.jpg\nC:\\photos\\b.jpg\n');
  await assert.rejects(collect(readUrlList(file)), /urls\.txt, line 2: "C:\\photos\\b\.jpg" is not an http\(s\) URL/);
});

test('a URL list as CSV: url, name and Aux columns', async (t) => {
  const root = await tempFolder(t);
  const file = join(root, 'urls.csv');
  await writeFile(file, 'name,URL,Aux1,Aux2\nplate1.jpg,https://example.org/1.jpg,site A,"deep, north"\n,https://example.org/2.jpg,,\n');
  assert.deepEqual(await collect(readUrlList(file)), [
    { name: 'plate1.jpg', url: 'https://example.org/1.jpg', aux: { Aux1: 'site A', Aux2: 'deep, north' } },
    { name: '2.jpg', url: 'https://example.org/2.jpg' },
  ]);
});

test('listImages pulls no further than its window: each image a ticket, given back once (a second give is passed by)', async (t) => {
  const { Credits, giveBack } = await import('../src/flow/credits.js');
  const { DEFAULT_WINDOW } = await import('../src/operators/listImages.js');
  let pulled = 0;
  function* refs(count: number) {
    for (let i = 0; i < count; i++) {
      pulled++;
      yield { name: `${i}.jpg`, url: `https://example.org/${i}.jpg` };
    }
  }
  const credits = new Credits(5);
  const seen: Array<{ name: string; ticket?: number }> = [];
  const subscription = listImages(refs(1000), { credits }).subscribe((image) => seen.push(image));
  t.after(() => subscription.unsubscribe());
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(seen.length, 5);
  assert.equal(pulled, 5);
  assert.equal(new Set(seen.map((image) => image.ticket)).size, 5);
  for (const image of seen.slice(0, 3)) giveBack({ ...image }); // a record spread along the pipe keeps its ticket
  for (const image of seen.slice(0, 3)) giveBack(image);
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(seen.length, 8);
  assert.equal(credits.inUse, 5);
  subscription.unsubscribe();
  // Without a window given, the default one: nothing written, nothing more pulled.
  pulled = 0;
  const listed: string[] = [];
  const unbounded = listImages(refs(5000)).subscribe((image) => listed.push(image.name));
  await new Promise((resolve) => setTimeout(resolve, 100));
  unbounded.unsubscribe();
  assert.deepEqual([listed.length, pulled], [DEFAULT_WINDOW, DEFAULT_WINDOW]);
});

test('probe: stored size and orientation tag, EXIF date and GPS, from a file and from the first bytes of a URL', async (t) => {
  const root = await tempFolder(t);
  await paintImage(join(root, 'tow.jpg'), { width: 320, height: 240, exif: towExif(61) });
  await sharp({ create: { width: 300, height: 200, channels: 3, background: '#228B22' } }).jpeg().withMetadata({ orientation: 6 }).toFile(join(root, 'turned.jpg'));
  const fromFile = await probeImage({ name: 'tow.jpg', path: join(root, 'tow.jpg') });
  const written = towExif(61);
  assert.deepEqual([fromFile.width, fromFile.height, fromFile.dateTimeOriginal], [320, 240, '2024:03:05 09:01:00']);
  assert.ok(Math.abs(fromFile.latitude! - written.latitude!) < 1e-6, `latitude ${fromFile.latitude} for ${written.latitude}`);
  assert.ok(Math.abs(fromFile.longitude! - written.longitude!) < 1e-6, `longitude ${fromFile.longitude} for ${written.longitude}`);
  const turned = await probeImage({ name: 'turned.jpg', path: join(root, 'turned.jpg') });
  assert.deepEqual([turned.width, turned.height, turned.orientation], [300, 200, 6], 'CoralNet reads the grid as stored');
  const served = await serveFolder(root);
  t.after(() => served.close());
  const fromUrl = await probeImage({ name: 'tow.jpg', url: served.urlOf('tow.jpg') });
  assert.deepEqual([fromUrl.width, fromUrl.height, fromUrl.dateTimeOriginal], [320, 240, '2024:03:05 09:01:00']);
  await assert.rejects(probeImage({ name: 'gone.jpg', url: served.urlOf('gone.jpg') }), (e: Error) => e.message === 'could not be read (HTTP 404)');
});

test('probe: empty, corrupt and non-image files are clear errors', async (t) => {
  const root = await tempFolder(t);
  await writeFile(join(root, 'empty.jpg'), '');
  await writeFile(join(root, 'notes.jpg'), 'field notes');
  const jpeg = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#000' } }).jpeg().toBuffer();
  await writeFile(join(root, 'cut.jpg'), jpeg.subarray(0, 20));
  await assert.rejects(probeImage({ name: 'empty.jpg', path: join(root, 'empty.jpg') }), (e: Error) => e instanceof ImageProbeError && e.message === 'is an empty file');
  await assert.rejects(probeImage({ name: 'notes.jpg', path: join(root, 'notes.jpg') }), /is not an image that can be read \(JPEG, PNG, TIFF or WebP\)/);
  await assert.rejects(probeImage({ name: 'cut.jpg', path: join(root, 'cut.jpg') }), /is not an image that can be read \(JPEG, PNG, TIFF or WebP\)/);
});

test('a URL list: a name given to two URLs names both lines; one URL named, then listed bare, is the same photo', async (t) => {
  const root = await tempFolder(t);
  const file = join(root, 'urls.csv');
  await writeFile(file, 'url,name\nhttps://example.org/T1/a.jpg,a.jpg\nhttps://example.org/T1/b.jpg,\nhttps://example.org/T1/a.jpg,\n');
  const images = await collect(readUrlList(file));
  assert.deepEqual(images.map((i) => [i.name, isFailed(i)]), [['a.jpg', false], ['b.jpg', false], ['a.jpg', true]]);
  await writeFile(file, 'url,name\nhttps://example.org/T1/a.jpg,x.jpg\nhttps://example.org/T2/a.jpg,y.jpg\nhttps://example.org/T3/a.jpg,x.jpg\n');
  await assert.rejects(collect(readUrlList(file)), /urls\.csv: lines 2 and 4 both name an image "x\.jpg"/);
});
