import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { resultBodySchema, toImageResults } from '../src/coralnet/schemas.js';

const fixture = new URL('../../test/fixtures/coralnet-result-arms-2020.json', import.meta.url);

test('the real 2020 result parses: 3 images in order, every point with 5 classifications best first', async () => {
  const body: unknown = JSON.parse(await readFile(fixture, 'utf8'));
  const images = toImageResults(resultBodySchema.parse(body));
  assert.equal(images.length, 3);
  const raw = (body as { data: Array<{ attributes: { url: string; points: unknown[] } }> }).data;
  images.forEach((image, i) => {
    assert.ok(image.ok);
    assert.equal(image.url, raw[i]!.attributes.url);
    assert.equal(image.points.length, raw[i]!.attributes.points.length);
    for (const point of image.points) {
      assert.equal(point.classifications.length, 5);
      const scores = point.classifications.map((c) => c.score);
      assert.deepEqual([...scores].sort((a, b) => b - a), scores);
      assert.equal(typeof point.classifications[0]!.label_id, 'number');
    }
  });
  const first = images[0]!;
  assert.ok(first.ok);
  assert.deepEqual(first.points[0], {
    row: 118,
    column: 118,
    classifications: [
      { score: 0.7741801529294701, label_id: 1883, label_code: '_RDEN', label_name: 'ARMS-CREP-Red encrusting macroalgae' },
      { score: 0.08730514764448462, label_id: 1899, label_code: '_BRY', label_name: 'ARMS-CREP-Bryozoan' },
      { score: 0.030892571087018116, label_id: 2787, label_code: '_BFILM', label_name: 'ARMS-Biofilm' },
      { score: 0.023130161338405297, label_id: 1905, label_code: '_SED', label_name: 'ARMS-CREP-Sediment' },
      { score: 0.0205746946142418, label_id: 1903, label_code: '_SP', label_name: 'ARMS-CREP-Sponge' },
    ],
  });
});

test('failures are read from errors, and from the singular error of servers before Nov 2020', () => {
  const images = toImageResults(
    resultBodySchema.parse({
      data: [
        { type: 'image', id: 'u1', attributes: { url: 'u1', errors: ['PIL.UnidentifiedImageError: cannot identify image file'] } },
        { type: 'image', id: 'u2', attributes: { url: 'u2', error: 'Failed to download' } },
        { type: 'image', id: 'u3', attributes: { url: 'u3', points: [{ row: 1, column: 2, classifications: [{ label_id: '7', label_code: 'X', label_name: 'x', score: 1 }] }] } },
      ],
    }),
  );
  assert.deepEqual(images, [
    { url: 'u1', ok: false, errors: ['PIL.UnidentifiedImageError: cannot identify image file'] },
    { url: 'u2', ok: false, errors: ['Failed to download'] },
    { url: 'u3', ok: true, points: [{ row: 1, column: 2, classifications: [{ label_id: 7, label_code: 'X', label_name: 'x', score: 1 }] }] },
  ]);
});

test('a score outside [0, 1] or a point without classifications is refused', () => {
  const point = (classifications: unknown[]) => ({ data: [{ type: 'image', id: 'u', attributes: { url: 'u', points: [{ row: 0, column: 0, classifications }] } }] });
  assert.equal(resultBodySchema.safeParse(point([{ label_id: 1, label_code: 'A', label_name: 'a', score: 1.5 }])).success, false);
  assert.equal(resultBodySchema.safeParse(point([])).success, false);
});

test('the schema drops keys besides the documented ones, reads a string label id and a legacy error, and refuses what is not a result', () => {
  const withPoint = (point: object, attributes: object = {}) => ({ data: [{ type: 'image', id: 'u', attributes: { url: 'u', points: [point], ...attributes } }] });
  const classification = { label_id: 7, label_code: 'X', label_name: 'x', score: 1 };
  const plain = [{ url: 'u', ok: true, points: [{ row: 1, column: 2, classifications: [classification] }] }];
  const extras: Array<[string, unknown]> = [
    ['extra key on a classification', withPoint({ row: 1, column: 2, classifications: [{ ...classification, colour: 'red' }] })],
    ['extra key on a point', withPoint({ row: 1, column: 2, extra: 0, classifications: [classification] })],
    ['extra keys on an image and the body', { data: [{ type: 'image', id: 'u', links: {}, attributes: { url: 'u', points: [{ row: 1, column: 2, classifications: [classification] }] } }], meta: { count: 1 } }],
    ['string label id', withPoint({ row: 1, column: 2, classifications: [{ ...classification, label_id: '7' }] })],
  ];
  for (const [name, extra] of extras) assert.equal(JSON.stringify(toImageResults(resultBodySchema.parse(extra))), JSON.stringify(plain), name);
  assert.deepEqual(toImageResults(resultBodySchema.parse({ data: [{ type: 'image', id: 'u', attributes: { url: 'u', error: 'Failed to download' } }] })), [{ url: 'u', ok: false, errors: ['Failed to download'] }]);
  const refused: Array<[string, unknown]> = [
    ['score over 1', withPoint({ row: 1, column: 2, classifications: [{ ...classification, score: 1.5 }] })],
    ['no classifications', withPoint({ row: 1, column: 2, classifications: [] })],
    ['negative row', withPoint({ row: -1, column: 2, classifications: [classification] })],
    ['fractional column', withPoint({ row: 1, column: 2.5, classifications: [classification] })],
    ['no errors', { data: [{ type: 'image', id: 'u', attributes: { url: 'u', errors: [] } }] }],
    ['not an image', { data: [{ type: 'job', id: 'u', attributes: { url: 'u', errors: ['x'] } }] }],
    ['no data', { errors: [] }],
  ];
  for (const [name, body] of refused) assert.equal(resultBodySchema.safeParse(body).success, false, name);
});
