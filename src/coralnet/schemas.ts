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
