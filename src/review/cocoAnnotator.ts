/**
 * A client of COCO Annotator's web API (`docs/coco-annotator.md`): the session login, datasets and
 * their image pages, image bytes, categories, image uploads, bulk COCO imports run as tasks, and
 * the COCO export. Plain http only to this machine: the password and the session cookie travel with
 * every call.
 */
import { readFile } from 'node:fs/promises';
import { fetch, FormData, type Response } from 'undici';
import { retryPause, sleep } from '../util/duration.js';
import { keepsSecrets } from '../util/loopback.js';

export interface CocoAnnotatorLogin {
  /** The server's root, e.g. `https://annotator.example.org/` (`/api` is added). */
  url: string;
  username: string;
  password: string;
  /** Tries of a call that met a 5xx or no answer. Default 3. */
  attempts?: number;
}

export class CocoAnnotatorError extends Error {
  override name = 'CocoAnnotatorError';
  readonly code = 'COCO_ANNOTATOR';
}

export interface Dataset {
  id: number;
  name: string;
  /** Category ids. */
  categories: number[];
}

export interface DatasetImage {
  id: number;
  file_name: string;
  /** Set by an import (and by the web UI's saves); a reviewer's deletions leave it set. */
  annotated?: boolean;
  num_annotations?: number;
}

export interface Category {
  id: number;
  name: string;
  /** Who made it (`GET /api/category/`), and whether it is in that user's undo tab. */
  creator?: string;
  deleted?: boolean;
}

/** A line of a task's log: `[01-12-2026 09:15:02] [WARNING] Could not find image IMG_1.JPG`. */
export interface TaskLogLine {
  level: string;
  message: string;
}

/** A task's log line split into its level and message (a line of another shape is kept whole, as INFO). */
export function parseTaskLog(line: string): TaskLogLine {
  const m = /^\[[^\]]*\] \[(\w+)\] ([\s\S]*)$/.exec(line);
  return m ? { level: m[1]!.toUpperCase(), message: m[2]! } : { level: 'INFO', message: line };
}

export interface CocoTask {
  id: number;
  name: string;
  completed: boolean;
  progress: number;
  errors: number;
  warnings: number;
}

/** What a COCO file holds, as far as reefstream reads it. */
export interface CocoFile {
  images: Array<{ id: number; file_name: string; width?: number; height?: number }>;
  categories: Array<{ id: number; name: string }>;
  annotations: Array<{ id?: number; image_id: number; category_id: number; keypoints?: number[] }>;
}

/** The API of one COCO Annotator server, logged in. */
export class CocoAnnotator {
  readonly url: URL;
  #cookie?: string;

  private constructor(
    url: URL,
    private readonly login: CocoAnnotatorLogin,
  ) {
    this.url = url;
  }

  /**
   * Logs in and keeps the session cookie.
   * @example const annotator = await CocoAnnotator.connect({ url: 'https://annotator.example.org/', username: 'me', password })
   */
  static async connect(login: CocoAnnotatorLogin): Promise<CocoAnnotator> {
    let url: URL;
    try {
      url = new URL(login.url.replace(/\/?(api\/?)?$/, '/'));
    } catch {
      throw new CocoAnnotatorError(`--coco-annotator ${login.url} is not a URL: give the server's address, such as https://annotator.example.org/.`);
    }
    if (!keepsSecrets(url)) {
      throw new CocoAnnotatorError(`COCO Annotator at ${url.origin} is not https: reefstream sends the password and session only over https, or over plain http to this machine.`);
    }
    const annotator = new CocoAnnotator(url, login);
    await annotator.signIn();
    return annotator;
  }

  private async signIn(): Promise<void> {
    const res = await this.send('POST', 'user/login', { json: { username: this.login.username, password: this.login.password }, signedIn: false });
    const body = (await res.json().catch(() => ({}))) as { success?: boolean; message?: string };
    if (res.status !== 200 || body.success !== true) {
      throw new CocoAnnotatorError(`COCO Annotator at ${this.url.origin} refused the login of ${this.login.username} (${body.message ?? `HTTP ${res.status}`}): check COCO_ANNOTATOR_USER and COCO_ANNOTATOR_PASSWORD.`);
    }
    const session = res.headers.getSetCookie().map((c) => /^session=([^;]*)/.exec(c)?.[1]).find((v) => v !== undefined);
    if (session === undefined) throw new CocoAnnotatorError(`COCO Annotator at ${this.url.origin} answered the login without a session cookie.`);
    this.#cookie = `session=${session}`;
  }

  /** One call; a lost session is renewed once, 5xx and no answer are tried again. */
  private async send(method: 'GET' | 'POST', path: string, options: { json?: unknown; form?: () => FormData; signedIn?: boolean } = {}): Promise<Response> {
    const url = new URL(`api/${path}`, this.url);
    const attempts = this.login.attempts ?? 3;
    let renewed = false;
    for (let attempt = 1; ; attempt++) {
      const headers: Record<string, string> = { accept: 'application/json' };
      if (this.#cookie !== undefined && options.signedIn !== false) headers.cookie = this.#cookie;
      let body: string | FormData | undefined;
      if (options.json !== undefined) {
        headers['content-type'] = 'application/json';
        body = JSON.stringify(options.json);
      } else if (options.form) {
        body = options.form(); // the encoder sets the multipart boundary
      }
      let res: Response;
      try {
        res = await fetch(url, { method, headers, body, redirect: 'manual' });
      } catch (error) {
        if (attempt >= attempts) throw new CocoAnnotatorError(`${method} ${url.pathname}: no answer from ${url.host} (${(error as Error).message}).`);
        await retryPause(attempt);
        continue;
      }
      if (res.status === 401 && options.signedIn !== false && !renewed) {
        await res.body?.cancel();
        renewed = true;
        attempt--;
        await this.signIn();
        continue;
      }
      if (res.status >= 500 && attempt < attempts) {
        await res.body?.cancel();
        await retryPause(attempt);
        continue;
      }
      return res;
    }
  }

  private async expectJson<T>(what: string, res: Response): Promise<T> {
    const text = await res.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new CocoAnnotatorError(`${what}: COCO Annotator answered ${res.status} with a body that is not JSON.`);
    }
    if (res.status !== 200) throw new CocoAnnotatorError(`${what}: COCO Annotator answered ${res.status} (${messageOf(body)}).`);
    return body as T;
  }

  async datasets(): Promise<Dataset[]> {
    return this.expectJson<Dataset[]>('Listing datasets', await this.send('GET', 'dataset/'));
  }

  /** The dataset of that name; a clear error naming the ones there are when it is missing. */
  async dataset(name: string): Promise<Dataset> {
    const all = await this.datasets();
    const found = all.find((d) => d.name === name);
    if (found) return found;
    const names = all.map((d) => d.name).sort();
    throw new CocoAnnotatorError(`COCO Annotator at ${this.url.origin} has no dataset ${name}${names.length > 0 ? `; it has ${names.join(', ')}` : ''}.`);
  }

  /** The dataset of that name, created when there is none (`POST /api/dataset/`, as the web UI does). */
  async datasetMade(name: string): Promise<{ dataset: Dataset; created: boolean }> {
    const found = (await this.datasets()).find((d) => d.name === name);
    if (found) return { dataset: found, created: false };
    const res = await this.send('POST', 'dataset/', { json: { name } });
    if (res.status === 400) {
      await res.body?.cancel();
      return { dataset: await this.dataset(name), created: false }; // made meanwhile
    }
    return { dataset: await this.expectJson<Dataset>(`Creating dataset ${name}`, res), created: true };
  }

  /**
   * The dataset's images, page after page, ordered by file name. Pages are asked for from 1; the
   * answer counts them from 0, and `pages` is one too many when the total divides evenly, so the
   * listing stops at the first empty page or once `total` images came.
   */
  async *images(datasetId: number, pageSize = 100): AsyncGenerator<DatasetImage> {
    let given = 0;
    for (let page = 1; ; page++) {
      const res = await this.send('GET', `dataset/${datasetId}/data?page=${page}&limit=${pageSize}&folder=&order=file_name`);
      const body = await this.expectJson<{ total: number; images: DatasetImage[] }>(`Listing the images of dataset ${datasetId}`, res);
      if (body.images.length === 0) return;
      for (const image of body.images) {
        yield image;
        given++;
      }
      if (given >= body.total) return;
    }
  }

  /** The dataset's categories (from its first data page, which lists them). */
  async datasetCategories(datasetId: number): Promise<Category[]> {
    const res = await this.send('GET', `dataset/${datasetId}/data?page=1&limit=1`);
    return (await this.expectJson<{ categories: Category[] }>(`Reading the categories of dataset ${datasetId}`, res)).categories;
  }

  /** The image as it was uploaded: `original` present (any value means on), else it comes re-encoded. */
  async original(imageId: number): Promise<Response> {
    const res = await this.send('GET', `image/${imageId}?original=true`);
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new CocoAnnotatorError(`Downloading image ${imageId}: COCO Annotator answered ${res.status}.`);
    }
    return res;
  }

  /**
   * Uploads an image into a dataset; `false` when a file of that name is in the dataset's folder
   * already. The backend decodes and saves it again (EXIF is not kept) and names it by its base name.
   */
  async upload(datasetId: number, fileName: string, bytes: Uint8Array, type = 'image/jpeg'): Promise<boolean> {
    const res = await this.send('POST', 'image/', {
      form: () => {
        const form = new FormData();
        form.set('image', new Blob([bytes], { type }), fileName);
        form.set('dataset_id', String(datasetId));
        return form;
      },
    });
    if (res.status === 400) {
      const message = messageOf(await res.json().catch(() => undefined));
      if (/exist/i.test(message)) return false;
      throw new CocoAnnotatorError(`Uploading ${fileName}: COCO Annotator refused it (${message}).`);
    }
    if (res.status >= 500) {
      await res.body?.cancel();
      throw new CocoAnnotatorError(`Uploading ${fileName}: COCO Annotator failed with ${res.status} (it could not decode or save the image; see the server's log).`);
    }
    await this.expectJson(`Uploading ${fileName}`, res);
    return true;
  }

  /** Every category this user sees: those of their datasets and those they made, deleted ones marked. */
  async categories(): Promise<Category[]> {
    return this.expectJson<Category[]>('Listing categories', await this.send('GET', 'category/'));
  }

  /** Creates a point category (`keypoint_labels: ["point"]`); `undefined` when this user has one of that name already (names are unique per creator). */
  async createCategory(name: string, color: string): Promise<Category | undefined> {
    const res = await this.send('POST', 'category/', { json: { name, supercategory: 'CoralNet', color, keypoint_labels: ['point'], keypoint_edges: [], keypoint_colors: [] } });
    if (res.status === 400) {
      const message = messageOf(await res.json().catch(() => undefined));
      if (/exist/i.test(message)) return undefined;
      throw new CocoAnnotatorError(`Creating category ${name}: COCO Annotator refused it (${message}).`);
    }
    return this.expectJson<Category>(`Creating category ${name}`, res);
  }

  /** Sets the dataset's categories to exactly `names`: the call replaces the list, so send every name to keep. */
  async setDatasetCategories(datasetId: number, names: readonly string[]): Promise<void> {
    await this.expectJson(`Setting the categories of dataset ${datasetId}`, await this.send('POST', `dataset/${datasetId}`, { json: { categories: names } }));
  }

  /** Starts a bulk COCO import; resolves with its task id. */
  async importCoco(datasetId: number, coco: Blob, fileName = 'reefstream.coco.json'): Promise<number> {
    const res = await this.send('POST', `dataset/${datasetId}/coco`, {
      form: () => {
        const form = new FormData();
        form.set('coco', coco, fileName);
        return form;
      },
    });
    return (await this.expectJson<{ id: number }>(`Importing annotations into dataset ${datasetId}`, res)).id;
  }

  /**
   * Polls `/api/tasks/` until the task is completed, and resolves with it and the warnings and
   * errors of its log. A task reads completed as its progress reaches 100, which the import sets
   * before it has done its last item; so a completed task is read again after `settleMs` (default
   * 2 s), until its counts stay the same.
   */
  async taskDone(taskId: number, options: { intervalMs?: number; settleMs?: number; onProgress?: (task: CocoTask) => void } = {}): Promise<{ task: CocoTask; logs: TaskLogLine[] }> {
    const interval = options.intervalMs ?? 1000;
    let completed: CocoTask | undefined;
    for (;;) {
      const tasks = await this.expectJson<CocoTask[]>('Reading tasks', await this.send('GET', 'tasks/'));
      const task = tasks.find((t) => t.id === taskId);
      if (!task) throw new CocoAnnotatorError(`COCO Annotator lists no task ${taskId}: the import was lost; run the push again (what arrived is not sent twice).`);
      options.onProgress?.(task);
      if (task.completed && completed !== undefined && completed.errors === task.errors && completed.warnings === task.warnings) {
        if (task.errors === 0 && task.warnings === 0) return { task, logs: [] };
        const { logs } = await this.expectJson<{ logs: string[] }>(`Reading the log of task ${taskId}`, await this.send('GET', `tasks/${taskId}/logs`));
        return { task, logs: logs.map(parseTaskLog).filter((line) => line.level === 'WARNING' || line.level === 'ERROR') };
      }
      completed = task.completed ? task : undefined;
      await sleep(task.completed ? (options.settleMs ?? Math.max(interval, 2000)) : interval);
    }
  }

  /** The dataset as COCO (annotated images only). */
  async exportCoco(datasetId: number): Promise<CocoFile> {
    return this.expectJson<CocoFile>(`Exporting dataset ${datasetId}`, await this.send('GET', `dataset/${datasetId}/coco`));
  }
}

function messageOf(body: unknown): string {
  const message = (body as { message?: unknown } | undefined)?.message;
  if (typeof message === 'string') return message;
  if (message !== undefined) return JSON.stringify(message);
  return 'no message';
}

/**
 * A COCO file from disk (an export of COCO Annotator or another tool), checked for what the
 * comparison reads.
 * @example const human = await readCocoFile('lagoon-reviewed.json')
 */
export async function readCocoFile(path: string): Promise<CocoFile> {
  let coco: Partial<CocoFile>;
  try {
    coco = JSON.parse(await readFile(path, 'utf8')) as Partial<CocoFile>;
  } catch (error) {
    throw new CocoAnnotatorError(`${path} cannot be read as JSON (${(error as Error).message}): give a COCO file, such as COCO Annotator's export of the dataset.`);
  }
  if (!Array.isArray(coco.images) || !Array.isArray(coco.categories) || !Array.isArray(coco.annotations)) {
    throw new CocoAnnotatorError(`${path} is not a COCO file: it needs images, categories and annotations lists.`);
  }
  return coco as CocoFile;
}
