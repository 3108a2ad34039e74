/**
 * A list of published image URLs: a text file with one URL a line, or a CSV with a `url` column and
 * optional `name` and `Aux1`–`Aux5` columns. Read line by line, never held whole.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { parse } from 'fast-csv';
import type { ImageRef } from '../model.js';

const AUX = ['Aux1', 'Aux2', 'Aux3', 'Aux4', 'Aux5'] as const;

/** The name of an image at a URL: the last path segment, decoded. */
export function nameFromUrl(url: string): string {
  try {
    const segments = new URL(url).pathname.split('/').filter(Boolean);
    return decodeURIComponent(segments.at(-1) ?? url);
  } catch {
    return url;
  }
}

async function firstLine(file: string): Promise<string> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(4096);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return buffer.subarray(0, bytesRead).toString('utf8').split(/\r?\n/)[0] ?? '';
  } finally {
    await handle.close();
  }
}

/**
 * @example for await (const image of readUrlList('survey-urls.csv')) console.log(image.url)
 */
export async function* readUrlList(file: string): AsyncGenerator<ImageRef> {
  const header = (await firstLine(file)).replace(/^\uFEFF/, '');
  const columns = header.split(',').map((c) => c.trim().replace(/^"|"$/g, '').toLowerCase());
  if (columns.includes('url')) {
    const rows = createReadStream(file).pipe(parse({ headers: (h) => h.map((x) => x?.trim().replace(/^\uFEFF/, '')), ignoreEmpty: true, trim: true }));
    let line = 1;
    for await (const row of rows as AsyncIterable<Record<string, string>>) {
      line++;
      const lower = Object.fromEntries(Object.entries(row).map(([k, v]) => [k.toLowerCase(), v]));
      const url = lower.url;
      if (!url) throw new Error(`${file}, line ${line}: the url column is empty.`);
      const aux = Object.fromEntries(AUX.filter((a) => lower[a.toLowerCase()]).map((a) => [a, lower[a.toLowerCase()]!]));
      yield { name: lower.name || nameFromUrl(url), url, ...(Object.keys(aux).length > 0 ? { aux } : {}) };
    }
    return;
  }
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  let line = 0;
  for await (const text of lines) {
    line++;
    const url = text.trim();
    if (url === '' || url.startsWith('#')) continue;
    if (!/^https?:\/\//i.test(url)) throw new Error(`${file}, line ${line}: "${url.slice(0, 80)}" is not an http(s) URL. Give one URL a line, or a CSV with a url column.`);
    yield { name: nameFromUrl(url), url };
  }
}
