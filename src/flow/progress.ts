/** A one-line progress display on a terminal, and the counts behind it. */
import { stat } from 'node:fs/promises';
import type { ImageSource } from '../operators/listImages.js';
import { walkFolder } from '../sources/localFolder.js';
import { countUrlList } from '../sources/urlList.js';
export interface Progress {
  /** Images in the survey, when known (counted beside the run). */
  total?: number;
  done: number;
  failed: number;
  inFlight: number;
  activeJobs: number;
  points: number;
  /** Images a resumed run found written before. */
  alreadyWritten?: number;
  /** What the run is waiting for now (throttled, a server error, the job limit), if anything. */
  waiting?: string;
  /** Images the server has done in jobs still running (their status answers): done, not yet written. */
  inRunningJobs?: number;
  startedAt: number;
}

/** Images per minute of this run: written, and done by the server in jobs still running. */
export function imagesPerMinute(p: Progress, now = Date.now()): number {
  const minutes = (now - p.startedAt) / 60_000;
  return minutes > 0 ? (p.done + p.failed + (p.inRunningJobs ?? 0)) / minutes : 0;
}

function clock(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(s % 60).padStart(2, '0')}s`;
}

/**
 * `1,204/175,000 done · 3 failed · 500 in flight · 5 jobs · 412/min · ETA 7h04m`, with the images
 * the server has done in jobs still running (from their status answers, so that the line moves
 * before a job's result is in), and what the run
 * waits for at the end (`· throttled by the server (429), waiting 12 s`). A resumed run counts the
 * images written before among the done (`… done (100,000 before this run) · …`).
 */
export function progressLine(p: Progress, now = Date.now()): string {
  const rate = imagesPerMinute(p, now);
  const before = p.alreadyWritten ?? 0;
  const running = p.inRunningJobs ?? 0;
  const finished = p.done + p.failed + before + running;
  const total = p.total === undefined ? '' : `/${p.total.toLocaleString('en')}`;
  const eta = p.total !== undefined && rate > 0 ? ` · ETA ${clock(((p.total - finished) / rate) * 60)}` : '';
  const earlier = before > 0 ? ` (${before.toLocaleString('en')} before this run)` : '';
  const waiting = p.waiting === undefined ? '' : ` · ${p.waiting}`;
  const serverSide = running > 0 ? ` · ${running.toLocaleString('en')} done in running jobs` : '';
  return `${(p.done + before).toLocaleString('en')}${total} done${earlier}${serverSide} · ${p.failed} failed · ${p.inFlight} in flight · ${p.activeJobs} jobs · ${Math.round(rate)}/min${eta}${waiting}`;
}

/** Redraws the progress line on a terminal every `everyMs`; does nothing when `stream` is not one. */
export function showProgress(read: () => Progress, stream: NodeJS.WriteStream = process.stderr, everyMs = 500): () => void {
  if (!stream.isTTY) return () => undefined;
  const draw = (): void => void stream.write(`\r\x1b[2K${progressLine(read())}`);
  const timer = setInterval(draw, everyMs);
  return () => {
    clearInterval(timer);
    draw();
    stream.write('\n');
  };
}

/** How many images the source holds, for the progress line: a folder walked, a URL list's lines counted. */
export async function countImages(source: ImageSource): Promise<number | undefined> {
  if (typeof source !== 'string') return undefined;
  if (!(await stat(source)).isDirectory()) return countUrlList(source);
  let n = 0;
  for await (const image of walkFolder(source, { versions: false })) if (image) n++;
  return n;
}
