/**
 * A local Dropbox API v2 double, after `docs/dropbox.md`: a real HTTP server on loopback that
 * serves a folder of this machine as a Dropbox, with the quirks that matter to a client — pages
 * that may be empty while `has_more` is true, a cursor that can go dead (`reset`), shared links
 * that already exist (409, with or without metadata), new-style links with `rlkey`, `dl=0` links
 * that answer a preview page, short-lived tokens, and 429 with Retry-After.
 */
import { createReadStream, existsSync, readdirSync, statSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export interface DropboxDoubleOptions {
  /** The local folder that is the Dropbox's root. */
  root: string;
  /** After this many API calls with one access token, it answers 401 expired_access_token. */
  tokenLifetimeCalls?: number;
  /** Every page after a full page is empty, with has_more still true. */
  emptyPages?: boolean;
  /** The first list_folder/continue answers 409 reset. */
  resetOnce?: boolean;
  /** API calls with these numbers (from 1) answer 429 with Retry-After: 1. */
  throttleCalls?: number[];
  /** Folders are listed in reverse name order (Dropbox promises no order). */
  reverseOrder?: boolean;
  /** Paths (lower case) that Dropbox refuses to share: `access_denied`, as a team policy does. */
  deniedPaths?: string[];
}

/** Who a shared link opens for, as Dropbox resolves it (`link_permissions.resolved_visibility`). */
export type LinkVisibility = 'public' | 'team_only' | 'password' | 'team_and_password' | 'shared_folder_only';

interface Link {
  id: string;
  rlkey: string;
  path: string;
  visibility: LinkVisibility;
}

export interface DropboxDouble {
  /** The API base: `http://127.0.0.1:PORT/` (routes under `2/`, `oauth2/token`). */
  url: string;
  token: string;
  refreshToken: string;
  appKey: string;
  /** Calls per route, links made, content requests (with the Range header, if any). */
  stats: { calls: Record<string, number>; linksCreated: number; renewals: number; throttled: number; downloads: Array<{ path: string; range?: string }> };
  /** Makes a shared link for `path` beforehand; `withMetadata`: the 409 on a second one carries it. */
  share(path: string, withMetadata: boolean, visibility?: LinkVisibility): string;
  close(): Promise<void>;
}

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
};

const routeError = (res: ServerResponse, summary: string, error: Record<string, unknown>): void => json(res, 409, { error_summary: summary, error });

export async function startDropboxDouble(options: DropboxDoubleOptions): Promise<DropboxDouble> {
  let base = '';
  let tokenNumber = 1;
  let currentToken = `sl.token-${tokenNumber}`;
  let callsWithToken = 0;
  let apiCalls = 0;
  let resetDone = false;
  const links = new Map<string, Link & { withMetadata: boolean }>();
  const temporary = new Map<string, string>();
  const stats: DropboxDouble['stats'] = { calls: {}, linksCreated: 0, renewals: 0, throttled: 0, downloads: [] };
  const refreshToken = 'refresh-abc';
  const appKey = 'app-key-1';

  /** The local file of a Dropbox path; like Dropbox, case does not matter. */
  const localOf = (path: string): string => {
    let local = options.root;
    for (const part of path.split('/').filter((segment) => segment !== '')) {
      const found = existsSync(local) && statSync(local).isDirectory() ? readdirSync(local).find((name) => name.toLowerCase() === part.toLowerCase()) : undefined;
      local = join(local, found ?? part);
    }
    return local;
  };
  const linkUrl = (link: Link): string => `${base}scl/fi/${link.id}/${encodeURIComponent(link.path.split('/').pop()!)}?rlkey=${link.rlkey}&dl=0`;
  const makeLink = (path: string, withMetadata: boolean, visibility: LinkVisibility = 'public'): Link & { withMetadata: boolean } => {
    const n = links.size + 1;
    const link = { id: `id${n}x`, rlkey: `rk${n}q`, path: path.toLowerCase(), withMetadata, visibility };
    links.set(link.path, link);
    return link;
  };
  const linkMetadata = (link: Link): Record<string, unknown> => ({ '.tag': 'file', url: linkUrl(link), id: `id:${link.id}`, name: link.path.split('/').pop(), path_lower: link.path, link_permissions: {
      can_revoke: true,
      resolved_visibility: { '.tag': link.visibility },
      effective_audience: { '.tag': { public: 'public', team_only: 'team', password: 'password', team_and_password: 'team', shared_folder_only: 'members' }[link.visibility] },
      require_password: link.visibility.includes('password'),
      allow_download: true,
    },
  });

  /** A file's metadata; its revision changes with its content (size and modification time here). */
  const fileMetadata = (name: string, display: string): Record<string, unknown> => {
    const info = statSync(localOf(display));
    const modified = new Date(Math.floor(info.mtimeMs / 1000) * 1000).toISOString().replace('.000', '');
    const rev = `${Math.floor(info.mtimeMs).toString(16)}${info.size.toString(16)}`.padStart(16, '0').slice(-16);
    return { '.tag': 'file', name, id: `id:${display}`, path_lower: display.toLowerCase(), path_display: display, rev, size: info.size, is_downloadable: true, client_modified: modified, server_modified: modified };
  };

  /** Entries of one folder, sorted by name, as Dropbox metadata. */
  const entriesOf = async (path: string): Promise<unknown[] | undefined> => {
    const names = await readdir(localOf(path), { withFileTypes: true }).catch(() => undefined);
    if (names === undefined) return undefined;
    return names
      .sort((a, b) => a.name.localeCompare(b.name) * (options.reverseOrder ? -1 : 1))
      .map((entry) => {
        const display = `${path}/${entry.name}`;
        return entry.isDirectory()
          ? { '.tag': 'folder', name: entry.name, id: `id:${display}`, path_lower: display.toLowerCase(), path_display: display }
          : fileMetadata(entry.name, display);
      });
  };

  const page = async (res: ServerResponse, path: string, offset: number, limit: number, emptyNext: boolean): Promise<void> => {
    const entries = await entriesOf(path);
    if (entries === undefined) return routeError(res, 'path/not_found/..', { '.tag': 'path', path: { '.tag': 'not_found' } });
    const slice = emptyNext ? [] : entries.slice(offset, offset + limit);
    const next = emptyNext ? offset : offset + slice.length;
    const cursor = Buffer.from(JSON.stringify({ path, offset: next, limit, empty: options.emptyPages === true && !emptyNext && slice.length === limit })).toString('base64url');
    json(res, 200, { entries: slice, cursor, has_more: next < entries.length });
  };

  const api = async (req: IncomingMessage, res: ServerResponse, route: string, body: Record<string, unknown>): Promise<void> => {
    stats.calls[route] = (stats.calls[route] ?? 0) + 1;
    apiCalls++;
    if (options.throttleCalls?.includes(apiCalls)) {
      stats.throttled++;
      return json(res, 429, { error_summary: 'too_many_requests/..', error: { reason: { '.tag': 'too_many_requests' }, retry_after: 1 } }, { 'retry-after': '1' });
    }
    if (req.headers.authorization !== `Bearer ${currentToken}`) return json(res, 401, { error_summary: 'invalid_access_token/..', error: { '.tag': 'invalid_access_token' } });
    if (options.tokenLifetimeCalls !== undefined && ++callsWithToken > options.tokenLifetimeCalls) {
      return json(res, 401, { error_summary: 'expired_access_token/..', error: { '.tag': 'expired_access_token' } });
    }
    switch (route) {
      case 'files/list_folder': {
        const path = typeof body.path === 'string' ? body.path : '';
        return page(res, path, 0, Number(body.limit ?? 2000), false);
      }
      case 'files/list_folder/continue': {
        if (options.resetOnce && !resetDone) {
          resetDone = true;
          return routeError(res, 'reset/..', { '.tag': 'reset' });
        }
        const cursor = JSON.parse(Buffer.from(String(body.cursor), 'base64url').toString()) as { path: string; offset: number; limit: number; empty: boolean };
        return page(res, cursor.path, cursor.offset, cursor.limit, cursor.empty);
      }
      case 'sharing/create_shared_link_with_settings': {
        const path = String(body.path).toLowerCase();
        if (!(await stat(localOf(path)).catch(() => undefined))) return routeError(res, 'path/not_found/.', { '.tag': 'path', path: { '.tag': 'not_found' } });
        if (options.deniedPaths?.includes(path)) return routeError(res, 'access_denied/..', { '.tag': 'access_denied' });
        const existing = links.get(path);
        if (existing) {
          return routeError(res, 'shared_link_already_exists/..', { '.tag': 'shared_link_already_exists', ...(existing.withMetadata ? { shared_link_already_exists: { '.tag': 'metadata', metadata: linkMetadata(existing) } } : {}) });
        }
        stats.linksCreated++;
        return json(res, 200, linkMetadata(makeLink(path, true)));
      }
      case 'sharing/list_shared_links': {
        const link = links.get(String(body.path).toLowerCase());
        return json(res, 200, { links: link ? [linkMetadata(link)] : [], has_more: false });
      }
      case 'files/get_temporary_link': {
        const path = String(body.path).toLowerCase();
        if (!(await stat(localOf(path)).catch(() => undefined))) return routeError(res, 'path/not_found/.', { '.tag': 'path', path: { '.tag': 'not_found' } });
        const key = `t${temporary.size + 1}`;
        temporary.set(key, path);
        return json(res, 200, { metadata: { name: path.split('/').pop(), path_lower: path }, link: `${base}temp/${key}` });
      }
      default:
        res.writeHead(400, { 'content-type': 'text/plain' }).end(`Unknown API function: "${route}"`);
    }
  };

  /** The file's bytes, whole or the asked range. */
  const content = async (req: IncomingMessage, res: ServerResponse, path: string): Promise<void> => {
    const range = req.headers.range;
    stats.downloads.push({ path, ...(range ? { range } : {}) });
    const info = await stat(localOf(path));
    const match = /^bytes=(\d+)-(\d*)$/.exec(range ?? '');
    if (match) {
      const start = Number(match[1]);
      const end = Math.min(match[2] ? Number(match[2]) : info.size - 1, info.size - 1);
      res.writeHead(206, { 'content-type': 'application/octet-stream', 'content-range': `bytes ${start}-${end}/${info.size}`, 'content-length': String(end - start + 1) });
      createReadStream(localOf(path), { start, end }).pipe(res);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(info.size) });
    createReadStream(localOf(path)).pipe(res);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', base);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString();
    if (url.pathname === '/oauth2/token') {
      const form = new URLSearchParams(text);
      if (form.get('grant_type') !== 'refresh_token' || form.get('refresh_token') !== refreshToken || form.get('client_id') !== appKey) return json(res, 400, { error: 'invalid_grant' });
      stats.renewals++;
      currentToken = `sl.token-${++tokenNumber}`;
      callsWithToken = 0;
      return json(res, 200, { access_token: currentToken, token_type: 'bearer', expires_in: 14400 });
    }
    if (url.pathname.startsWith('/2/')) {
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(text) as Record<string, unknown>;
      } catch {
        res.writeHead(400, { 'content-type': 'text/plain' }).end('Error in call: request body is not JSON');
        return;
      }
      return api(req, res, url.pathname.slice(3), body);
    }
    const shared = /^\/scl\/fi\/([^/]+)\/[^/]+$/.exec(url.pathname);
    if (shared) {
      const link = [...links.values()].find((l) => l.id === shared[1] && l.rlkey === url.searchParams.get('rlkey'));
      if (!link) return void res.writeHead(404, { 'content-type': 'text/html' }).end('<html>That link is not valid.</html>');
      // Anyone but the public gets a sign-in or password page, not the photo.
      if (link.visibility !== 'public') return void res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>Sign in to view this file</body></html>');
      if (url.searchParams.get('dl') !== '1') return void res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>Dropbox preview</body></html>');
      return void res.writeHead(302, { location: `/content/${link.id}` }).end();
    }
    const direct = /^\/content\/([^/]+)$/.exec(url.pathname);
    const byContent = direct ? [...links.values()].find((l) => l.id === direct[1]) : undefined;
    if (byContent) return content(req, res, byContent.path);
    const temp = /^\/temp\/([^/]+)$/.exec(url.pathname);
    if (temp && temporary.has(temp[1]!)) return content(req, res, temporary.get(temp[1]!)!);
    res.writeHead(404).end();
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return {
    url: base,
    get token() {
      return currentToken;
    },
    refreshToken,
    appKey,
    stats,
    share: (path, withMetadata, visibility) => linkUrl(makeLink(path, withMetadata, visibility)),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
