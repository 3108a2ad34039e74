/**
 * The file names a survey's images take in COCO Annotator. The backend saves an upload at
 * `directory/filename` (a `/` needs the subfolder to exist there) and knows an image by its base
 * name only, so a survey's `site1/IMG_1.JPG` goes up flat, as `site1__IMG_1.JPG`: folders joined by
 * `__`. The mapping is reversible: inside each part, `%` is written `%25`, an underscore that
 * begins or ends the part or stands next to another is written `%5F`, and `"`, `\` and control
 * characters (which multipart encoders and file systems change) are percent-encoded as well. A plain
 * name (`IMG_0001.JPG`) is left as it is.
 */

/** `%`, `"`, `\` and control characters: what encoders and file systems would change. */
const needsEscape = (c: string): boolean => c === '%' || c === '"' || c === '\\' || c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f;
const escape = (c: string): string => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`;

const encodePart = (part: string): string =>
  [...part]
    .map((c) => (needsEscape(c) ? escape(c) : c))
    .join('')
    .replace(/_(?=_)|(?<=_)_|^_|_$/g, '%5F');

/**
 * The flat file name of a survey image in COCO Annotator.
 * @example reviewFileName('site1/IMG_1.JPG')  // 'site1__IMG_1.JPG'
 */
export function reviewFileName(name: string): string {
  return name.split('/').map(encodePart).join('__');
}

/**
 * The survey's name of a file named by {@link reviewFileName}; any other name comes back as it is,
 * except that a `__` reads as a folder.
 * @example surveyName('site1__IMG_1.JPG')  // 'site1/IMG_1.JPG'
 */
export function surveyName(fileName: string): string {
  return fileName
    .split('__')
    .map((part) => part.replace(/%([0-9A-F]{2})/g, (escape, hex: string) => (isOurEscape(hex) ? String.fromCharCode(parseInt(hex, 16)) : escape)))
    .join('/');
}

/** The escapes {@link reviewFileName} writes: `%`, `"`, `\`, `_` and control characters. */
const isOurEscape = (hex: string): boolean => {
  const code = parseInt(hex, 16);
  return code < 0x20 || code === 0x7f || hex === '25' || hex === '22' || hex === '5C' || hex === '5F';
};
