import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifyPixel, type Rgb } from '../src/simulator/labelset.js';
import { resultBody, type ResultUnit } from '../src/simulator/resultBody.js';

const classifications = (rgb: Rgb): Buffer => Buffer.from(JSON.stringify(classifyPixel(rgb)));

/** The body as the server's JSON encoder would write the same records. */
function expected(units: readonly ResultUnit[]): string {
  return JSON.stringify({
    data: units.map((unit) => ({
      type: 'image',
      id: unit.url,
      attributes: unit.outcome?.ok
        ? {
            url: unit.url,
            points: unit.points.map((point, j) => ({ row: point.row, column: point.column, classifications: classifyPixel((unit.outcome as { pixels: Rgb[] }).pixels[j]!) })),
          }
        : { url: unit.url, errors: [unit.outcome?.error ?? 'Unknown error'] },
    })),
  });
}

test('a result body is byte for byte what JSON.stringify writes, failures, odd URLs and all', () => {
  const pixels: Rgb[] = [
    [255, 127, 80],
    [0, 0, 0],
    [12, 200, 7],
  ];
  const units: ResultUnit[] = [
    { url: 'http://127.0.0.1:8123/plates/IMG_0001.jpg', points: [{ row: 0, column: 0 }, { row: 1199, column: 1599 }, { row: 37, column: 10 }], outcome: { ok: true, pixels } },
    { url: 'https://example.org/récif/été "A"\\b.jpg', points: [{ row: 5, column: 6 }], outcome: { ok: true, pixels: [pixels[2]!] } },
    { url: 'https://example.org/gone.jpg', points: [{ row: 5, column: 6 }], outcome: { ok: false, error: "spacer.exceptions.URLDownloadError: Failed to download from the URL 'https://example.org/gone.jpg'. / Details - HTTP Error 404: Not Found" } },
    { url: 'https://example.org/never.jpg', points: [{ row: 5, column: 6 }] },
    { url: 'https://example.org/珊瑚.jpg', points: [{ row: 123456, column: 7 }], outcome: { ok: true, pixels: [pixels[0]!] } },
  ];
  const body = resultBody(units, classifications);
  assert.equal(body.toString('utf8'), expected(units));
  assert.equal(body.length, Buffer.byteLength(expected(units)), 'no bytes left over at the end');
  assert.equal(resultBody([units[2]!], classifications).toString(), expected([units[2]!]), 'a job whose only image failed');
  assert.equal(resultBody([units[1]!], classifications).toString(), expected([units[1]!]), 'a one-point image');
});
