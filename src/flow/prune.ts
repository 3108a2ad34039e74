/**
 * Removes the earlier lines of photos that changed after they were written and were annotated
 * again: each output is copied without them beside itself (`results.csv.pruned`), synced, and
 * renamed over it once every output is copied (the journal records that moment).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { open, rename, stat } from 'node:fs/promises';
import { syncFolder } from './journal.js';
import { writeWithDrain } from '../sinks/outputFile.js';

const QUOTE = 0x22;
const NEWLINE = 0x0a;
const COMMA = 0x2c;

export const prunedPath = (path: string): string => `${path}.pruned`;

/** The first field of a CSV record, unquoted. */
function firstCsvField(record: Buffer): string {
  if (record[0] !== QUOTE) {
    const end = record.indexOf(COMMA);
    return record.subarray(0, end === -1 ? record.length : end).toString('utf8');
  }
  let i = 1;
  for (; i < record.length; i++) if (record[i] === QUOTE && record[i + 1] !== QUOTE) break;
  return record.subarray(1, i).toString('utf8').replaceAll('""', '"');
}

const nameOfJson = (record: Buffer): string | undefined => {
  try {
    return (JSON.parse(record.toString('utf8')) as { name?: string }).name;
  } catch {
    return undefined;
  }
};

/** What a pruned copy holds, and what was left out of it. */
export interface Pruned {
  length: number;
  /** Records (lines) left out. */
  records: number;
  /** Images whose records were left out. */
  images: number;
}

/**
 * Copies `path` to its `.pruned` file without the records of `stale` names that start before each
 * name's offset (the first record of a CSV, its header, is kept).
 */
export async function pruneFile(path: string, kind: 'csv' | 'ndjson', stale: ReadonlyMap<string, number>): Promise<Pruned> {
  const out = createWriteStream(prunedPath(path));
  await once(out, 'open');
  let offset = 0;
  let start = 0;
  let quoted = false;
  let parts: Buffer[] = [];
  let first = true;
  let records = 0;
  const images = new Set<string>();
  const finish = async (record: Buffer): Promise<void> => {
    const name = first && kind === 'csv' ? undefined : kind === 'csv' ? firstCsvField(record) : nameOfJson(record);
    first = false;
    const bound = name === undefined ? undefined : stale.get(name);
    if (bound === undefined || start >= bound) return writeWithDrain(out, record);
    records++;
    images.add(name!);
  };
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    let from = 0;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i];
      if (kind === 'csv' && byte === QUOTE) quoted = !quoted;
      else if (byte === NEWLINE && !quoted) {
        parts.push(chunk.subarray(from, i + 1));
        await finish(Buffer.concat(parts));
        parts = [];
        from = i + 1;
        start = offset + i + 1;
      }
    }
    parts.push(chunk.subarray(from));
    offset += chunk.length;
  }
  const rest = Buffer.concat(parts);
  if (rest.length > 0) await finish(rest);
  out.end();
  await once(out, 'finish');
  const handle = await open(prunedPath(path), 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
  return { length: (await stat(prunedPath(path))).size, records, images: images.size };
}

/** Puts each pruned copy that is still beside its output in its place. */
export async function placePruned(paths: readonly string[]): Promise<void> {
  for (const path of paths) {
    if (!(await stat(prunedPath(path)).catch(() => undefined))) continue;
    await rename(prunedPath(path), path);
    await syncFolder(path);
  }
}
