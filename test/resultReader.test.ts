import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { packResults, pointsBuilderOf, unpackResults } from '../src/coralnet/packedResults.js';
import { outcomesOf } from '../src/operators/retryErrors.js';
import { ResultReader } from '../src/coralnet/resultReader.js';
import { resultBodySchema, toImageResults, type ImageResult } from '../src/coralnet/schemas.js';
import { utf8Text } from '../src/util/utf8.js';
import { tempFolder } from './helpers.js';

const fixture = new URL('../../test/fixtures/coralnet-result-arms-2020.json', import.meta.url);
const bytesOf = (text: string): Uint8Array => new Uint8Array(Buffer.from(text));
const bySchema = (text: string): ImageResult[] => toImageResults(resultBodySchema.parse(JSON.parse(text)));

const c = (label_id: number, label_code: string, label_name: string, score: number) => ({ score, label_id, label_code, label_name });
/** Successes and failures mixed, a label met again under another name, keys in the server's order, a byte-order mark. */
const mixed = `\ufeff${JSON.stringify({
  data: [
    { type: 'image', id: 'u1', attributes: { url: 'u1', points: [{ row: 118, column: 554, classifications: [c(1, 'CCA', 'Crustose coralline algae', 0.75), c(2, 'SAND', 'Sand', 0.25)] }] } },
    { type: 'image', id: 'u2', attributes: { url: 'u2', errors: ['Failed to download', 'Timed out'] } },
    { type: 'image', id: 'u3', attributes: { url: 'u3', points: [] } },
    { type: 'image', id: 'u4', attributes: { url: 'u4', points: [{ row: 0, column: 7, classifications: [c(2, 'SAND', 'Sable et débris', 1)] }, { row: 3, column: 4, classifications: [c(2, 'SAND', 'Sand', 0.5), c(1, 'CCA', 'Crustose coralline algae', 0.5)] }] } },
  ],
})}`;

test('packed results unpack to exactly what the schema reads, keys in its order, whatever the thread', async () => {
  for (const text of [await readFile(fixture, 'utf8'), mixed.slice(1)]) {
    const packed = packResults(JSON.parse(text));
    assert.ok(packed);
    const images = unpackResults(packed);
    assert.deepEqual(images, bySchema(text));
    // Same text in the NDJSON output whichever way a body was read.
    assert.equal(JSON.stringify(images), JSON.stringify(bySchema(text)));
  }
  const packed = packResults(JSON.parse(mixed.slice(1)))!;
  assert.deepEqual(packed.labels, [
    [1, 'CCA', 'Crustose coralline algae'],
    [2, 'SAND', 'Sand'],
    [2, 'SAND', 'Sable et débris'],
  ]);
  assert.deepEqual([...packed.pointCounts], [1, 0, 0, 2]);
  assert.deepEqual([...packed.labelIndexes], [0, 1, 2, 1, 0]);
});

test('result thread: a body is handed over, read there, and its records equal the schema\'s', async () => {
  const reader = new ResultReader();
  assert.equal(await reader.thread.whenReady(), true);
  for (const text of [await readFile(fixture, 'utf8'), mixed]) {
    const body = bytesOf(text);
    const read = await reader.read(body);
    assert.ok(Array.isArray(read));
    assert.deepEqual(read, bySchema(text.replace(/^\ufeff/, '')));
    assert.equal(body.byteLength, 0, 'moved to the thread, not copied');
  }
  // A view into a larger buffer is copied first: its neighbours stay here.
  const text = await readFile(fixture, 'utf8');
  const whole = Buffer.from(`[padding]${text}[padding]`);
  const view = new Uint8Array(whole.buffer, whole.byteOffset + 9, Buffer.byteLength(text));
  assert.deepEqual(await reader.read(view), bySchema(text));
  assert.equal(whole.toString('utf8', 0, 9), '[padding]');
  assert.equal(view.byteLength, Buffer.byteLength(text));
});

test('result thread: bodies it cannot read come back whole, for the main thread and the schema', async () => {
  const reader = new ResultReader();
  assert.equal(await reader.thread.whenReady(), true);
  const others = [
    '<html><body>502 Bad Gateway</body></html>',
    JSON.stringify({ data: [{ type: 'image', id: 'u', attributes: { url: 'u', error: 'Failed to download' } }] }),
    JSON.stringify({ data: [{ type: 'image', id: 'u', attributes: { url: 'u', points: [{ row: 1, column: 2, classifications: [{ label_id: '7', label_code: 'X', label_name: 'x', score: 1 }] }] } }] }),
    '',
  ];
  for (const text of others) {
    const back = await reader.read(bytesOf(text));
    assert.ok(back instanceof Uint8Array, text);
    assert.equal(Buffer.from(back).toString(), text);
  }
});

test('before its thread answers, the reader gives the body back at once; a thread that stops holding a body says so', async (t) => {
  const early = new ResultReader();
  const body = bytesOf(await readFile(fixture, 'utf8'));
  assert.equal(await early.read(body), body);
  assert.equal(await early.thread.whenReady(), true);

  const root = await tempFolder(t);
  const script = join(root, 'stops.mjs');
  await writeFile(script, "import { parentPort } from 'node:worker_threads';\nparentPort.postMessage('ready');\nparentPort.on('message', () => process.exit(1));\n");
  const stopping = new ResultReader(pathToFileURL(script));
  assert.equal(await stopping.thread.whenReady(), true);
  assert.equal(await stopping.read(bytesOf(await readFile(fixture, 'utf8'))), undefined);
  // Stopped for good: bodies stay with the caller from then on.
  const next = bytesOf('{"data":[]}');
  assert.equal(await stopping.read(next), next);
});

test('bodies as text: decoded as UTF-8, a byte-order mark skipped', () => {
  assert.equal(utf8Text(bytesOf('{"data":[]}')), '{"data":[]}');
  assert.equal(utf8Text(bytesOf('\ufeff{"a":"Sable et débris"}')), '{"a":"Sable et débris"}');
  assert.equal(utf8Text(new Uint8Array([0x22, 0xc3, 0xa9, 0x22])), '"é"');
  // Not UTF-8: replaced, as a fetch body's text() does, rather than read as Latin-1.
  assert.equal(utf8Text(new Uint8Array([0x22, 0xe9, 0x22])), '"\ufffd"');
  assert.equal(utf8Text(new Uint8Array(0)), '');
});

test('unpacked points are built when first read; an outcome builds its own, and the image result never builds its copy', async () => {
  const text = await readFile(fixture, 'utf8');
  const images = unpackResults(packResults(JSON.parse(text))!);
  const expected = bySchema(text);
  const build = pointsBuilderOf(images[0]!);
  assert.ok(build);
  assert.notEqual(build(), build(), 'a builder makes new records at each call');
  assert.deepEqual(build(), (expected[0] as { points: unknown }).points);

  // As sent: the same points the result came back with.
  const planned = expected.map((image, i) => ({ name: `IMG_${i}.JPG`, seq: i, url: image.url, width: 1000, height: 1000, points: image.ok ? image.points.map(({ row, column }) => ({ row, column })) : [], attempts: 1 }));
  const job = { id: '7', statusUrl: '', resultUrl: '' };
  const outcomes = outcomesOf({ job, images: planned, sentAt: 0, results: images }).map(({ outcome }) => outcome);
  assert.deepEqual(
    outcomes.map((o) => (o.ok ? o.classified : o.reason)),
    expected.map((e) => (e.ok ? e.points : '')),
  );
  const first = outcomes[0]!;
  assert.ok(first.ok);
  assert.equal(first.classified, first.classified, 'kept once built');
  assert.notEqual(first.classified, (images[0] as { points: unknown }).points, "the outcome's own records, not the image result's");
  assert.deepEqual(Object.keys(first), [...Object.keys(planned[0]!), 'ok', 'classified', 'jobIds']);
});
