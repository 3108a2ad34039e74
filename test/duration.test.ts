import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDuration, parseRate } from '../src/util/duration.js';
import { isLoopbackHost } from '../src/util/loopback.js';

test('durations as users write them', () => {
  assert.equal(parseDuration('750ms'), 750);
  assert.equal(parseDuration('0.6s'), 600);
  assert.equal(parseDuration('5m'), 300_000);
  assert.equal(parseDuration('1h'), 3_600_000);
  assert.equal(parseDuration('30d'), 2_592_000_000);
  assert.equal(parseDuration('20', 's'), 20_000);
  assert.throws(() => parseDuration('soon'), /"soon" is not a duration: write a number with a unit/);
});

test('rates as the server windows are written', () => {
  assert.deepEqual(parseRate('60/0.6s'), { limit: 60, periodMs: 600 });
  assert.deepEqual(parseRate('1000/36s'), { limit: 1000, periodMs: 36_000 });
  assert.deepEqual(parseRate('60/min'), { limit: 60, periodMs: 60_000 });
  assert.deepEqual(parseRate('1000/h'), { limit: 1000, periodMs: 3_600_000 });
  assert.throws(() => parseRate('60 per minute'), /is not a rate/);
  assert.throws(() => parseRate('0/1s'), /above zero/);
});

test('loopback hosts', () => {
  for (const host of ['localhost', '127.0.0.1', '127.1.2.3', '[::1]', '::1']) assert.ok(isLoopbackHost(host), host);
  for (const host of ['coralnet.ucsd.edu', '10.0.0.1', '192.168.1.2', '[::2]', '128.0.0.1', 'localhost.example.com']) assert.ok(!isLoopbackHost(host), host);
});
