/**
 * What one deploy job asks for, and the checks the server would make, done before sending so that
 * the user learns which image and which point is wrong without spending a request.
 */
import { InvalidDeployRequestError } from './errors.js';

/** The server's limits on one deploy request. */
export const MAX_IMAGES_PER_JOB = 100;
export const MAX_POINTS_PER_IMAGE = 200;

/** A point to classify: 0-based pixel row and column from the top-left of the displayed image. */
export interface PointRequest {
  row: number;
  column: number;
}

/** One image of a deploy request: a URL the server can download, and the points to classify. */
export interface ImageRequest {
  url: string;
  points: PointRequest[];
}

const POINT_KEYS = ['row', 'column'] as const;

function describeImage(images: readonly ImageRequest[], i: number): string {
  const url = images[i]?.url;
  return typeof url === 'string' ? `image ${i} (${url})` : `image ${i}`;
}

/**
 * Throws {@link InvalidDeployRequestError} naming the first image and point the server would refuse.
 * @example
 * checkDeployRequest([{ url: 'https://example.org/a.jpg', points: [{ row: 10, column: 20 }] }]);
 */
export function checkDeployRequest(images: readonly ImageRequest[]): void {
  if (images.length === 0) {
    throw new InvalidDeployRequestError('A deploy request needs at least one image.', '/data');
  }
  if (images.length > MAX_IMAGES_PER_JOB) {
    throw new InvalidDeployRequestError(
      `A deploy request has ${images.length} images; CoralNet takes at most ${MAX_IMAGES_PER_JOB} per job: split it into chunks.`,
      '/data',
    );
  }
  // Loops rather than callbacks: this runs for every point of every job.
  for (let i = 0; i < images.length; i++) {
    const image = images[i]!;
    if (typeof image.url !== 'string' || image.url.length === 0) {
      throw new InvalidDeployRequestError(`${describeImage(images, i)} has no URL.`, `/data/${i}/attributes/url`, i);
    }
    const points: unknown = image.points;
    if (!Array.isArray(points) || points.length === 0) {
      throw new InvalidDeployRequestError(`${describeImage(images, i)} has no points: give it 1 to ${MAX_POINTS_PER_IMAGE}.`, `/data/${i}/attributes/points`, i);
    }
    if (points.length > MAX_POINTS_PER_IMAGE) {
      throw new InvalidDeployRequestError(
        `${describeImage(images, i)} has ${points.length} points; CoralNet takes at most ${MAX_POINTS_PER_IMAGE} per image in one request: send the rest as another entry.`,
        `/data/${i}/attributes/points`,
        i,
      );
    }
    for (let j = 0; j < points.length; j++) {
      const point = points[j] as Partial<PointRequest> | null | undefined;
      for (const key of POINT_KEYS) {
        const value: unknown = point?.[key];
        if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
          throw new InvalidDeployRequestError(
            `${describeImage(images, i)}, point ${j}: ${key} ${JSON.stringify(value)} is not a whole number ≥ 0.`,
            `/data/${i}/attributes/points/${j}/${key}`,
            i,
            j,
          );
        }
      }
    }
  }
}

/** The JSON:API body of a deploy request. */
export function deployBody(images: readonly ImageRequest[]): unknown {
  return { data: images.map(entryOf) };
}

// Named functions, not arrows inside deployBody: made once, they are compiled once, not per job.
const entryOf = ({ url, points }: ImageRequest): unknown => ({ type: 'image', attributes: { url, points: points.map(pointOf) } });
const pointOf = ({ row, column }: PointRequest): PointRequest => ({ row, column });
