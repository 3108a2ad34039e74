/** What a survey run is told: CoralNet, the source, the points, the outputs, the limits; and how it stops. */
import type { CoralNetClient, ClientEvent } from '../coralnet/client.js';
import type { AnnotationArea, PointMethod } from '../images/points.js';
import type { ImageSource } from '../operators/listImages.js';
import type { RateWindow } from '../util/duration.js';
import type { StuckRule } from './pollPlanner.js';

export interface SurveyOptions {
  /** The API base ending in `/api/`. Default CoralNet's. */
  apiUrl?: string;
  token?: string;
  username?: string;
  password?: string;
  /** A client already connected (pipelines that share one); the credentials above are then unused. */
  client?: CoralNetClient;
  classifierId: number | string;
  source: ImageSource;
  /** How the source is named in the journal's settings when it is not a path (`dropbox:/Surveys/site1`). */
  sourceName?: string;
  /** `random:30`, `stratified:5x6x1`, `grid:10x10`; or `pointsCsv`. */
  points?: string | PointMethod;
  /** A CSV of `Name,Row,Column`: the points of each image, instead of `points`. */
  pointsCsv?: string;
  area?: string | AnnotationArea;
  seed?: number | string;
  /** The CSV output (CoralNet's export columns). */
  out: string;
  /** One line per image: points with all classifications and raw scores, and the request. */
  ndjson?: string;
  /** One line per failed image, with its reason and attempts. Default: next to `out`. */
  errors?: string;
  /** Public URL prefix under which the local folder's images are published, for the real CoralNet. */
  urlPrefix?: string;
  /**
   * The folder a source's local files are in when the source is not a folder path (a COCO
   * Annotator dataset downloads into one): its images are published as a folder source's are.
   */
  imagesFolder?: string;
  /** Date, Aux1–5, Latitude, Longitude columns. Default true. */
  metadata?: boolean;
  /** Aux1–Aux5 from the folders of an image's name (`site1/T2/IMG_1.JPG`), where the source gives none. */
  auxFromFolders?: boolean;
  /** Every image has this size: no probing (EXIF columns stay empty). */
  imageSize?: { width: number; height: number };
  /** Times an image is sent at most. Default 3. */
  maxAttempts?: number;
  /** The client's request windows and job slots; CoralNet's by default. */
  windows?: readonly RateWindow[];
  jobSlots?: number;
  /** Images in flight at most. Default 100 × (2 × job slots + 1): the jobs running, as many ready to go, one being written. */
  window?: number;
  /** A partial chunk is sent after this long without a new image. Default 2 s. */
  chunkFlushMs?: number;
  /** When a job that said finished but whose result answers 409 is given up on (its images sent again). */
  stuckJobAfter?: StuckRule;
  /** Draw a progress line on this stream when it is a terminal. */
  progressStream?: NodeJS.WriteStream;
  onEvent?: (event: ClientEvent) => void;
  /** Told of a resume, and of what changed in the source since. */
  log?: (line: string) => void;
  /** Stops the run (Ctrl-C): what is written is checkpointed, and the run rejects with a `RunStoppedError`. */
  signal?: AbortSignal;
}

/** The run was stopped by its signal; its journal is checkpointed, and the same run goes on from there. */
export class RunStoppedError extends Error {
  readonly code = 'RUN_STOPPED';
  constructor() {
    super('The run was stopped. What was written is kept: run the same command again to go on from there.');
    this.name = 'RunStoppedError';
  }
}

/** What is recorded of a run's settings: the same command goes on from its journal, another is refused. */
export function settingsOf(options: SurveyOptions): Record<string, unknown> {
  return {
    source: options.sourceName ?? (typeof options.source === 'string' ? options.source : '(code)'),
    classifierId: String(options.classifierId),
    points: options.points ?? null,
    pointsCsv: options.pointsCsv ?? null,
    area: typeof options.area === 'object' ? options.area : (options.area ?? null),
    seed: String(options.seed ?? 1),
    metadata: options.metadata ?? true,
    ndjson: options.ndjson ?? null,
    ...(options.auxFromFolders ? { auxFromFolders: true } : {}),
  };
}
