/**
 * Serves one local folder of images over http on loopback, so that a server on this machine (the
 * simulator) can download them by URL. Only files inside the folder are served, and photos its
 * links lead to.
 */
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, resolve, sep } from 'node:path';
import { isLoopbackHost } from '../util/loopback.js';
import { isImageName } from './localFolder.js';

const CONTENT_TYPES: Record<string, string> = {
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.tif': 'image/tiff',
  '.tiff': 'image/tiff',
  '.webp': 'image/webp',
  '.bmp': 'image/bmp',
  '.gif': 'image/gif',
};

export interface ServedFolder {
  /** Base URL ending in `/`; a file's URL is this plus its path relative to the folder. */
  url: string;
  /** The URL of a file, given its path relative to the folder (`site1/IMG_0001.JPG`). */
  urlOf(relativePath: string): string;
  close(): Promise<void>;
}

/**
 * @example
 * const served = await serveFolder('/surveys/site1');
 * served.urlOf('IMG_0001.JPG'); // http://127.0.0.1:40123/IMG_0001.JPG
 */
export async function serveFolder(folder: string, options: { host?: string; port?: number } = {}): Promise<ServedFolder> {
  const host = options.host ?? '127.0.0.1';
  if (!isLoopbackHost(host)) throw new Error(`A local folder is served on this machine only: ${host} is not a loopback address.`);
  const root = await realpath(folder);
  const server = createServer((req, res) => {
    const fail = (status: number): void => void res.writeHead(status, { 'content-type': 'text/plain' }).end(`${status}\n`);
    if (req.method !== 'GET' && req.method !== 'HEAD') return fail(405);
    let relative: string;
    try {
      // The path as sent, not normalised: a request that names `..` anywhere is refused outright.
      relative = decodeURIComponent((req.url ?? '/').split(/[?#]/)[0]!);
    } catch {
      return fail(400);
    }
    if (relative.includes('\0') || relative.split(/[/\\]/).includes('..')) return fail(403);
    const wanted = resolve(root, `.${relative}`);
    void (async () => {
      try {
        const real = await realpath(wanted);
        // A link that leads out of the folder is followed to a photo only, as the listing follows it.
        if (!real.startsWith(root + sep) && !isImageName(real)) return fail(403);
        const info = await stat(real);
        if (!info.isFile()) return fail(404);
        res.writeHead(200, {
          'content-type': CONTENT_TYPES[extname(real).toLowerCase()] ?? 'application/octet-stream',
          'content-length': String(info.size),
        });
        if (req.method === 'HEAD') return void res.end();
        createReadStream(real)
          .on('error', () => res.destroy())
          .pipe(res);
      } catch {
        fail(404);
      }
    })();
  });
  await new Promise<void>((done, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => done());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}/`;
  return {
    url,
    urlOf: (relativePath) => url + relativePath.split(sep).map(encodeURIComponent).join('/'),
    close: () =>
      new Promise((done) => {
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}
