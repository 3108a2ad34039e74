import { mergeMap, type OperatorFunction } from 'rxjs';
import { probeImage } from '../images/probe.js';
import type { ImageRef, PhotoExif, ProbedImage } from '../model.js';
import { failedBeforeSending, isFailed, type OrFailed } from './failures.js';

/** CoralNet refuses images over 8000 × 8000. */
const MAX_PIXELS = 64_000_000;

export interface ProbeOptions {
  /** Images read at once. Default 32 (URLs at most 8 at a time, however many this says). */
  concurrency?: number;
  /** Every image has this size (survey cameras): no reading at all. EXIF columns stay empty. */
  imageSize?: { width: number; height: number };
}

/** The file's own EXIF first; what the source knows fills what the file does not say. */
function withKnownExif(probed: ProbedImage, known: PhotoExif): ProbedImage {
  return {
    ...probed,
    orientation: probed.orientation ?? known.orientation,
    dateTimeOriginal: probed.dateTimeOriginal ?? known.dateTimeOriginal,
    latitude: probed.latitude ?? known.latitude,
    longitude: probed.longitude ?? known.longitude,
  };
}

/**
 * Reads each image's displayed size and EXIF date and GPS (headers only, no pixels). An image that
 * cannot be read, or is over 64 MP, becomes a failed image with the reason.
 * @example listImages('/surveys/lagoon').pipe(probe({ concurrency: 8 }))
 */
export function probe(options: ProbeOptions = {}): OperatorFunction<OrFailed<ImageRef>, OrFailed<ProbedImage>> {
  return mergeMap(async (image: OrFailed<ImageRef>) => {
    if (isFailed(image)) return image;
    if (options.imageSize) return { ...image, ...options.imageSize };
    try {
      const probed = await probeImage(image);
      if (probed.width * probed.height > MAX_PIXELS) {
        return failedBeforeSending(image, `${probed.width} x ${probed.height} = ${probed.width * probed.height} pixels is over CoralNet's limit of ${MAX_PIXELS} (8000 x 8000): downscale it.`);
      }
      return image.exif === undefined ? probed : withKnownExif(probed, image.exif);
    } catch (error) {
      return failedBeforeSending(image, `${image.path ?? image.url ?? image.name} ${(error as Error).message}`);
    }
  }, options.concurrency ?? 32);
}

