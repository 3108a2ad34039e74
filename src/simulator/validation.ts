/**
 * The deploy request checks, in the server's order, with its messages and JSON pointers. Only the
 * first failure is reported.
 */

export interface ValidationFailure {
  detail: string;
  pointer: string;
}

const MAX_IMAGES = 100;
const MAX_POINTS = 200;

/** A number written with a fraction or exponent (`10.0`, `1e2`) is not an integer to the server. */
export class FloatLiteral {
  constructor(readonly value: number) {}
}

const isHash = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof FloatLiteral);

class Invalid extends Error {
  constructor(readonly detail: string, readonly pointer: string) {
    super(detail);
  }
}

function hashWithKeys(value: unknown, pointer: string, keys: readonly string[]): Record<string, unknown> {
  if (!isHash(value)) throw new Invalid('Ensure this element is a hash.', pointer);
  for (const key of keys) {
    if (!(key in value)) throw new Invalid(`Ensure this hash has a '${key}' key.`, pointer);
  }
  return value;
}

function arrayOf(value: unknown, pointer: string, max: number): unknown[] {
  if (!Array.isArray(value)) throw new Invalid('Ensure this element is an array.', pointer);
  if (value.length === 0) throw new Invalid('Ensure this array is non-empty.', pointer);
  if (value.length > max) throw new Invalid(`This array exceeds the max length of ${max}.`, pointer);
  return value;
}

/** A row or column: Python's `bool` is an `int`, so JSON `true` and `false` pass, as 1 and 0. */
function nonNegativeInteger(value: unknown, pointer: string): number {
  const number = value === true ? 1 : value === false ? 0 : value;
  if (typeof number !== 'number' || !Number.isInteger(number)) throw new Invalid('Ensure this element is an integer.', pointer);
  if (number < 0) throw new Invalid("This element's value is below the minimum of 0.", pointer);
  return number;
}

/**
 * The images of a deploy body, or the first reason the server refuses it. The caller must tell an
 * integer `10` from `10.0` (JSON.parse cannot): parse with {@link parseJsonKeepingFloats}.
 */
export function validateDeployBody(body: unknown): { images: Array<{ url: string; points: Array<{ row: number; column: number }> }> } | ValidationFailure {
  try {
    const root = hashWithKeys(body, '/', ['data']);
    const data = arrayOf(root.data, '/data', MAX_IMAGES);
    const images = data.map((entry, i) => {
      const at = `/data/${i}`;
      const image = hashWithKeys(entry, at, ['type', 'attributes']);
      if (typeof image.type !== 'string') throw new Invalid('Ensure this element is a string.', `${at}/type`);
      if (image.type !== 'image') throw new Invalid("This element should be equal to 'image'.", `${at}/type`);
      const attributes = hashWithKeys(image.attributes, `${at}/attributes`, ['url', 'points']);
      if (typeof attributes.url !== 'string') throw new Invalid('Ensure this element is a string.', `${at}/attributes/url`);
      const points = arrayOf(attributes.points, `${at}/attributes/points`, MAX_POINTS).map((entry, j) => {
        const pointAt = `${at}/attributes/points/${j}`;
        const point = hashWithKeys(entry, pointAt, ['row', 'column']);
        const row = nonNegativeInteger(point.row, `${pointAt}/row`);
        const column = nonNegativeInteger(point.column, `${pointAt}/column`);
        return { row, column };
      });
      return { url: attributes.url, points };
    });
    return { images };
  } catch (error) {
    if (error instanceof Invalid) return { detail: error.detail, pointer: error.pointer };
    throw error;
  }
}


/**
 * Where a number with a fraction or exponent could stand: at the start, or after `:`, `[` or `,`,
 * and before `,`, `}`, `]` or the end. Every float literal of a JSON text matches; so may text
 * inside a string (a URL ending `,1.5]`), which only costs the exact search below.
 */
const MAYBE_FLOAT = /(?:^|[:[,])\s*-?\d+(?:\.\d+(?:[eE][+-]?\d+)?|[eE][+-]?\d+)\s*(?:[,}\]]|$)/;

/**
 * JSON.parse, but numbers written as floats become {@link FloatLiteral}, so that `10.0` fails the
 * integer check as it does on the server (Python's json keeps `10.0` a float).
 */
export function parseJsonKeepingFloats(text: string): unknown {
  const parsed: unknown = JSON.parse(text); // throws the parse error, positions as the client sent it
  // Most bodies have no float at all, and one search over the text tells.
  if (!MAYBE_FLOAT.test(text)) return parsed;
  const floats: number[] = [];
  // Mark float literals outside strings with a sentinel string, then swap them back after parsing.
  const marked = text.replace(/"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g, (token) => {
    if (token.startsWith('"') || !/[.eE]/.test(token)) return token;
    floats.push(Number(token));
    return `"\\u0000float:${floats.length - 1}"`;
  });
  return JSON.parse(marked, (_key, value: unknown) => {
    if (typeof value === 'string' && value.startsWith('\u0000float:')) return new FloatLiteral(floats[Number(value.slice(7))]!);
    return value;
  });
}
