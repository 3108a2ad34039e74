import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifyPixel, packRgb, unpackRgb, type Rgb } from '../src/simulator/labelset.js';
import { resultBody, type ResultUnit } from '../src/simulator/resultBody.js';

const classifications = (pixel: number): Buffer => Buffer.from(JSON.stringify(classifyPixel(unpackRgb(pixel))));

/** Rows and columns in turn, as a job keeps them. */
const flat = (points: Array<{ row: number; column: number }>): number[] => points.flatMap(({ row, column }) => [row, column]);

/** The body as the server's JSON encoder would write the same records. */
function expected(units: readonly ResultUnit[]): string {
  return JSON.stringify({
    data: units.map((unit) => ({
      type: 'image',
      id: unit.url,
      attributes: unit.outcome?.ok
        ? {
            url: unit.url,
            points: Array.from({ length: unit.points.length / 2 }, (_, j) => ({
              row: unit.points[2 * j],
              column: unit.points[2 * j + 1],
              classifications: classifyPixel(unpackRgb((unit.outcome as { pixels: number[] }).pixels[j]!)),
            })),
          }
        : { url: unit.url, errors: [unit.outcome?.error ?? 'Unknown error'] },
    })),
  });
}

test('a result body is byte for byte what JSON.stringify writes, failures, odd URLs and all', () => {
  const pixels = ([
    [255, 127, 80],
    [0, 0, 0],
    [12, 200, 7],
  ] satisfies Rgb[]).map(packRgb);
  const units: ResultUnit[] = [
    { url: 'http://127.0.0.1:8123/plates/IMG_0001.jpg', points: flat([{ row: 0, column: 0 }, { row: 1199, column: 1599 }, { row: 37, column: 10 }]), outcome: { ok: true, pixels } },
    { url: 'https://example.org/récif/été "A"\\b.jpg', points: flat([{ row: 5, column: 6 }]), outcome: { ok: true, pixels: [pixels[2]!] } },
    { url: 'https://example.org/gone.jpg', points: flat([{ row: 5, column: 6 }]), outcome: { ok: false, error: "spacer.exceptions.URLDownloadError: Failed to download from the URL 'https://example.org/gone.jpg'. / Details - HTTP Error 404: Not Found" } },
    { url: 'https://example.org/never.jpg', points: flat([{ row: 5, column: 6 }]) },
    { url: 'https://example.org/珊瑚.jpg', points: flat([{ row: 123456, column: 7 }]), outcome: { ok: true, pixels: [pixels[0]!] } },
  ];
  const body = resultBody(units, classifications);
  assert.equal(body.toString('utf8'), expected(units));
  assert.equal(body.length, Buffer.byteLength(expected(units)), 'no bytes left over at the end');
  assert.equal(resultBody([units[2]!], classifications).toString(), expected([units[2]!]), 'a job whose only image failed');
  assert.equal(resultBody([units[1]!], classifications).toString(), expected([units[1]!]), 'a one-point image');
});
