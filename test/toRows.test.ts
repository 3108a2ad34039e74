import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { resultBodySchema, toImageResults } from '../src/coralnet/schemas.js';
import type { AnnotatedImage } from '../src/model.js';
import { csvText } from '../src/sinks/csv.js';
import { confidencePercent, csvHeader, rowsOf } from '../src/operators/toRows.js';

test("confidence is Python's round(score * 100): halves to even, of the floating-point product", () => {
  assert.equal(confidencePercent(0.125), 12);
  assert.equal(confidencePercent(0.135), 14);
  assert.equal(confidencePercent(0.145), 14);
  assert.equal(confidencePercent(0.005), 0);
  assert.equal(confidencePercent(0.015), 2);
  assert.equal(confidencePercent(0.7741801529294701), 77);
  assert.equal(confidencePercent(1), 100);
  assert.equal(confidencePercent(0), 0);
});

test("CoralNet's header, with and without the metadata columns", () => {
  assert.equal(
    csvHeader({ metadata: true }).join(','),
    'Name,Date,Aux1,Aux2,Aux3,Aux4,Aux5,Latitude,Longitude,Row,Column,Label code,Annotator,Machine suggestion 1,Machine confidence 1,Machine suggestion 2,Machine confidence 2,Machine suggestion 3,Machine confidence 3,Machine suggestion 4,Machine confidence 4,Machine suggestion 5,Machine confidence 5',
  );
  assert.equal(csvHeader({ suggestions: 1 }).join(','), 'Name,Row,Column,Label code,Annotator,Machine suggestion 1,Machine confidence 1');
});

test('the real 2020 result becomes export rows, one per point in point order', async () => {
  const body: unknown = JSON.parse(await readFile(new URL('../../test/fixtures/coralnet-result-arms-2020.json', import.meta.url), 'utf8'));
  const [first] = toImageResults(resultBodySchema.parse(body));
  assert.ok(first?.ok);
  const image: AnnotatedImage = {
    name: 'HKARMS01_1T.jpg',
    url: first.url,
    width: 2000,
    height: 2000,
    points: first.points.map(({ row, column }) => ({ row, column })),
    attempts: 1,
    ok: true,
    classified: first.points,
    jobIds: ['1'],
    dateTimeOriginal: '2020:01:31 12:00:00',
    latitude: 22.3,
    longitude: 114.2,
    aux: { Aux1: 'ARMS01' },
  };
  const rows = rowsOf(image, { metadata: true });
  assert.equal(rows.length, first.points.length);
  assert.deepEqual(rows[0], ['HKARMS01_1T.jpg', '2020-01-31', 'ARMS01', '', '', '', '', '22.3', '114.2', '118', '118', '_RDEN', 'robot', '_RDEN', '77', '_BRY', '9', '_BFILM', '3', '_SED', '2', '_SP', '2']);
  assert.deepEqual(rows[1]!.slice(9, 13), ['118', '554', '_NR', 'robot']);
  const lines = await csvText(rows);
  assert.equal(lines.split('\n', 1)[0], 'HKARMS01_1T.jpg,2020-01-31,ARMS01,,,,,22.3,114.2,118,118,_RDEN,robot,_RDEN,77,_BRY,9,_BFILM,3,_SED,2,_SP,2');
  assert.equal(lines.split('\n').length, rows.length + 1);
});

test('fewer than five classifications leave empty cells', async () => {
  const image: AnnotatedImage = {
    name: 'a.jpg',
    width: 10,
    height: 10,
    points: [{ row: 1, column: 2 }],
    attempts: 1,
    ok: true,
    jobIds: ['1'],
    classified: [{ row: 1, column: 2, classifications: [{ label_id: 1, label_code: 'A', label_name: 'a', score: 0.6 }, { label_id: 2, label_code: 'B', label_name: 'b', score: 0.4 }] }],
  };
  assert.deepEqual(rowsOf(image), [['a.jpg', '1', '2', 'A', 'robot', 'A', '60', 'B', '40', '', '', '', '', '', '']]);
  assert.equal(await csvText(rowsOf(image)), 'a.jpg,1,2,A,robot,A,60,B,40,,,,,,\n');
  // Names and label codes with commas or quotes are quoted in the lines as in the rows.
  const odd: AnnotatedImage = { ...image, name: 'site 1, "north".jpg', aux: { Aux2: 'a,b' }, classified: [{ row: 1, column: 2, classifications: [{ label_id: 1, label_code: 'A,1', label_name: 'a', score: 1 }] }] };
  assert.equal(await csvText(rowsOf(odd, { metadata: true })), '"site 1, ""north"".jpg",,,"a,b",,,,,,1,2,"A,1",robot,"A,1",100,,,,,,,,\n');
});

test('CSV lines as fast-csv writes them: quoted only where needed, quotes doubled, a | quoted, NUL bytes dropped', async () => {
  const rows = [
    ['plain', 'with,comma', 'with "quote"', 'line\nbreak', 'carriage\rreturn', '', ' spaced ', 'ünïcode', '"'],
    ['IMG 0001.JPG', '2024-03-05', '-17.5', 'a|b', 'nul\u0000byte'],
  ];
  assert.equal(await csvText(rows), 'plain,"with,comma","with ""quote""","line\nbreak","carriage\rreturn",, spaced ,ünïcode,""""\nIMG 0001.JPG,2024-03-05,-17.5,"a|b",nulbyte\n');
});
