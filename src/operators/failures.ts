import type { FailedImage, ImageRef } from '../model.js';

/** Items of a survey stream: work still to do, or an image that has already failed. */
export type OrFailed<T> = T | FailedImage;

export const isFailed = (item: unknown): item is FailedImage =>
  typeof item === 'object' && item !== null && (item as { ok?: unknown }).ok === false;

/** A permanent failure of an image before it was sent. */
export function failedBeforeSending(image: ImageRef, reason: string): FailedImage {
  return { ...image, ok: false as const, reason, transient: false, attempts: 0, jobIds: [] };
}
