/**
 * Going on with an interrupted run: which of its jobs to poll again, and which images of the
 * source they stand for. Images are matched by identity (name and version), not by position, so
 * that a source that changed between the crash and the resume is still annotated exactly once.
 */
import type { CoralNetClient } from '../coralnet/client.js';
import type { PlannedImage } from '../model.js';
import type { SubmittedJob } from '../operators/deploy.js';
import type { JournalState } from './journal.js';
import { identityOf, type WrittenImages } from './writtenImages.js';

export interface RecoveredJob {
  job: SubmittedJob;
  /** The identities of the images this job is the last to have been sent (others were sent again later). */
  owns: Set<string>;
}

export interface Recovery {
  recovered: RecoveredJob[];
  /** The job of a deploy whose answer the crash cut off, found among the account's jobs. */
  found?: { deploy: string; job: string };
  /** Such a deploy's job was not among the account's jobs: never made, or scrolled out of the recent ones. */
  notFound?: boolean;
}

/**
 * The jobs of an interrupted run to poll again instead of sending their images again: those with
 * images not yet written. With the username, a deploy whose id the crash kept from the journal is
 * found as the account's one new job above the highest id known before it was sent, among its
 * active jobs and its recently finished ones (CoralNet lists 2 × its job limit of these, newest
 * first: a job that finished longer ago than that is not found, and its images are sent again).
 */
export async function recoverJobs(client: CoralNetClient, state: JournalState, written: WrittenImages): Promise<Recovery> {
  const jobs: Array<{ job: string; images: PlannedImage[] }> = [...state.jobs];
  let found: Recovery['found'];
  const lost = state.unconfirmed.length === 1 ? state.unconfirmed[0]! : undefined;
  const looked = lost !== undefined && client.username !== undefined && lost.knownMax !== undefined;
  if (looked) {
    const known = new Set(jobs.map((j) => j.job));
    const user = await client.user();
    const above = [...user.activeJobIds, ...user.recentlyCompletedJobIds].filter((id) => Number(id) > Number(lost.knownMax) && !known.has(id));
    if (above.length === 1) {
      jobs.push({ job: above[0]!, images: lost.images });
      found = { deploy: lost.deploy, job: above[0]! };
    }
  }
  const notFound = looked && found === undefined;
  // Each image belongs to the last job it was sent in; written ones belong to none.
  const owner = new Map<string, string>();
  for (const { job, images } of jobs) for (const image of images) if (!written.has(image)) owner.set(identityOf(image), job);
  const recovered: RecoveredJob[] = [];
  for (const { job, images } of jobs) {
    const owns = new Set(images.map(identityOf).filter((key) => owner.get(key) === job));
    if (owns.size === 0) continue;
    const handle = client.jobFromId(job);
    client.adopt(handle);
    recovered.push({ job: { job: handle, images, sentAt: Date.now() }, owns });
  }
  return { recovered, found, notFound };
}

/**
 * The places in this run's stream of the images that recovered jobs stand for: the listing gives
 * each its place when it meets it; an image the listing never meets (removed from the source) has
 * none, and its result is dropped.
 */
/** Where the listing met an image: its place in the stream, and the ticket of the credit it took. */
export interface Place {
  seq: number;
  ticket?: number;
}

export class Claims {
  private readonly places = new Map<string, Place>();
  private readonly waiting = new Map<string, (place: Place | undefined) => void>();
  private ended = false;

  constructor(private readonly keys: ReadonlySet<string>) {}

  /** Whether a recovered job stands for this image. */
  has(key: string): boolean {
    return this.keys.has(key);
  }

  /** The listing met the image at `place`. */
  place(key: string, place: Place): void {
    const waiting = this.waiting.get(key);
    if (waiting) {
      this.waiting.delete(key);
      waiting(place);
    } else this.places.set(key, place);
  }

  /** Resolves with the image's place, or undefined once the listing ended without it. */
  placeOf(key: string): Promise<Place | undefined> {
    const place = this.places.get(key);
    if (place !== undefined || this.ended) return Promise.resolve(place);
    return new Promise((resolve) => this.waiting.set(key, resolve));
  }

  /** The listing is over: images not met have no place. */
  end(): void {
    this.ended = true;
    for (const resolve of this.waiting.values()) resolve(undefined);
    this.waiting.clear();
  }
}
