/** Fingerprint sets and maps: every key kept through the table's growth, values with them. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fingerprint, FingerprintMap, FingerprintSet } from '../src/util/fingerprints.js';

test('a fingerprint set keeps every name through its growth and tells a name seen from a new one', () => {
  const set = new FingerprintSet();
  for (let i = 0; i < 20_000; i++) assert.equal(set.add(`tow7/IMG_${i}.JPG`), true);
  assert.equal(set.size, 20_000);
  for (let i = 0; i < 20_000; i++) assert.equal(set.add(`tow7/IMG_${i}.JPG`), false);
  assert.equal(set.size, 20_000);
  assert.equal(set.has('tow7/IMG_19999.JPG'), true);
  assert.equal(set.has('tow7/IMG_20000.JPG'), false);
  assert.equal(set.has(fingerprint('tow7/IMG_7.JPG')), true, 'a fingerprint is the name');
});

test('a fingerprint map keeps each value with its key through growth; setting again replaces', () => {
  const map = new FingerprintMap();
  for (let i = 0; i < 5_000; i++) map.set(`n${i}`, i * 3);
  map.set('n42', 7);
  assert.equal(map.size, 5_000);
  for (let i = 0; i < 5_000; i++) assert.equal(map.get(`n${i}`), i === 42 ? 7 : i * 3);
  assert.equal(map.get('n5000'), undefined);
  assert.equal([...map.numbers()].reduce((a, b) => a + b, 0), (3 * 4999 * 5000) / 2 - 126 + 7);
});
