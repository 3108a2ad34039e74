/**
 * A finished job's result body, written as bytes into one buffer of the right size. A job of 100
 * images × 30 points answers ~1.5 MB; joined as strings it cost the simulator three times the time
 * (and a flattening of the joined string to count its bytes), time taken from the client it serves
 * on the same machine.
 */
import type { Unit } from './jobs.js';

/** What a result body needs of a job's unit. */
export type ResultUnit = Pick<Unit, 'url' | 'points' | 'outcome'>;

/**
 * The result body of `units` as `JSON.stringify` writes it:
 * `{"data":[{"type":"image","id":URL,"attributes":{"url":URL,"points":[{"row":…,"column":…,"classifications":[…]}]}}]}`,
 * or `"attributes":{"url":URL,"errors":[…]}` for an image that failed. `classificationsOf` gives
 * the classifications of a point's pixel (packed `0xRRGGBB`) as JSON bytes (fake images have a few
 * colours: the caller keeps them encoded).
 * @example resultBody(job.units, (pixel) => Buffer.from(JSON.stringify(classifyPixel(unpackRgb(pixel))))).toString()  // '{"data":[{"type":"image",…'
 */
export function resultBody(units: readonly ResultUnit[], classificationsOf: (pixel: number) => Buffer): Buffer {
  const pieces: Array<string | Buffer> = [];
  let size = 0;
  /** `text` holds only ASCII (numbers and JSON punctuation): a byte a character. */
  const ascii = (text: string): void => {
    pieces.push(text);
    size += text.length;
  };
  const any = (text: string): void => {
    pieces.push(text);
    size += Buffer.byteLength(text);
  };
  ascii('{"data":[');
  units.forEach((unit, i) => {
    const url = JSON.stringify(unit.url);
    const outcome = unit.outcome;
    if (!outcome?.ok) {
      any(`${i === 0 ? '' : ','}{"type":"image","id":${url},"attributes":${JSON.stringify({ url: unit.url, errors: [outcome?.error ?? 'Unknown error'] })}}`);
      return;
    }
    any(`${i === 0 ? '' : ','}{"type":"image","id":${url},"attributes":{"url":${url},"points":[`);
    const points = unit.points;
    for (let j = 0; j < points.length; j += 2) {
      // Rows and columns are whole numbers: the deploy check saw to it.
      ascii(`${j === 0 ? '' : '},'}{"row":${points[j]!},"column":${points[j + 1]!},"classifications":`);
      const classifications = classificationsOf(outcome.pixels[j / 2]!);
      pieces.push(classifications);
      size += classifications.length;
    }
    ascii(points.length === 0 ? ']}}' : '}]}}');
  });
  ascii(']}');
  const body = Buffer.allocUnsafe(size);
  let at = 0;
  for (const piece of pieces) at += typeof piece === 'string' ? body.write(piece, at) : piece.copy(body, at);
  return body;
}
