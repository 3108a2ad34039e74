import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifyPixel, DEFAULT_LABELSET, hexToRgb, packRgb, unpackRgb } from '../src/simulator/labelset.js';

test('each label colour is classified as its own label, best first, scores summing to 1', () => {
  for (const label of DEFAULT_LABELSET) {
    const classifications = classifyPixel(hexToRgb(label.colour));
    assert.equal(classifications.length, 5);
    assert.equal(classifications[0]!.label_id, label.id);
    assert.equal(classifications[0]!.label_code, label.code);
    assert.equal(classifications[0]!.label_name, label.name);
    const scores = classifications.map((c) => c.score);
    assert.deepEqual([...scores].sort((a, b) => b - a), scores);
    assert.ok(Math.abs(scores.reduce((a, b) => a + b, 0) - 1) < 1e-12);
    assert.ok(scores.every((s) => s >= 0 && s <= 1));
  }
});

test('the nearest colour wins: a dull orange is coral, a pale yellow is sand', () => {
  assert.equal(classifyPixel([230, 120, 90])[0]!.label_code, 'CORAL');
  assert.equal(classifyPixel([250, 240, 200])[0]!.label_code, 'SAND');
  assert.equal(classifyPixel([0, 100, 0])[0]!.label_code, 'MA');
});

test('a tie goes to the lower id, and equal distances score equally', () => {
  const labels = [
    { id: 9, code: 'B', name: 'b', colour: '#020000' },
    { id: 4, code: 'A', name: 'a', colour: '#000000' },
  ];
  const [first, second] = classifyPixel([1, 0, 0], labels);
  assert.equal(first!.label_id, 4);
  assert.equal(second!.label_id, 9);
  assert.equal(first!.score, 0.5);
  assert.equal(second!.score, 0.5);
});

test('fewer than five labels give as many classifications as labels', () => {
  assert.equal(classifyPixel([0, 0, 0], DEFAULT_LABELSET.slice(0, 3)).length, 3);
});

test('a colour packed as 0xRRGGBB unpacks to itself', () => {
  assert.equal(packRgb([255, 127, 80]), 0xff7f50);
  assert.deepEqual(unpackRgb(0xff7f50), [255, 127, 80]);
  for (const label of DEFAULT_LABELSET) assert.deepEqual(unpackRgb(packRgb(hexToRgb(label.colour))), hexToRgb(label.colour));
});
