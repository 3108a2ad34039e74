/**
 * The stored size of a JPEG from its frame header, found by walking the segments at the start of
 * the file. Survey cameras write JPEG, and this costs microseconds where a full decoder setup costs
 * a few hundred; anything it does not recognise is left to sharp.
 */

/** Start-of-frame markers: baseline, extended, progressive, lossless (not DHT, JPG or DAC). */
const START_OF_FRAME = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);
const START_OF_SCAN = 0xda;
/** Markers that stand alone, without a length: TEM and the restart markers. */
const STANDALONE = new Set([0x01, 0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7]);

export interface JpegHeader {
  /** Stored width and height, before any EXIF orientation. */
  width: number;
  height: number;
  /** An APP1 `Exif` segment comes before the frame. */
  hasExif: boolean;
}

/**
 * Reads the frame header from the first bytes of a JPEG; `undefined` when `head` is not a JPEG or
 * its frame header is not within `head` (the caller then asks sharp).
 * @example jpegHeader(await readFile('IMG_0001.JPG'))  // { width: 4000, height: 3000, hasExif: true }
 */
export function jpegHeader(head: Uint8Array): JpegHeader | undefined {
  if (head.length < 4 || head[0] !== 0xff || head[1] !== 0xd8) return undefined;
  let hasExif = false;
  let at = 2;
  while (at + 4 <= head.length) {
    if (head[at] !== 0xff) return undefined;
    let marker = head[at + 1]!;
    while (marker === 0xff && at + 2 < head.length) marker = head[++at + 1]!;
    at += 2;
    if (STANDALONE.has(marker)) continue;
    if (marker === START_OF_SCAN || marker === 0xd9 || at + 2 > head.length) return undefined;
    const length = (head[at]! << 8) | head[at + 1]!;
    if (length < 2) return undefined;
    if (START_OF_FRAME.has(marker)) {
      if (at + 7 > head.length) return undefined;
      const height = (head[at + 3]! << 8) | head[at + 4]!;
      const width = (head[at + 5]! << 8) | head[at + 6]!;
      return width > 0 && height > 0 ? { width, height, hasExif } : undefined;
    }
    if (marker === 0xe1 && length >= 8 && isExifTag(head, at + 2)) hasExif = true;
    at += length;
  }
  return undefined;
}

/** `Exif\0\0` at `at`. */
function isExifTag(head: Uint8Array, at: number): boolean {
  return head[at] === 0x45 && head[at + 1] === 0x78 && head[at + 2] === 0x69 && head[at + 3] === 0x66 && head[at + 4] === 0 && head[at + 5] === 0;
}
