/**
 * A local COCO Annotator double, after `docs/coco-annotator.md` and, where it is silent, the
 * backend's code (`backend/webserver/api/`, `backend/workers/tasks/data.py`, `backend/database/`):
 * a real HTTP server on loopback with the backend's behaviour, quirks included —
 * - login by session cookie (or Basic), several users, each seeing the datasets they own or share
 *   and the categories of those datasets or made by them;
 * - dataset pages asked for from 1 but answered 0-based, `pages` over-counted when the total divides
 *   evenly; `annotated` and `num_annotations` as stored (set by an import, not by later deletions);
 * - an upload saved at `directory/filename` (a `/` needs the subfolder to exist, else a 500 page),
 *   known by its base name only, decoded and saved again as Pillow does (format from the extension,
 *   JPEG at quality 75, EXIF gone); downloads re-encoded at q90 unless `original` is present;
 * - category names unique per creator (400 even for a deleted one), `GET /api/category/` with the
 *   deleted ones marked; a dataset's category list replaced by names, each the first category of
 *   that exact name, whoever made it;
 * - COCO imports as tasks whose log lines carry a date and a level: categories found by name in any
 *   case among everyone's (deleted too), images by exact file name and never created (a missing one
 *   a warning, two of a name an error), annotations matched by (image, category, segmentation,
 *   keypoints) including deleted ones — found: un-deleted; not found: created; the task reads
 *   completed as its progress reaches 100, just before its last annotation is done;
 * - a reviewer's `PUT` (new category) and `DELETE` (marked deleted) of an annotation; the export
 *   leaves deleted annotations, and images without a live one, out.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, extname } from 'node:path/posix';
import sharp from 'sharp';

export interface DoubleUser {
  username: string;
  password: string;
  admin?: boolean;
}

export interface DoubleDataset {
  id: number;
  name: string;
  categories: number[];
  /** Who made it; a dataset without an owner is seen by everyone. */
  owner?: string;
  users?: string[];
  /** Subfolders of the dataset's directory on the server. */
  folders?: string[];
}

export interface DoubleImage {
  id: number;
  datasetId: number;
  /** The base name: what the backend calls the image. */
  fileName: string;
  /** The path inside the dataset's directory. */
  path: string;
  width: number;
  height: number;
  /** The file as stored on the server. */
  bytes: Buffer;
  annotated: boolean;
  numAnnotations: number;
  deleted: boolean;
}

export interface DoubleAnnotation {
  id: number;
  imageId: number;
  categoryId: number;
  keypoints: number[];
  segmentation: number[][];
  deleted: boolean;
}

export interface DoubleCategory {
  id: number;
  name: string;
  keypoints: string[];
  creator?: string;
  deleted?: boolean;
}

export interface DoubleTask {
  id: number;
  name: string;
  completed: boolean;
  progress: number;
  errors: number;
  warnings: number;
  logs: string[];
}

export interface CocoAnnotatorDouble {
  /** The server's root (`http://127.0.0.1:PORT/`); routes under `api/`. */
  url: string;
  /** The first user's login. */
  username: string;
  password: string;
  users: DoubleUser[];
  datasets: DoubleDataset[];
  images: DoubleImage[];
  categories: DoubleCategory[];
  annotations: DoubleAnnotation[];
  tasks: DoubleTask[];
  /** Requests per `METHOD /path` (ids replaced by `:id`), and how many were refused as unauthorised. */
  stats: { calls: Record<string, number>; unauthorised: number; logins: number };
  /** Adds an image as a scan of the dataset's folder finds a file put there (bytes as they are; `site1/IMG_1.JPG` makes the subfolder). */
  addImage(datasetId: number, path: string, bytes: Buffer): Promise<DoubleImage>;
  /** Makes every session cookie stale (a server restart): the next call with one gets 401. */
  forgetSessions(): void;
  close(): Promise<void>;
}

const json = (res: ServerResponse, status: number, body: unknown): void => {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
};

/** Flask's page for an unhandled exception. */
const internalError = (res: ServerResponse): void => {
  res
    .writeHead(500, { 'content-type': 'text/html; charset=utf-8' })
    .end('<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">\n<title>500 Internal Server Error</title>\n<h1>Internal Server Error</h1>\n<p>The server encountered an internal error and was unable to complete your request. Either the server is overloaded or there is an error in the application.</p>\n');
};

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Multipart bodies parsed as the web platform parses them (the client's encoder sets the boundary). */
async function formOf(req: IncomingMessage, body: Buffer): Promise<FormData> {
  return new Response(body, { headers: { 'content-type': req.headers['content-type'] ?? '' } }).formData();
}

/** `GET /api/dataset/3/data` → `GET /api/dataset/:id/data`, for the call counts. */
const routeOf = (method: string, path: string): string => `${method} ${path.replace(/\/\d+(?=\/|$)/g, '/:id')}`;

/** What Pillow's `Image.save(path)` writes for the path's extension; `undefined` where Pillow knows no format. */
async function savedAsPillowDoes(bytes: Buffer, fileName: string): Promise<Buffer | undefined> {
  const image = sharp(bytes); // pixels as stored: Pillow does not turn by the EXIF orientation either
  switch (extname(fileName).toLowerCase()) {
    case '.jpg':
    case '.jpeg':
      return image.jpeg({ quality: 75 }).toBuffer();
    case '.png':
      return image.png().toBuffer();
    case '.tif':
    case '.tiff':
      return image.tiff().toBuffer();
    case '.webp':
      return image.webp().toBuffer();
    default:
      return undefined;
  }
}

/** `[01-12-2026 09:15:02] [WARNING] Could not find image IMG_1.JPG`, as the task's log keeps it. */
function logLine(level: 'INFO' | 'WARNING' | 'ERROR', message: string): string {
  const d = new Date();
  const two = (n: number) => String(n).padStart(2, '0');
  return `[${two(d.getDate())}-${two(d.getMonth() + 1)}-${d.getFullYear()} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}] [${level}] ${message}`;
}

export async function startCocoAnnotatorDouble(
  options: { username?: string; password?: string; users?: DoubleUser[]; taskStepMs?: number; /** Called as an import task starts, before it reads anything (to change the dataset meanwhile). */ beforeImport?: () => void } = {},
): Promise<CocoAnnotatorDouble> {
  const users: DoubleUser[] = [{ username: options.username ?? 'reviewer', password: options.password ?? 'coral-eyes' }, ...(options.users ?? [])];
  const sessions = new Map<string, DoubleUser>();
  const ids = { dataset: 0, image: 0, category: 0, annotation: 0, task: 0 };
  const state: Pick<CocoAnnotatorDouble, 'datasets' | 'images' | 'categories' | 'annotations' | 'tasks' | 'stats'> = {
    datasets: [],
    images: [],
    categories: [],
    annotations: [],
    tasks: [],
    stats: { calls: {}, unauthorised: 0, logins: 0 },
  };
  const nextId = (kind: keyof typeof ids, taken: Array<{ id: number }>): number => {
    ids[kind] = Math.max(ids[kind], ...taken.map((x) => x.id)) + 1;
    return ids[kind];
  };

  const addImage = async (datasetId: number, path: string, bytes: Buffer): Promise<DoubleImage> => {
    const meta = await sharp(bytes).metadata();
    const dataset = state.datasets.find((d) => d.id === datasetId)!;
    const folder = path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : undefined;
    if (folder !== undefined) dataset.folders = [...new Set([...(dataset.folders ?? []), folder])];
    const image: DoubleImage = { id: nextId('image', state.images), datasetId, fileName: basename(path), path, width: meta.width, height: meta.height, bytes, annotated: false, numAnnotations: 0, deleted: false };
    state.images.push(image);
    return image;
  };

  // What a user sees, as `UserModel.datasets`, `.categories`, `.images` and `.annotations` say.
  const datasetsOf = (user: DoubleUser) => state.datasets.filter((d) => user.admin === true || d.owner === undefined || d.owner === user.username || (d.users ?? []).includes(user.username));
  const categoriesOf = (user: DoubleUser) => {
    if (user.admin === true) return state.categories;
    const inDatasets = new Set(datasetsOf(user).flatMap((d) => d.categories));
    return state.categories.filter((c) => inDatasets.has(c.id) || c.creator === user.username);
  };
  const imagesOf = (user: DoubleUser) => {
    const seen = new Set(datasetsOf(user).map((d) => d.id));
    return state.images.filter((i) => seen.has(i.datasetId));
  };
  const annotationsOf = (user: DoubleUser) => {
    const seen = new Set(imagesOf(user).map((i) => i.id));
    return state.annotations.filter((a) => seen.has(a.imageId));
  };
  const liveCount = (imageId: number) => state.annotations.filter((a) => a.imageId === imageId && !a.deleted && (a.keypoints.length > 0 || a.segmentation.length > 0)).length;
  /** `CategoryModel.bulk_create`: each name as the first category of exactly that name, made when there is none. */
  const categoryIdsByName = (names: string[], creator: string): number[] =>
    names.map((name) => {
      const found = state.categories.find((c) => c.name === name);
      if (found) return found.id;
      const made = { id: nextId('category', state.categories), name, keypoints: [], creator };
      state.categories.push(made);
      return made.id;
    });

  const categoryJson = (c: DoubleCategory) => ({ id: c.id, name: c.name, supercategory: '', color: '#2ca02c', keypoint_labels: c.keypoints, keypoint_edges: [], keypoint_colors: [], creator: c.creator ?? 'unknown', deleted: c.deleted === true });
  const cocoCategoryJson = (c: DoubleCategory) => ({ id: c.id, name: c.name, supercategory: '', color: '#2ca02c', keypoints: c.keypoints, skeleton: [] });
  const annotationJson = (a: DoubleAnnotation) => ({
    id: a.id,
    image_id: a.imageId,
    category_id: a.categoryId,
    keypoints: a.keypoints,
    num_keypoints: a.keypoints.length / 3,
    segmentation: a.segmentation,
    area: 0,
    bbox: [0, 0, 0, 0],
    iscrowd: 0,
    isbbox: false,
    metadata: {},
  });
  const imageJson = (i: DoubleImage) => ({ id: i.id, dataset_id: i.datasetId, file_name: i.fileName, path: `/datasets/${i.datasetId}/${i.path}`, width: i.width, height: i.height });
  const sameAnnotation = (a: DoubleAnnotation, b: Omit<DoubleAnnotation, 'id' | 'deleted'>) =>
    a.imageId === b.imageId && a.categoryId === b.categoryId && JSON.stringify(a.keypoints) === JSON.stringify(b.keypoints) && JSON.stringify(a.segmentation) === JSON.stringify(b.segmentation);

  /** `import_annotations`: categories, then images, then annotations, one progress step each. */
  const runImport = (datasetId: number, coco: unknown, task: DoubleTask): void => {
    const file = coco as {
      images?: Array<{ id: number; file_name: string }>;
      categories?: Array<{ id: number; name: string; keypoints?: string[] }>;
      annotations?: Array<{ id?: number; image_id: number; category_id: number; keypoints?: number[]; segmentation?: number[][] }>;
    };
    const log = (level: 'INFO' | 'WARNING' | 'ERROR', message: string) => {
      task.logs.push(logLine(level, message));
      if (level === 'WARNING') task.warnings++;
      if (level === 'ERROR') task.errors++;
    };
    const dataset = state.datasets.find((d) => d.id === datasetId)!;
    const categories = file.categories ?? [];
    const images = file.images ?? [];
    const annotations = file.annotations ?? [];
    const total = categories.length + images.length + annotations.length;
    let done = 0;
    const advance = () => {
      done++;
      task.progress = Math.floor((100 * done) / Math.max(1, total));
      if (done >= total) task.completed = true;
    };
    options.beforeImport?.();
    log('INFO', 'Beginning Import');
    const categoryOf = new Map<number, number>();
    for (const category of categories) {
      let found = state.categories.find((c) => c.name.toLowerCase() === category.name.toLowerCase());
      if (!found) {
        log('WARNING', `${category.name} category not found (creating a new one)`);
        found = { id: nextId('category', state.categories), name: category.name, keypoints: category.keypoints ?? [], creator: 'system' };
        state.categories.push(found);
        dataset.categories.push(found.id);
      }
      log('INFO', `${category.name} category found`);
      categoryOf.set(category.id, found.id);
      advance();
    }
    const imageOf = new Map<number, DoubleImage>();
    for (const image of images) {
      advance();
      const matches = state.images.filter((i) => i.datasetId === datasetId && i.fileName === image.file_name);
      if (matches.length === 0) log('WARNING', `Could not find image ${image.file_name}`);
      else if (matches.length > 1) log('ERROR', `Too many images found with the same file name: ${image.file_name}`);
      else imageOf.set(image.id, matches[0]!);
    }
    const pending = [...annotations];
    const importOne = (a: (typeof annotations)[number]) => {
      const keypoints = a.keypoints ?? [];
      const segmentation = a.segmentation ?? [];
      if (keypoints.length === 0 && segmentation.length === 0) return log('WARNING', `Annotation ${a.id} has no segmentation or keypoints`);
      const image = imageOf.get(a.image_id);
      const categoryId = categoryOf.get(a.category_id);
      if (!image || categoryId === undefined) return log('WARNING', `Could not find image assoicated with annotation ${a.id}`);
      const record = { imageId: image.id, categoryId, keypoints, segmentation };
      const existing = state.annotations.find((e) => sameAnnotation(e, record));
      if (existing) {
        existing.deleted = false;
        log('INFO', `Annotation already exists (i:${a.image_id}, c:${a.category_id})`);
      } else {
        state.annotations.push({ id: nextId('annotation', state.annotations), ...record, deleted: false });
        log('INFO', `Creating annotation data (${a.image_id}, ${a.category_id})`);
      }
    };
    const finish = () => {
      for (const image of imageOf.values()) {
        image.annotated = true;
        image.numAnnotations = liveCount(image.id);
      }
      task.progress = 100;
      task.completed = true;
    };
    const step = (): void => {
      for (const a of pending.splice(0, 50)) {
        advance();
        // The backend sets its progress before it looks at the annotation: the last one is
        // still being done when the task already reads completed.
        if (pending.length === 0 && a === annotations.at(-1)) {
          setTimeout(() => {
            importOne(a);
            finish();
          }, options.taskStepMs ?? 5);
          return;
        }
        importOne(a);
      }
      if (pending.length > 0) setTimeout(step, options.taskStepMs ?? 5);
      else finish();
    };
    setTimeout(step, options.taskStepMs ?? 5);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://double');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    state.stats.calls[routeOf(method, path)] = (state.stats.calls[routeOf(method, path)] ?? 0) + 1;
    const body = await readBody(req);
    const jsonBody = (): Record<string, unknown> => (body.length > 0 ? (JSON.parse(body.toString('utf8')) as Record<string, unknown>) : {});

    if (method === 'GET' && path === '/api/info/') return json(res, 200, { name: 'COCO Annotator', git: { tag: 'v0.11.1' }, login_enabled: true, total_users: users.length });
    if (method === 'POST' && path === '/api/user/login') {
      const { username: u, password: p } = jsonBody();
      const user = users.find((x) => x.username === u && x.password === p);
      if (!user) return json(res, 400, { success: false, message: 'Could not authenticate user' });
      const session = randomBytes(12).toString('hex');
      sessions.set(session, user);
      state.stats.logins++;
      res.setHeader('set-cookie', `session=${session}; HttpOnly; Path=/`);
      return json(res, 200, { success: true, user: { username: user.username, is_admin: user.admin === true } });
    }
    const cookie = /(?:^|;\s*)session=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
    const basic = users.find((x) => req.headers.authorization === `Basic ${Buffer.from(`${x.username}:${x.password}`).toString('base64')}`);
    const user = basic ?? (cookie === undefined ? undefined : sessions.get(cookie));
    if (!user) {
      state.stats.unauthorised++;
      return json(res, 401, { success: false, message: 'Authorization required' });
    }
    const dataset = (id: string) => datasetsOf(user).find((d) => d.id === Number(id));

    let m: RegExpExecArray | null;
    if (method === 'GET' && path === '/api/dataset/') return json(res, 200, datasetsOf(user).map(({ folders: _folders, ...d }) => ({ ...d, owner: d.owner ?? users[0]!.username, users: d.users ?? [], deleted: false })));
    if (method === 'POST' && path === '/api/dataset/') {
      const { name, categories } = jsonBody();
      if (typeof name !== 'string' || name === '') return json(res, 400, { message: { name: 'Missing required parameter in the JSON body' } });
      if (state.datasets.some((d) => d.name === name)) return json(res, 400, { message: 'Dataset already exists. Check the undo tab to fully delete the dataset.' });
      const made: DoubleDataset = { id: nextId('dataset', state.datasets), name, categories: categoryIdsByName(Array.isArray(categories) ? (categories as string[]) : [], user.username), owner: user.username };
      state.datasets.push(made);
      return json(res, 200, { id: made.id, name: made.name, categories: made.categories, owner: made.owner });
    }
    if ((m = /^\/api\/dataset\/(\d+)\/data$/.exec(path)) && method === 'GET') {
      const d = dataset(m[1]!);
      if (!d) return internalError(res); // the backend returns a Python set here, which cannot be sent as JSON
      const limit = Number(url.searchParams.get('limit') ?? 20);
      const page = Number(url.searchParams.get('page') ?? 1);
      let images = state.images.filter((i) => i.datasetId === d.id && !i.deleted);
      const annotated = url.searchParams.get('annotated');
      if (annotated !== null && annotated !== '') images = images.filter((i) => i.annotated === (annotated.toLowerCase() === 'true'));
      if ((url.searchParams.get('order') ?? 'file_name') === 'file_name') images = [...images].sort((a, b) => (a.fileName < b.fileName ? -1 : a.fileName > b.fileName ? 1 : 0));
      const total = images.length;
      const slice = images.slice((page - 1) * limit, page * limit);
      return json(res, 200, {
        total,
        per_page: limit,
        // The backend's own arithmetic: one page too many when the total divides evenly, and the page it answers counted from 0.
        pages: Math.floor(total / limit) + 1,
        page: page - 1,
        images: slice.map((i) => ({ id: i.id, file_name: i.fileName, annotating: [], annotated: i.annotated, num_annotations: i.numAnnotations })),
        folder: '',
        directory: `/datasets/${d.name}/`,
        dataset: { id: d.id, name: d.name, categories: d.categories },
        categories: d.categories.map((id) => state.categories.find((c) => c.id === id)!).map((c) => ({ id: c.id, name: c.name })),
        subdirectories: [...(d.folders ?? [])].filter((f) => !f.includes('/')).sort(),
      });
    }
    if ((m = /^\/api\/dataset\/(\d+)$/.exec(path)) && method === 'POST') {
      const d = dataset(m[1]!);
      if (!d) return json(res, 400, { message: 'Invalid dataset id' });
      const { categories } = jsonBody();
      // Replaces the list, each name resolved by `bulk_create`: names not sent are dropped from the dataset.
      if (Array.isArray(categories)) d.categories = categoryIdsByName(categories as string[], user.username);
      return json(res, 200, { success: true });
    }
    if ((m = /^\/api\/dataset\/(\d+)\/coco$/.exec(path))) {
      const d = dataset(m[1]!);
      if (!d) return json(res, 400, { message: 'Invalid dataset ID' });
      if (method === 'POST') {
        const form = await formOf(req, body);
        const file = form.get('coco');
        if (!(file instanceof Blob)) return json(res, 400, { message: { coco: 'Json coco' } });
        let coco: unknown;
        try {
          coco = JSON.parse(await file.text());
        } catch {
          return internalError(res);
        }
        const task: DoubleTask = { id: nextId('task', state.tasks), name: `Import COCO format into ${d.name}`, completed: false, progress: 0, errors: 0, warnings: 0, logs: [] };
        state.tasks.push(task);
        runImport(d.id, coco, task);
        return json(res, 200, { celery_id: randomBytes(8).toString('hex'), id: task.id, name: task.name });
      }
      if (method === 'GET') {
        const images = state.images.filter((i) => i.datasetId === d.id && !i.deleted);
        const live = state.annotations.filter((a) => !a.deleted && (a.keypoints.length > 0 || a.segmentation.length > 0));
        const shown = images.filter((i) => live.some((a) => a.imageId === i.id));
        const shownIds = new Set(shown.map((i) => i.id));
        return json(res, 200, {
          images: shown.map(imageJson),
          categories: d.categories.map((id) => state.categories.find((c) => c.id === id)!).filter((c) => c.deleted !== true).map(cocoCategoryJson),
          annotations: live.filter((a) => shownIds.has(a.imageId)).map(annotationJson),
        });
      }
    }
    if (method === 'GET' && path === '/api/tasks/') return json(res, 200, state.tasks.map(({ logs: _logs, ...task }) => task));
    if ((m = /^\/api\/tasks\/(\d+)\/logs$/.exec(path)) && method === 'GET') {
      const task = state.tasks.find((t) => t.id === Number(m![1]));
      return task ? json(res, 200, { logs: task.logs }) : json(res, 400, { message: 'Invalid task id' });
    }
    if (method === 'POST' && path === '/api/category/') {
      const { name, keypoint_labels: keypoints } = jsonBody();
      if (typeof name !== 'string' || name === '') return json(res, 400, { message: { name: 'Missing required parameter in the JSON body' } });
      // `unique_with=['creator']`: this user's own name, deleted or not; another user's name is free.
      if (state.categories.some((c) => c.name === name && c.creator === user.username)) return json(res, 400, { message: 'Category already exists. Check the undo tab to fully delete the category.' });
      const category = { id: nextId('category', state.categories), name, keypoints: Array.isArray(keypoints) ? (keypoints as string[]) : [], creator: user.username };
      state.categories.push(category);
      return json(res, 200, categoryJson(category));
    }
    if (method === 'GET' && path === '/api/category/') return json(res, 200, categoriesOf(user).map(categoryJson));
    if (method === 'POST' && path === '/api/image/') {
      const form = await formOf(req, body);
      const file = form.get('image');
      if (!(file instanceof File)) return json(res, 400, { message: { image: 'PNG or JPG file' } });
      const datasetId = form.get('dataset_id');
      if (typeof datasetId !== 'string' || !/^\d+$/.test(datasetId)) return json(res, 400, { message: { dataset_id: 'Id of dataset to insert image into' } });
      const d = state.datasets.find((x) => x.id === Number(datasetId));
      if (!d) return json(res, 400, { message: 'dataset does not exist' });
      const filePath = file.name;
      if (state.images.some((i) => i.datasetId === d.id && i.path === filePath)) return json(res, 400, { message: 'file already exists' });
      // Saved at os.path.join(directory, filename): a subfolder that is not there is an OSError, a 500.
      if (filePath.includes('/') && !(d.folders ?? []).includes(filePath.slice(0, filePath.lastIndexOf('/')))) return internalError(res);
      let saved: Buffer | undefined;
      try {
        saved = await savedAsPillowDoes(Buffer.from(await file.arrayBuffer()), filePath);
      } catch {
        return internalError(res); // PIL.UnidentifiedImageError
      }
      if (saved === undefined) return internalError(res); // ValueError: unknown file extension
      const image = await addImage(d.id, filePath, saved);
      return json(res, 200, image.id);
    }
    if ((m = /^\/api\/image\/(\d+)$/.exec(path)) && method === 'GET') {
      const image = imagesOf(user).find((i) => i.id === Number(m![1]) && !i.deleted);
      if (!image) return json(res, 400, { success: false });
      // A flag is on if present at all, whatever its value.
      const bytes = url.searchParams.has('original') ? image.bytes : await sharp(image.bytes).jpeg({ quality: 90 }).toBuffer();
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': bytes.length }).end(bytes);
      return;
    }
    if ((m = /^\/api\/image\/(\d+)\/coco$/.exec(path)) && method === 'GET') {
      const image = imagesOf(user).find((i) => i.id === Number(m![1]));
      if (!image) return json(res, 400, { message: 'Invalid image ID' });
      const d = state.datasets.find((x) => x.id === image.datasetId)!;
      const categories = d.categories.map((id) => state.categories.find((c) => c.id === id)!).filter((c) => c.deleted !== true);
      const live = state.annotations.filter((a) => a.imageId === image.id && !a.deleted);
      return json(res, 200, {
        images: [imageJson(image)],
        categories: categories.filter((c) => live.some((a) => a.categoryId === c.id)).map(cocoCategoryJson),
        annotations: categories.flatMap((c) => live.filter((a) => a.categoryId === c.id)).map(annotationJson),
      });
    }
    if (method === 'POST' && path === '/api/annotation/') {
      const { image_id: imageId, category_id: categoryId, keypoints, segmentation } = jsonBody();
      if (!imagesOf(user).some((i) => i.id === imageId && !i.deleted)) return json(res, 400, { message: 'Invalid image id' });
      const annotation = { id: nextId('annotation', state.annotations), imageId: imageId as number, categoryId: categoryId as number, keypoints: (keypoints as number[] | undefined) ?? [], segmentation: (segmentation as number[][] | undefined) ?? [], deleted: false };
      state.annotations.push(annotation);
      return json(res, 200, annotationJson(annotation));
    }
    if ((m = /^\/api\/annotation\/(\d+)$/.exec(path))) {
      const annotation = annotationsOf(user).find((a) => a.id === Number(m![1]));
      if (method === 'GET') return annotation ? json(res, 200, annotationJson(annotation)) : json(res, 400, { message: 'Invalid annotation id' });
      if (method === 'PUT') {
        if (!annotation) return json(res, 400, { message: 'Invalid annotation id' });
        const { category_id: categoryId } = jsonBody();
        annotation.categoryId = categoryId as number;
        return json(res, 200, annotationJson(annotation));
      }
      if (method === 'DELETE') {
        if (!annotation) return json(res, 400, { message: 'Invalid annotation id' });
        annotation.deleted = true;
        return json(res, 200, { success: true });
      }
    }
    json(res, 404, { message: `The requested URL ${path} was not found on the server.` });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => internalError(res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    username: users[0]!.username,
    password: users[0]!.password,
    users,
    ...state,
    addImage,
    forgetSessions: () => sessions.clear(),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
