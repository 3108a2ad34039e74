import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AnnotatedImage } from '../src/model.js';
import { csvLine } from '../src/sinks/csv.js';
import { LineBytes } from '../src/sinks/lineBytes.js';
import { rowsOf, writeCsvLines } from '../src/operators/toRows.js';

const image = (name: string, points: number, codes: readonly string[]): AnnotatedImage => ({
  name,
  width: 4000,
  height: 3000,
  points: [],
  attempts: 1,
  ok: true,
  jobIds: ['1'],
  dateTimeOriginal: '2024:03:05 10:11:12',
  latitude: -17.4812,
  longitude: 149.8331,
  classified: Array.from({ length: points }, (_, p) => ({
    row: p * 997,
    column: p === 0 ? 0 : 10 ** (p % 8) + p,
    classifications: codes.map((code, i) => ({ label_id: i, label_code: code, label_name: code, score: (codes.length - i) / (codes.length + 1) })),
  })),
});

test('lines written across many slabs come out whole, and pieces taken earlier stay as they were', () => {
  // Slabs of 64 bytes: nearly every line starts a new one, and some are longer than a slab.
  const out = new LineBytes(64);
  const images = [
    image('IMG_0001.JPG', 3, ['CCA', 'SAND', 'TURF', 'MA', 'CORAL']),
    image('récif nord/Île 2.jpg', 2, ['Acr,tab', 'say "hi"', 'é']),
    image('a-very-long-name-that-alone-is-longer-than-one-slab-of-sixty-four-bytes.jpg', 4, ['X']),
    image('IMG_0002.JPG', 30, ['CCA', 'SAND']),
  ];
  const pieces: Buffer[] = [];
  const copies: string[] = [];
  for (const each of images) {
    writeCsvLines(each, { metadata: true }, out);
    const piece = out.take();
    pieces.push(piece);
    copies.push(piece.toString('utf8'));
  }
  images.forEach((each, i) => {
    const expected = rowsOf(each, { metadata: true }).map(csvLine).join('');
    assert.equal(copies[i], expected, each.name);
    assert.equal(pieces[i]!.toString('utf8'), expected, `${each.name}, after the later writes`);
  });
  assert.equal(copies[1]!.split('\n', 1)[0], 'récif nord/Île 2.jpg,2024-03-05,,,,,,-17.4812,149.8331,0,0,"Acr,tab",robot,"Acr,tab",75,"say ""hi""",50,é,25,,,,');
});

test('numbers are written digit by digit, and anything but a whole number ≥ 0 as JavaScript writes it', () => {
  const out = new LineBytes(16);
  for (const n of [0, 7, 10, 99, 100, 1234567, Number.MAX_SAFE_INTEGER, -3, 2.5, 1e21]) out.count(n);
  out.commas(2).newline();
  assert.equal(out.take().toString(), ',0,7,10,99,100,1234567,9007199254740991,-3,2.5,1e+21,,\n');
  assert.equal(out.take().length, 0);
  out.text('after').field('a,b').field('a,b').newline();
  assert.equal(out.take().toString(), 'after,"a,b","a,b"\n');
});
