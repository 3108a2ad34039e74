/**
 * The record of what was pushed for review, kept beside the run's NDJSON (`results.ndjson` →
 * `results.pushed.ndjson`): one line per image and push, with the server, the dataset, the image's
 * survey name and file name, and the points that arrived. A push imports only points that no line
 * lists, so a point people reviewed — relabelled, moved or deleted — is never imported again.
 *
 * Why beside the outputs and not in the dataset: COCO Annotator overwrites an annotation's metadata
 * with the dataset's default, keeps nothing else a client may write per image, and hides deleted
 * annotations from its API, so the dataset cannot tell which points were pushed and then deleted.
 * The dataset's own `annotated` flag (set by every import) is the guard when no record is at hand.
 */
import { open, readFile } from 'node:fs/promises';

export interface PushedImage {
  /** The COCO Annotator server's origin and the dataset's id there. */
  server: string;
  dataset: number;
  name: string;
  /** The image's file name in the dataset. */
  file: string;
  /** The points that arrived, as `[row, column]`. */
  points: Array<[number, number]>;
  task: number;
  at: string;
  /** Why the image went up: every image (`all`), a point under the push's `below` threshold, or the sample of the others. */
  why?: 'all' | 'below' | 'sample';
  below?: number;
}

/** `results.ndjson` → `results.pushed.ndjson`. */
export const pushRecordPath = (results: string): string => `${results.replace(/\.ndjson$/i, '')}.pushed.ndjson`;

/** `row,column`: a point as the record and a push compare it. */
export const pointKey = (row: number, column: number): string => `${row},${column}`;

/**
 * The points already pushed into one dataset (or into any, without `server` and `dataset`), by
 * survey name. A line cut by a crash is passed over: the points it would have listed are guarded by
 * the dataset's `annotated` flag. No record: nothing pushed.
 * @example const pushed = await readPushRecord('results.pushed.ndjson', 'https://annotator.example.org', 3)
 */
export async function readPushRecord(path: string, server?: string, dataset?: number): Promise<Map<string, Set<string>>> {
  const pushed = new Map<string, Set<string>>();
  const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return '';
    throw error;
  });
  for (const line of text.split('\n')) {
    let entry: PushedImage;
    try {
      entry = JSON.parse(line) as PushedImage;
    } catch {
      continue;
    }
    if ((server !== undefined && entry.server !== server) || (dataset !== undefined && entry.dataset !== dataset)) continue;
    const points = pushed.get(entry.name) ?? new Set<string>();
    for (const [row, column] of entry.points) points.add(pointKey(row, column));
    pushed.set(entry.name, points);
  }
  return pushed;
}

/**
 * Appends lines to the record and syncs them to disk; a line cut by an earlier crash is ended first.
 * @example await appendPushRecord('results.pushed.ndjson', [{ server, dataset: 3, name: 'site1/IMG_1.JPG', file: 'site1__IMG_1.JPG', points: [[10, 20]], task: 7, at }])
 */
export async function appendPushRecord(path: string, lines: readonly PushedImage[]): Promise<void> {
  if (lines.length === 0) return;
  const file = await open(path, 'a+');
  try {
    const { size } = await file.stat();
    let text = lines.map((line) => `${JSON.stringify(line)}\n`).join('');
    if (size > 0) {
      const last = Buffer.alloc(1);
      await file.read(last, 0, 1, size - 1);
      if (last[0] !== 0x0a) text = `\n${text}`;
    }
    await file.appendFile(text);
    await file.sync();
  } finally {
    await file.close();
  }
}
