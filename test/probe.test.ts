import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { probeImage } from '../src/images/probe.js';
import { tempFolder } from './helpers.js';

const canvas = (width: number, height: number) => sharp({ create: { width, height, channels: 3, background: '#3a7' } });

test('probe: JPEGs of every kind at the stored size sharp reports of the whole file, with their orientation tag', async (t) => {
  const root = await tempFolder(t);
  const jpeg = await canvas(50, 40).jpeg().toBuffer();
  // A comment segment of 100 KB puts the frame header past the first 64 KB: the whole file is read then.
  const comment = Buffer.concat([Buffer.from([0xff, 0xfe, 0xff, 0xff]), Buffer.alloc(0xfffd, 0x20)]);
  const variants: Array<[string, Buffer]> = [
    ['baseline', await canvas(321, 123).jpeg().toBuffer()],
    ['progressive', await canvas(640, 480).jpeg({ progressive: true }).toBuffer()],
    ['with EXIF, orientation 6', await canvas(300, 200).jpeg().withMetadata({ orientation: 6 }).toBuffer()],
    ['mozjpeg 4:2:0', await canvas(4000, 3000).jpeg({ mozjpeg: true, chromaSubsampling: '4:2:0' }).toBuffer()],
    ['fill bytes before a marker', Buffer.concat([jpeg.subarray(0, 2), Buffer.from([0xff, 0xff, 0xff]), jpeg.subarray(2)])],
    ['frame header past 64 KB', Buffer.concat([jpeg.subarray(0, 2), comment, comment, jpeg.subarray(2)])],
  ];
  for (const [name, bytes] of variants) {
    const path = join(root, `${name}.jpg`);
    await writeFile(path, bytes);
    const meta = await sharp(bytes).metadata();
    const probed = await probeImage({ name, path });
    assert.deepEqual([probed.width, probed.height, probed.orientation], [meta.width, meta.height, meta.orientation], name);
  }
});

test('probe: other formats through sharp, each at its stored size with its orientation tag; an empty file and a text file are said to be so', async (t) => {
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
  await writeFile(join(root, 'empty.jpg'), '');
  await writeFile(join(root, 'notes.jpg'), 'field notes');
  await assert.rejects(probeImage({ name: 'empty.jpg', path: join(root, 'empty.jpg') }), /is an empty file/);
  await assert.rejects(probeImage({ name: 'notes.jpg', path: join(root, 'notes.jpg') }), /is not an image that can be read/);
});
