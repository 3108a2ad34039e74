import { concatMap, type OperatorFunction } from 'rxjs';
import type { CoralNetClient, DeployJob } from '../coralnet/client.js';
import { MAX_POINTS_PER_IMAGE, type ImageRequest } from '../coralnet/deployRequest.js';
import type { PlannedImage } from '../model.js';

/** A job on the server and the images it was sent for, in request order. */
export interface SubmittedJob {
  job: DeployJob;
  images: PlannedImage[];
  sentAt: number;
}

/** The request entries of images: one per 200 points, in order. */
export function requestEntries(images: readonly PlannedImage[]): ImageRequest[] {
  return images.flatMap(entriesOfImage);
}

function entriesOfImage(image: PlannedImage): ImageRequest[] {
  const url = image.url;
  if (url === undefined) throw new Error(`${image.name} has no URL CoralNet can download: publish the images first.`);
  const points = image.points;
  if (points.length <= MAX_POINTS_PER_IMAGE) return [{ url, points }];
  const entries: ImageRequest[] = [];
  for (let i = 0; i < points.length; i += MAX_POINTS_PER_IMAGE) entries.push({ url, points: points.slice(i, i + MAX_POINTS_PER_IMAGE) });
  return entries;
}

/** An image about to be sent: its sends counted up. */
const nextAttempt = (image: PlannedImage): PlannedImage => ({ ...image, attempts: image.attempts + 1 });

/**
 * Told just before each deploy is sent (with the highest job id the account had then) and once
 * its job id is known: where a journal records them. Deploys of one client are sent one at a time,
 * so at most one deploy is ever between the two.
 */
export interface DeployHooks {
  beforeSend?(images: PlannedImage[], knownMaxJobId: string | undefined): Promise<void>;
  afterSend?(job: DeployJob, images: PlannedImage[]): Promise<void>;
}

/**
 * Sends each chunk of images as one deploy job (an image over 200 points as several entries).
 * Waits for a job slot: never more jobs than the server allows.
 * @example chunks$.pipe(deploy(client, 1234))
 */
export function deploy(client: CoralNetClient, classifierId: number | string, hooks: DeployHooks = {}): OperatorFunction<PlannedImage[], SubmittedJob> {
  return concatMap(async (chunk) => {
    const images = chunk.map(nextAttempt);
    const job = await client.deploy(classifierId, requestEntries(images), {
      journal: {
        beforeSend: async (knownMax) => hooks.beforeSend?.(images, knownMax),
        afterSend: async (sent) => hooks.afterSend?.(sent, images),
      },
    });
    return { job, images, sentAt: Date.now() };
  });
}
