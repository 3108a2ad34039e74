/** The records that flow through a survey run, in the words of the people who run surveys. */
import type { ClassifiedPoint } from './coralnet/schemas.js';

/** One photo of the survey, as a source names it. */
export interface ImageRef {
  /** The image's name in the output: its path inside the survey folder, or the URL list's `name`. */
  name: string;
  /** A local file, when the image is on this machine. */
  path?: string;
  /** A URL CoralNet can download, when the image is already published. */
  url?: string;
  /**
   * What tells this photo's content from an earlier one of the same name: a file's size and
   * modification time, a Dropbox revision. An image from a URL is known by its URL.
   */
  version?: string;
  /** Position in this run's stream (0-based): outputs are written in this order. */
  seq?: number;
  /** The ticket of the credit `listImages` took for it: a sink gives it back once the image is written. */
  ticket?: number;
  /** Aux1–Aux5 from the source (a URL list's columns), for the CSV's metadata columns. */
  aux?: Partial<Record<'Aux1' | 'Aux2' | 'Aux3' | 'Aux4' | 'Aux5', string>>;
  /**
   * EXIF facts the source knows when the file no longer carries them (COCO Annotator re-encodes
   * uploads without EXIF; the pushed run's NDJSON kept them): used where the file says nothing.
   */
  exif?: PhotoExif;
}

/** What reefstream reads from a photo's EXIF. */
export interface PhotoExif {
  /** The EXIF orientation tag (2–8) of a photo that viewers show turned or mirrored. */
  orientation?: number;
  /** EXIF DateTimeOriginal as written in the file (`2024:03:05 10:11:12`), no time zone applied. */
  dateTimeOriginal?: string;
  latitude?: number;
  longitude?: number;
}

/** An image whose stored size and EXIF metadata are known. */
export interface ProbedImage extends ImageRef, PhotoExif {
  /** Width and height as stored, EXIF orientation not applied: CoralNet's grid for rows and columns. */
  width: number;
  height: number;
}

export interface Point {
  row: number;
  column: number;
}

/** An image with its points placed, ready to be sent. */
export interface PlannedImage extends ProbedImage {
  points: Point[];
  /** How many times it has been sent so far. */
  attempts: number;
}

/** An image that has its machine annotations. */
export interface AnnotatedImage extends PlannedImage {
  ok: true;
  classified: ClassifiedPoint[];
  jobIds: string[];
}

/** An image that did not get annotations, with the reason. */
export interface FailedImage extends ImageRef {
  ok: false;
  reason: string;
  /** Whether sending again could help (a download failure) or not (not an image, points outside). */
  transient: boolean;
  attempts: number;
  jobIds: string[];
}

export type ImageOutcome = AnnotatedImage | FailedImage;
