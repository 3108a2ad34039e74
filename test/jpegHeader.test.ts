import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { jpegHeader } from '../src/images/jpegHeader.js';
import { probeImage } from '../src/images/probe.js';
import { tempFolder } from './helpers.js';

const canvas = (width: number, height: number) => sharp({ create: { width, height, channels: 3, background: '#3a7' } });

test('jpegHeader: the stored size sharp reports, for baseline, progressive, EXIF and 4:2:0 JPEGs', async () => {
  const variants: Array<[string, Buffer]> = [
    ['baseline', await canvas(321, 123).jpeg().toBuffer()],
    ['progressive', await canvas(640, 480).jpeg({ progressive: true }).toBuffer()],
    ['with EXIF, orientation 6', await canvas(300, 200).jpeg().withMetadata({ orientation: 6 }).toBuffer()],
    ['mozjpeg 4:2:0', await canvas(4000, 3000).jpeg({ mozjpeg: true, chromaSubsampling: '4:2:0' }).toBuffer()],
  ];
  for (const [name, jpeg] of variants) {
    const meta = await sharp(jpeg).metadata();
    assert.deepEqual(jpegHeader(jpeg), { width: meta.width, height: meta.height, hasExif: meta.exif !== undefined }, name);
  }
  assert.equal(jpegHeader(variants[2]![1])?.hasExif, true);
  assert.equal(jpegHeader(variants[0]![1])?.hasExif, false);
});

test('jpegHeader: fill bytes between segments are skipped; not a JPEG, or cut before its frame, is left to sharp', async () => {
  const jpeg = await canvas(50, 40).jpeg().toBuffer();
  // 0xFF fill bytes may precede any marker.
  const filled = Buffer.concat([jpeg.subarray(0, 2), Buffer.from([0xff, 0xff, 0xff]), jpeg.subarray(2)]);
  assert.deepEqual(jpegHeader(filled), { width: 50, height: 40, hasExif: false });
  assert.equal(jpegHeader(await canvas(50, 40).png().toBuffer()), undefined);
  assert.equal(jpegHeader(Buffer.from('field notes')), undefined);
  assert.equal(jpegHeader(jpeg.subarray(0, 20)), undefined);
  assert.equal(jpegHeader(Buffer.alloc(0)), undefined);
});

test('probe: other formats through sharp, each at its stored size with its orientation tag', async (t) => {
  const root = await tempFolder(t);
  await canvas(300, 200).png().toFile(join(root, 'plain.png'));
  await canvas(300, 200).webp().withMetadata({ orientation: 8 }).toFile(join(root, 'turned.webp'));
  await canvas(300, 200).tiff().toFile(join(root, 'plain.tif'));
  await writeFile(join(root, 'turned.jpg'), await canvas(300, 200).jpeg().withMetadata({ orientation: 5 }).toBuffer());
  const sizes = [];
  for (const name of ['plain.png', 'turned.webp', 'plain.tif', 'turned.jpg']) {
    const probed = await probeImage({ name, path: join(root, name) });
    sizes.push([name, probed.width, probed.height, probed.orientation]);
  }
  assert.deepEqual(sizes, [
    ['plain.png', 300, 200, undefined],
    ['turned.webp', 300, 200, 8],
    ['plain.tif', 300, 200, undefined],
    ['turned.jpg', 300, 200, 5],
  ]);
});
