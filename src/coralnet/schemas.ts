/**
 * zod schemas of every body the deploy API sends, as the real server sends them (see
 * docs/coralnet-api.md). Parsing turns them into the plain records the rest of reefstream uses.
 */
import { z } from 'zod';

/** Ids come as strings (`"7"`); accept numbers too and keep strings. */
const jobId = z.union([z.string().min(1), z.number().int()]).transform(String);

export const errorBodySchema = z.object({
  errors: z
    .array(z.object({ detail: z.string(), source: z.object({ pointer: z.string() }).optional() }))
    .min(1),
});

export const tokenBodySchema = z.object({ token: z.string().min(1) });

const jobRefSchema = z.object({ type: z.string(), id: jobId });

export const userBodySchema = z.object({
  data: z.object({
    active_jobs: z.array(jobRefSchema),
    recently_completed_jobs: z.array(jobRefSchema).default([]),
  }),
  meta: z.object({ max_active_jobs: z.number().int().positive() }),
});

export const statusBodySchema = z.object({
  data: z
    .array(
      z.object({
        type: z.literal('job'),
        id: jobId,
        attributes: z.object({
          status: z.string(),
          successes: z.number().int().nonnegative(),
          failures: z.number().int().nonnegative(),
          total: z.number().int().nonnegative(),
        }),
      }),
    )
    .length(1),
});

/** `label_id` is a number in practice; the help page says string. Both become a number. */
const labelId = z.union([z.number().int(), z.string().regex(/^\d+$/).transform(Number)]);

export const classificationSchema = z.object({
  label_id: labelId,
  label_code: z.string(),
  label_name: z.string(),
  score: z.number().min(0).max(1),
});

export const classifiedPointSchema = z.object({
  row: z.number().int().nonnegative(),
  column: z.number().int().nonnegative(),
  classifications: z.array(classificationSchema).min(1),
});

const successAttributes = z.object({ url: z.string(), points: z.array(classifiedPointSchema) });
const failureAttributes = z.object({ url: z.string(), errors: z.array(z.string()).min(1) });
/** Servers before Nov 2020 said `error` (one string); read it so that no failure is missed. */
const legacyFailureAttributes = z
  .object({ url: z.string(), error: z.string() })
  .transform(({ url, error }) => ({ url, errors: [error] }));

export const resultBodySchema = z.object({
  data: z.array(
    z.object({
      type: z.literal('image'),
      id: z.string(),
      attributes: z.union([successAttributes, failureAttributes, legacyFailureAttributes]),
    }),
  ),
});

export type Classification = z.output<typeof classificationSchema>;
export type ClassifiedPoint = z.output<typeof classifiedPointSchema>;

/** One image of a finished job, in request order. */
export type ImageResult =
  | { url: string; ok: true; points: ClassifiedPoint[] }
  | { url: string; ok: false; errors: string[] };

/** Turns a parsed result body into one record per image, keeping the request order. */
export function toImageResults(body: z.output<typeof resultBodySchema>): ImageResult[] {
  return body.data.map(({ attributes }) =>
    'points' in attributes
      ? { url: attributes.url, ok: true as const, points: attributes.points }
      : { url: attributes.url, ok: false as const, errors: attributes.errors },
  );
}

/**
 * The same records as `toImageResults(resultBodySchema.parse(json))`, checked in one pass without
 * copying: a result body holds ~1.5 MB of points a job, and zod's copying parse of it cost more than
 * the rest of the client's work on the body. Only the shape the server writes today is taken here —
 * numeric label ids, no keys besides the documented ones; anything else returns `undefined`, and
 * the schema then reads it (or explains what is wrong).
 * @example imageResultsOf(JSON.parse(text)) ?? toImageResults(resultBodySchema.parse(JSON.parse(text)))
 */
export function imageResultsOf(json: unknown): ImageResult[] | undefined {
  if (!isRecord(json) || !Array.isArray(json.data)) return undefined;
  const images: ImageResult[] = [];
  for (const item of json.data as unknown[]) {
    if (!isRecord(item) || item.type !== 'image' || typeof item.id !== 'string' || !isRecord(item.attributes)) return undefined;
    const attributes = item.attributes;
    if (typeof attributes.url !== 'string') return undefined;
    if ('points' in attributes) {
      if (!hasKeys(attributes, 2) || !Array.isArray(attributes.points) || !attributes.points.every(isClassifiedPoint)) return undefined;
      images.push({ url: attributes.url, ok: true, points: attributes.points as ClassifiedPoint[] });
    } else {
      const errors = attributes.errors;
      if (!hasKeys(attributes, 2) || !Array.isArray(errors) || errors.length === 0 || !errors.every((e) => typeof e === 'string')) return undefined;
      images.push({ url: attributes.url, ok: false, errors });
    }
  }
  return images;
}

function isClassifiedPoint(point: unknown): boolean {
  if (!isRecord(point) || !hasKeys(point, 3)) return false;
  const { row, column, classifications } = point;
  if (!isCount(row) || !isCount(column) || !Array.isArray(classifications) || classifications.length === 0) return false;
  for (const c of classifications as unknown[]) {
    if (!isRecord(c) || !hasKeys(c, 4)) return false;
    const { label_id: id, label_code: code, label_name: name, score } = c;
    if (!Number.isSafeInteger(id) || typeof code !== 'string' || typeof name !== 'string') return false;
    if (typeof score !== 'number' || !(score >= 0 && score <= 1)) return false;
  }
  return true;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): boolean {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

/**
 * Whether a parsed JSON object has exactly `count` keys. Counted with `for…in` (a JSON object has
 * no inherited enumerable keys), which stops early and, unlike `Object.keys`, builds no array: an
 * array for each of the 180 objects of an image was a tenth of all the client allocated.
 */
function hasKeys(value: object, count: number): boolean {
  let seen = 0;
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  for (const _ in value) if (++seen > count) return false;
  return seen === count;
}
