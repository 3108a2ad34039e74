/**
 * A list of published image URLs: a text file with one URL a line, or a CSV with a `url` column and
 * optional `name` and `Aux1`–`Aux5` columns. Read line by line, never held whole.
 *
 * Names: a `name` cell is the image's name; otherwise the name is the URL's path after the folders
 * that every such URL of the list shares (the host counts as the first folder), decoded. A list of
 * one folder's photos is named by file name (`IMG_0001.JPG`); photos of two folders keep the folder
 * that tells them apart (`T1/GOPR0101.JPG`, `T2/GOPR0101.JPG`).
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { parse } from 'fast-csv';
import type { ImageRef } from '../model.js';
import { failedBeforeSending, type OrFailed } from '../operators/failures.js';
import { fingerprint, FingerprintMap, FingerprintSet } from '../util/fingerprints.js';

const AUX = ['Aux1', 'Aux2', 'Aux3', 'Aux4', 'Aux5'] as const;

/** A URL's host and path as decoded segments (the host first); undefined for what is no URL. */
function segmentsOf(url: string): string[] | undefined {
  try {
    const parsed = new URL(url);
    return [parsed.host, ...parsed.pathname.split('/').filter(Boolean).map((segment) => decodeURIComponent(segment))];
  } catch {
    return undefined;
  }
}

/** The name of an image at a URL: its path after the first `shared` segments (host included), decoded. */
export function nameFromUrl(url: string, shared = Infinity): string {
  const segments = segmentsOf(url);
  if (segments === undefined || segments.length < 2) return url;
  return segments.slice(Math.min(shared, segments.length - 1)).join('/');
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

interface ListLine {
  line: number;
  url: string;
  /** The `name` cell, when the list has one and it is filled. */
  name?: string;
  aux?: ImageRef['aux'];
}

/** The list's lines, checked: each has an http(s) URL. */
async function* linesOf(file: string): AsyncGenerator<ListLine> {
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
      yield { line, url, ...(lower.name ? { name: lower.name } : {}), ...(Object.keys(aux).length > 0 ? { aux } : {}) };
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
    yield { line, url };
  }
}

/** How many leading segments (host and folders) every URL without a name shares, and whether any line has a name. */
async function sharedFolders(file: string): Promise<{ shared: number; named: boolean }> {
  let shared: string[] | undefined;
  let named = false;
  for await (const { url, name } of linesOf(file)) {
    if (name !== undefined) {
      named = true;
      continue;
    }
    const folders = (segmentsOf(url) ?? []).slice(0, -1);
    if (shared === undefined) shared = folders;
    else {
      let n = 0;
      while (n < shared.length && n < folders.length && shared[n] === folders[n]) n++;
      shared.length = n;
    }
  }
  return { shared: shared?.length ?? 0, named };
}

/** A URL's tag in the names table: its fingerprint's low half, bit 1 saying the name came from the URL. */
const tagOf = (url: string, derived: boolean): number => ((fingerprint(url)[1] & ~2) | (derived ? 2 : 0)) >>> 0;
const DERIVED = 2;

/**
 * A name given to two different URLs is an error naming both lines. A URL listed again under its
 * name, or two URLs of one path, are left to the reading: one photo, annotated once.
 */
async function checkNames(file: string, shared: number): Promise<void> {
  const names = new FingerprintMap();
  for await (const { line, url, name } of linesOf(file)) {
    const final = name ?? nameFromUrl(url, shared);
    const tag = tagOf(url, name === undefined);
    const seen = names.get(final);
    if (seen === undefined) {
      names.set(final, tag);
      continue;
    }
    // The same photo listed again, or two URLs of one path (a query apart): annotated once.
    if ((seen & ~DERIVED) === (tag & ~DERIVED) || (name === undefined && (seen & DERIVED) !== 0)) continue;
    let first = 0;
    for await (const earlier of linesOf(file)) {
      if ((earlier.name ?? nameFromUrl(earlier.url, shared)) === final) {
        first = earlier.line;
        break;
      }
    }
    throw new Error(`${file}: lines ${first} and ${line} both name an image "${final}": names must be unique. Give one of them another name in the name column.`);
  }
}

/** How many images the list names (its URL lines), read once without checks: for a progress total. */
export async function countUrlList(file: string): Promise<number> {
  let n = 0;
  for await (const line of linesOf(file)) if (line.url) n++;
  return n;
}

/**
 * The images of a URL list, each name once (a line that names the same photo again is a failed
 * image saying so); two URLs given one name stop the list before any image, naming both lines.
 * @example for await (const image of readUrlList('survey-urls.csv')) console.log(image.url)
 */
export async function* readUrlList(file: string): AsyncGenerator<OrFailed<ImageRef>> {
  const { shared, named } = await sharedFolders(file);
  // Names taken from URLs differ unless the URLs are one photo's (the same path): only a list with
  // a name column can give two photos one name, and is checked for it before any image.
  if (named) await checkNames(file, shared);
  // Each name's first line is the image; a later line of the same name is the same photo again.
  const given = new FingerprintSet();
  // A URL listed again under another name, in a list with a name column.
  const urls = new FingerprintSet();
  for await (const { url, name, aux } of linesOf(file)) {
    const image: ImageRef = { name: name ?? nameFromUrl(url, shared), url, ...(aux ? { aux } : {}) };
    if (!given.add(image.name) || (name !== undefined && !urls.add(url))) {
      yield failedBeforeSending(image, `${url} is listed again: it is annotated once, under its first line.`);
      continue;
    }
    yield image;
  }
}
