/**
 * A survey in a Dropbox folder: its images, listed page by page and folder by folder, each given a
 * URL CoralNet can download — a public shared link made direct (`dl=1`, `rlkey` kept), or a
 * temporary link (4 hours) — made only when the image is pulled.
 */
import { Agent, request, type Dispatcher } from 'undici';
import type { ImageRef } from '../model.js';
import { retryPause, sleep } from '../util/duration.js';
import { keepsSecrets } from '../util/loopback.js';
import { failedBeforeSending, type OrFailed } from '../operators/failures.js';
import { isImageName, needsConverting } from './localFolder.js';

export interface DropboxOptions {
  /** An access token (short-lived ones expire after 4 hours). */
  token?: string;
  /** Or a refresh token and the app's key (and secret, for apps that have one): tokens are renewed as they expire. */
  refreshToken?: string;
  appKey?: string;
  appSecret?: string;
  /** The folder, e.g. `/Surveys/site1` (`""` or `/` for the root). */
  path: string;
  /** Walk subfolders (one listing per folder). Default true. */
  recursive?: boolean;
  /** `shared` (default): a permanent public link per image. `temporary`: a 4-hour link, no sharing. */
  links?: 'shared' | 'temporary';
  /** Entries per page, 1..2000. Default 2000. */
  pageSize?: number;
  /** Default `https://api.dropboxapi.com/`. */
  apiUrl?: string;
  /** Tries of a request on 5xx or a dropped connection. Default 5. */
  attempts?: number;
  dispatcher?: Dispatcher;
}

/** A failure of the Dropbox API that retrying will not mend. */
export class DropboxError extends Error {
  readonly code = 'DROPBOX';
  constructor(
    message: string,
    readonly route: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'DropboxError';
  }
}

interface FileEntry {
  '.tag': 'file' | 'folder' | 'deleted';
  name: string;
  path_lower: string;
  path_display: string;
  rev?: string;
  is_downloadable?: boolean;
}

interface ListPage {
  entries: FileEntry[];
  cursor: string;
  has_more: boolean;
}

/** The Dropbox API v2 as this source needs it: JSON routes, token renewal, 429 and 5xx waited out. */
class DropboxApi {
  #token?: string;
  readonly #options: DropboxOptions;
  readonly #base: URL;
  readonly #dispatcher: Dispatcher;

  constructor(options: DropboxOptions) {
    this.#options = options;
    this.#token = options.token;
    this.#base = new URL(options.apiUrl ?? 'https://api.dropboxapi.com/');
    if (!keepsSecrets(this.#base)) {
      throw new Error(`The Dropbox API at ${this.#base.origin} is plain http: a token is sent only over https (or to this machine).`);
    }
    if (options.token === undefined && (options.refreshToken === undefined || options.appKey === undefined)) {
      throw new Error('Dropbox needs an access token (DROPBOX_TOKEN), or a refresh token and the app key (DROPBOX_REFRESH_TOKEN, DROPBOX_APP_KEY).');
    }
    this.#dispatcher = options.dispatcher ?? new Agent({ connections: 8 });
  }

  /** Calls a route; an expired token is renewed once (with a refresh token), 429 and 5xx are waited out. */
  async call<T>(route: string, body: unknown): Promise<{ status: number; json: T }> {
    let renewed = false;
    for (let attempt = 1; ; attempt++) {
      if (this.#token === undefined) await this.renew(route);
      let res: Dispatcher.ResponseData;
      try {
        res = await request(new URL(`2/${route}`, this.#base), {
          method: 'POST',
          headers: { authorization: `Bearer ${this.#token}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
          dispatcher: this.#dispatcher,
        });
      } catch (error) {
        if (attempt >= (this.#options.attempts ?? 5)) throw new DropboxError(`Dropbox ${route}: ${(error as Error).message}`, route, 0);
        await retryPause(attempt);
        continue;
      }
      const text = await res.body.text();
      const json = parseJson(text);
      if (res.statusCode === 200 || res.statusCode === 409) return { status: res.statusCode, json: json as T };
      if (res.statusCode === 429) {
        const seconds = Number(res.headers['retry-after'] ?? (json as { retry_after?: number } | undefined)?.retry_after ?? 1);
        await sleep(Math.max(1, seconds) * 1000);
        attempt--;
        continue;
      }
      if (res.statusCode === 401) {
        const tag = (json as { error?: { '.tag'?: string } } | undefined)?.error?.['.tag'];
        if (tag === 'expired_access_token' && !renewed && this.#options.refreshToken !== undefined) {
          renewed = true;
          this.#token = undefined;
          continue;
        }
        throw new DropboxError(
          `Dropbox refused the token (${tag ?? 'invalid'}): give a valid DROPBOX_TOKEN, or DROPBOX_REFRESH_TOKEN with DROPBOX_APP_KEY so that it can be renewed.`,
          route,
          401,
        );
      }
      if (res.statusCode >= 500 && attempt < (this.#options.attempts ?? 5)) {
        await retryPause(attempt);
        continue;
      }
      throw new DropboxError(`Dropbox ${route} answered ${res.statusCode}: ${text.slice(0, 200)}`, route, res.statusCode);
    }
  }

  private async renew(route: string): Promise<void> {
    const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: this.#options.refreshToken!, client_id: this.#options.appKey! });
    if (this.#options.appSecret !== undefined) form.set('client_secret', this.#options.appSecret);
    const res = await request(new URL('oauth2/token', this.#base), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
      dispatcher: this.#dispatcher,
    });
    const json = parseJson(await res.body.text()) as { access_token?: string } | undefined;
    if (res.statusCode !== 200 || typeof json?.access_token !== 'string') {
      throw new DropboxError(`Dropbox did not renew the access token (${res.statusCode}): check DROPBOX_REFRESH_TOKEN and DROPBOX_APP_KEY.`, route, res.statusCode);
    }
    this.#token = json.access_token;
  }

  async close(): Promise<void> {
    if (this.#options.dispatcher === undefined) await this.#dispatcher.close();
  }

  /** Hides the token from `util.inspect` and logs. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `DropboxApi(${this.#base.origin})`;
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const summaryOf = (json: unknown): string => (json as { error_summary?: string } | undefined)?.error_summary ?? 'unknown error';

/** A shared link as a direct download: `dl=1`, every other query parameter (`rlkey`) kept. */
export function directLink(link: string): string {
  const url = new URL(link);
  url.searchParams.delete('raw');
  url.searchParams.set('dl', '1');
  return url.href;
}

/** The files of one folder, page by page; a dead cursor (`reset`) lists the folder again, skipping what was given. */
async function* filesOf(api: DropboxApi, folder: string, pageSize: number, subfolders: string[]): AsyncGenerator<FileEntry> {
  const given = new Set<string>();
  for (;;) {
    let page = await api.call<ListPage>('files/list_folder', { path: folder, recursive: false, limit: pageSize });
    if (page.status === 409) {
      const summary = summaryOf(page.json);
      if (summary.startsWith('path/not_found')) throw new DropboxError(`The Dropbox folder ${folder || '/'} does not exist: check the path after dropbox: (it is the folder's path in your Dropbox, e.g. /Surveys/site1).`, 'files/list_folder', 409);
      throw new DropboxError(`Dropbox could not list ${folder || '/'}: ${summary}`, 'files/list_folder', 409);
    }
    let reset = false;
    for (;;) {
      for (const entry of page.json.entries) {
        if (entry['.tag'] === 'folder') {
          if (!given.has(entry.path_lower)) subfolders.push(entry.path_display);
          given.add(entry.path_lower);
        } else if (entry['.tag'] === 'file' && !given.has(entry.path_lower)) {
          given.add(entry.path_lower);
          yield entry;
        }
      }
      // An empty page is not the end: only has_more says so.
      if (!page.json.has_more) return;
      page = await api.call<ListPage>('files/list_folder/continue', { cursor: page.json.cursor });
      if (page.status === 409) {
        if (!summaryOf(page.json).startsWith('reset')) throw new DropboxError(`Dropbox could not go on listing ${folder || '/'}: ${summaryOf(page.json)}`, 'files/list_folder/continue', 409);
        reset = true;
        break;
      }
    }
    if (!reset) return;
  }
}

interface LinkMetadata {
  url?: string;
  link_permissions?: {
    resolved_visibility?: { '.tag'?: string };
    effective_audience?: { '.tag'?: string };
    require_password?: boolean;
    allow_download?: boolean;
  };
}

/**
 * Why the public cannot download through a shared link (CoralNet downloads as the public), or
 * undefined when it can: a team-only, password or members-only link, or one with downloads off.
 */
export function linkProblem(path: string, link: LinkMetadata): string | undefined {
  const permissions = link.link_permissions ?? {};
  const who = permissions.effective_audience?.['.tag'] ?? permissions.resolved_visibility?.['.tag'];
  const settings = `open its sharing settings in Dropbox and make the link public ("anyone with the link") with downloads allowed, or use --dropbox-links temporary`;
  if (who !== undefined && who !== 'public') return `${path}: its shared link is for "${who}" only, so CoralNet cannot download it: ${settings}.`;
  if (permissions.require_password === true) return `${path}: its shared link needs a password, so CoralNet cannot download it: ${settings}.`;
  if (permissions.allow_download === false) return `${path}: its shared link does not allow downloads, so CoralNet cannot download it: ${settings}.`;
  return undefined;
}

/** The public link of a file that CoralNet can download, or the reason there is none. */
type Link = { url: string } | { problem: string };

/** A URL CoralNet can download: the image's shared link (made, or the existing one), or a temporary link. */
async function linkOf(api: DropboxApi, path: string, kind: 'shared' | 'temporary'): Promise<Link> {
  if (kind === 'temporary') {
    const { status, json } = await api.call<{ link: string }>('files/get_temporary_link', { path });
    if (status !== 200) return { problem: `Dropbox gave no temporary link for ${path} (${summaryOf(json)}): check that the file is still there and that the app may read it.` };
    return { url: json.link };
  }
  const made = await api.call<LinkMetadata>('sharing/create_shared_link_with_settings', { path, settings: { audience: 'public', access: 'viewer', allow_download: true } });
  let link: LinkMetadata | undefined;
  if (made.status === 200) link = made.json;
  else if (summaryOf(made.json).startsWith('shared_link_already_exists')) {
    link = (made.json as { error?: { shared_link_already_exists?: { metadata?: LinkMetadata } } }).error?.shared_link_already_exists?.metadata;
    if (link?.url === undefined) {
      const listed = await api.call<{ links: LinkMetadata[] }>('sharing/list_shared_links', { path, direct_only: true });
      link = listed.status === 200 ? listed.json.links[0] : undefined;
      if (link?.url === undefined) return { problem: `Dropbox says ${path} has a shared link but lists none (${summaryOf(listed.json)}): remove the link in Dropbox and run the same command again.` };
    }
  } else {
    const summary = summaryOf(made.json);
    const what = summary.startsWith('access_denied')
      ? 'Dropbox refused to share it (access_denied): the folder\'s or the team\'s settings allow no links'
      : summary.startsWith('email_not_verified')
        ? 'Dropbox shares nothing until the account\'s email address is verified (email_not_verified)'
        : `Dropbox made no shared link (${summary})`;
    return { problem: `${path}: ${what}; share it by hand, or use --dropbox-links temporary.` };
  }
  const found = link as LinkMetadata & { url: string };
  const problem = linkProblem(path, found);
  return problem === undefined ? { url: directLink(found.url) } : { problem };
}

/**
 * The images of a Dropbox folder as a survey source: names are paths inside the folder, in the
 * same order on every run (each folder's files sorted, then its subfolders), and each image gets
 * its download link only when the run pulls it (credits), never for the whole folder.
 * @example
 * await runSurvey({ source: dropbox({ token: process.env.DROPBOX_TOKEN, path: '/Surveys/site1' }), … });
 * listImages(dropbox({ refreshToken, appKey, path: '/Surveys/site1', links: 'temporary' })).pipe(probe(), …)
 */
export function dropbox(options: DropboxOptions): AsyncIterable<OrFailed<ImageRef>> {
  return {
    async *[Symbol.asyncIterator]() {
      const api = new DropboxApi(options);
      const root = options.path === '/' ? '' : options.path.replace(/\/+$/, '');
      const prefix = `${root.toLowerCase()}/`;
      const nameOf = (entry: { path_display: string }): string => entry.path_display.slice(prefix.length);
      try {
        const folders = [root];
        while (folders.length > 0) {
          const folder = folders.shift()!;
          const subfolders: string[] = [];
          // Dropbox promises no order: one folder's names are sorted before any is given, so that
          // rows come in name order (a survey folder holds thousands, not millions).
          const files: FileEntry[] = [];
          try {
            for await (const entry of filesOf(api, folder, options.pageSize ?? 2000, subfolders)) {
              if (isImageName(entry.name) || needsConverting(entry.name)) files.push(entry);
            }
          } catch (error) {
            // The survey folder itself, or the token: every image would fail.
            if (folder === root || !(error instanceof DropboxError) || error.status !== 409) throw error;
            yield failedBeforeSending({ name: `${nameOf({ path_display: folder })}/` }, `${error.message}: the photos of this folder are not in this run.`);
            continue;
          }
          files.sort((a, b) => (a.path_lower < b.path_lower ? -1 : a.path_lower > b.path_lower ? 1 : 0));
          for (const entry of files) {
            const image: ImageRef = { name: nameOf(entry), ...(entry.rev === undefined ? {} : { version: entry.rev }) };
            if (needsConverting(entry.name)) {
              yield failedBeforeSending(image, `${entry.path_display} is a ${entry.name.split('.').pop()!.toUpperCase()} file, which CoralNet cannot read: convert it to JPEG in the folder.`);
              continue;
            }
            if (entry.is_downloadable === false) {
              yield failedBeforeSending(image, `Dropbox says ${entry.path_display} cannot be downloaded (is_downloadable is false): copy the photo into the folder as an ordinary file.`);
              continue;
            }
            const link = await linkOf(api, entry.path_lower, options.links ?? 'shared');
            yield 'url' in link ? { ...image, url: link.url } : failedBeforeSending(image, link.problem);
          }
          if (options.recursive ?? true) folders.unshift(...subfolders.sort());
        }
      } finally {
        await api.close();
      }
    },
  };
}
