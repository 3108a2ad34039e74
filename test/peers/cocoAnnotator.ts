/**
 * A local COCO Annotator double, after `docs/coco-annotator.md`: a real HTTP server on loopback with
 * the backend's quirks — a session cookie from `/api/user/login`, dataset pages asked for from 1
 * but answered 0-based with `pages` over-counted when the total divides evenly, images re-encoded
 * as JPEG q90 unless `original` is present (any value), unique category names and image file
 * names (400), a dataset's category list replaced by each `POST /api/dataset/{id}`, and COCO
 * imports that run as tasks (polled at `/api/tasks/`), match images by file name, never create
 * them, create missing categories, and do not duplicate an identical annotation.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';

export interface DoubleImage {
  id: number;
  datasetId: number;
  fileName: string;
  width: number;
  height: number;
  bytes: Buffer;
}

export interface DoubleAnnotation {
  id: number;
  imageId: number;
  categoryId: number;
  keypoints: number[];
  segmentation: number[][];
}

export interface DoubleCategory {
  id: number;
  name: string;
  keypoints: string[];
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
  username: string;
  password: string;
  datasets: Array<{ id: number; name: string; categories: number[] }>;
  images: DoubleImage[];
  categories: DoubleCategory[];
  annotations: DoubleAnnotation[];
  tasks: DoubleTask[];
  /** Requests per `METHOD /path` (ids replaced by `:id`), and how many were refused as unauthorised. */
  stats: { calls: Record<string, number>; unauthorised: number; logins: number };
  /** Adds an image as if uploaded in the web UI. */
  addImage(datasetId: number, fileName: string, bytes: Buffer): Promise<DoubleImage>;
  /** Makes every session cookie stale (a server restart): the next call with one gets 401. */
  forgetSessions(): void;
  close(): Promise<void>;
}

const json = (res: ServerResponse, status: number, body: unknown): void => {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
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

export async function startCocoAnnotatorDouble(options: { username?: string; password?: string; taskStepMs?: number } = {}): Promise<CocoAnnotatorDouble> {
  const username = options.username ?? 'reviewer';
  const password = options.password ?? 'coral-eyes';
  const sessions = new Set<string>();
  const ids = { dataset: 0, image: 0, category: 0, annotation: 0, task: 0 };
  const state: Pick<CocoAnnotatorDouble, 'datasets' | 'images' | 'categories' | 'annotations' | 'tasks' | 'stats'> = {
    datasets: [],
    images: [],
    categories: [],
    annotations: [],
    tasks: [],
    stats: { calls: {}, unauthorised: 0, logins: 0 },
  };

  const addImage = async (datasetId: number, fileName: string, bytes: Buffer): Promise<DoubleImage> => {
    const meta = await sharp(bytes).metadata();
    const image = { id: ++ids.image, datasetId, fileName, width: meta.width, height: meta.height, bytes };
    state.images.push(image);
    return image;
  };

  const categoryJson = (c: DoubleCategory) => ({ id: c.id, name: c.name, supercategory: '', color: '#2ca02c', keypoint_labels: c.keypoints, keypoints: c.keypoints, skeleton: [] });
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
  const imageJson = (i: DoubleImage) => ({ id: i.id, dataset_id: i.datasetId, file_name: i.fileName, path: `/datasets/${i.datasetId}/${i.fileName}`, width: i.width, height: i.height });
  const categoryByName = (name: string) => state.categories.find((c) => c.name.toLowerCase() === name.toLowerCase());
  const sameAnnotation = (a: DoubleAnnotation, b: Omit<DoubleAnnotation, 'id'>) =>
    a.imageId === b.imageId && a.categoryId === b.categoryId && JSON.stringify(a.keypoints) === JSON.stringify(b.keypoints) && JSON.stringify(a.segmentation) === JSON.stringify(b.segmentation);

  /** The backend's COCO importer: a task that works through the file's annotations. */
  const runImport = (datasetId: number, coco: unknown, task: DoubleTask): void => {
    const file = coco as { images?: Array<{ id: number; file_name: string }>; categories?: Array<{ id: number; name: string; keypoints?: string[] }>; annotations?: Array<{ image_id: number; category_id: number; keypoints?: number[]; segmentation?: number[][] }> };
    const dataset = state.datasets.find((d) => d.id === datasetId)!;
    const imageOf = new Map<number, DoubleImage | undefined>();
    for (const image of file.images ?? []) {
      const found = state.images.find((i) => i.datasetId === datasetId && i.fileName === image.file_name);
      imageOf.set(image.id, found);
      if (!found) {
        task.warnings++;
        task.logs.push(`Could not find image ${image.file_name}`);
      }
    }
    const categoryOf = new Map<number, DoubleCategory>();
    for (const category of file.categories ?? []) {
      let found = categoryByName(category.name);
      if (!found) {
        found = { id: ++ids.category, name: category.name, keypoints: category.keypoints ?? [] };
        state.categories.push(found);
        task.logs.push(`Category ${category.name} created`);
      }
      if (!dataset.categories.includes(found.id)) dataset.categories.push(found.id);
      categoryOf.set(category.id, found);
    }
    const pending = [...(file.annotations ?? [])];
    const total = Math.max(1, pending.length);
    const step = (): void => {
      for (const a of pending.splice(0, 50)) {
        const image = imageOf.get(a.image_id);
        const category = categoryOf.get(a.category_id);
        const keypoints = a.keypoints ?? [];
        const segmentation = a.segmentation ?? [];
        if (!image || !category) continue;
        if (keypoints.length === 0 && segmentation.length === 0) {
          task.errors++;
          task.logs.push(`Annotation on ${image.fileName} has no keypoints or segmentation`);
          continue;
        }
        const record = { imageId: image.id, categoryId: category.id, keypoints, segmentation };
        if (state.annotations.some((existing) => sameAnnotation(existing, record))) continue;
        state.annotations.push({ id: ++ids.annotation, ...record });
      }
      task.progress = Math.round((100 * (total - pending.length)) / total);
      if (pending.length > 0) setTimeout(step, options.taskStepMs ?? 5);
      else task.completed = true;
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

    if (method === 'GET' && path === '/api/info/') return json(res, 200, { name: 'COCO Annotator', git: { tag: 'v0.11.1' }, login_enabled: true, total_users: 1 });
    if (method === 'POST' && path === '/api/user/login') {
      const { username: u, password: p } = jsonBody();
      if (u !== username || p !== password) return json(res, 400, { success: false, message: 'Could not authenticate user' });
      const session = randomBytes(12).toString('hex');
      sessions.add(session);
      state.stats.logins++;
      res.setHeader('set-cookie', `session=${session}; HttpOnly; Path=/`);
      return json(res, 200, { success: true, user: { username, is_admin: false } });
    }
    const cookie = /(?:^|;\s*)session=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
    const basic = req.headers.authorization === `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
    if (!basic && (cookie === undefined || !sessions.has(cookie))) {
      state.stats.unauthorised++;
      return json(res, 401, { success: false, message: 'Authorization required' });
    }

    let m: RegExpExecArray | null;
    if (method === 'GET' && path === '/api/dataset/') return json(res, 200, state.datasets.map((d) => ({ ...d, owner: username, deleted: false })));
    if (method === 'POST' && path === '/api/dataset/') {
      const { name, categories } = jsonBody();
      if (typeof name !== 'string' || name === '') return json(res, 400, { message: { name: 'Missing required parameter in the JSON body' } });
      if (state.datasets.some((d) => d.name === name)) return json(res, 400, { message: 'Dataset already exists. Check the undo tab to fully delete the dataset.' });
      const names = Array.isArray(categories) ? (categories as string[]) : [];
      const dataset = { id: ++ids.dataset, name, categories: names.map((n) => categoryByName(n)?.id).filter((id): id is number => id !== undefined) };
      state.datasets.push(dataset);
      return json(res, 200, dataset);
    }
    if ((m = /^\/api\/dataset\/(\d+)\/data$/.exec(path)) && method === 'GET') {
      const dataset = state.datasets.find((d) => d.id === Number(m![1]));
      if (!dataset) return json(res, 400, { message: 'Invalid dataset id' });
      const limit = Number(url.searchParams.get('limit') ?? 20);
      const page = Number(url.searchParams.get('page') ?? 1);
      let images = state.images.filter((i) => i.datasetId === dataset.id);
      const annotatedIds = new Set(state.annotations.map((a) => a.imageId));
      const annotated = url.searchParams.get('annotated');
      if (annotated !== null) images = images.filter((i) => annotatedIds.has(i.id) === (annotated === 'true'));
      if (url.searchParams.get('order') === 'file_name') images = [...images].sort((a, b) => (a.fileName < b.fileName ? -1 : a.fileName > b.fileName ? 1 : 0));
      const total = images.length;
      const slice = images.slice((page - 1) * limit, page * limit);
      return json(res, 200, {
        total,
        per_page: limit,
        // The backend's own arithmetic: one page too many when the total divides evenly, and the page it answers counted from 0.
        pages: Math.floor(total / limit) + 1,
        page: page - 1,
        images: slice.map((i) => ({ id: i.id, file_name: i.fileName, annotating: [], annotated: annotatedIds.has(i.id), num_annotations: state.annotations.filter((a) => a.imageId === i.id).length })),
        folder: '',
        directory: `/datasets/${dataset.name}/`,
        dataset: { ...dataset },
        categories: dataset.categories.map((id) => categoryJson(state.categories.find((c) => c.id === id)!)),
        subdirectories: [],
      });
    }
    if ((m = /^\/api\/dataset\/(\d+)$/.exec(path)) && method === 'POST') {
      const dataset = state.datasets.find((d) => d.id === Number(m![1]));
      if (!dataset) return json(res, 400, { message: 'Invalid dataset id' });
      const { categories } = jsonBody();
      // Replaces the list: names not sent are dropped from the dataset.
      if (Array.isArray(categories)) dataset.categories = (categories as string[]).map((n) => categoryByName(n)?.id).filter((id): id is number => id !== undefined);
      return json(res, 200, { success: true });
    }
    if ((m = /^\/api\/dataset\/(\d+)\/coco$/.exec(path))) {
      const dataset = state.datasets.find((d) => d.id === Number(m![1]));
      if (!dataset) return json(res, 400, { message: 'Invalid dataset id' });
      if (method === 'POST') {
        const form = await formOf(req, body);
        const file = form.get('coco');
        if (!(file instanceof Blob)) return json(res, 400, { message: { coco: 'Missing required parameter in an uploaded file' } });
        let coco: unknown;
        try {
          coco = JSON.parse(await file.text());
        } catch {
          return json(res, 400, { message: 'Invalid JSON' });
        }
        const task: DoubleTask = { id: ++ids.task, name: `Import COCO format into ${dataset.name}`, completed: false, progress: 0, errors: 0, warnings: 0, logs: [] };
        state.tasks.push(task);
        runImport(dataset.id, coco, task);
        return json(res, 200, { celery_id: randomBytes(8).toString('hex'), id: task.id, name: task.name });
      }
      if (method === 'GET') {
        const annotations = state.annotations.filter((a) => state.images.find((i) => i.id === a.imageId)?.datasetId === dataset.id);
        const annotatedIds = new Set(annotations.map((a) => a.imageId));
        return json(res, 200, {
          info: { description: dataset.name },
          images: state.images.filter((i) => annotatedIds.has(i.id)).map(imageJson),
          categories: dataset.categories.map((id) => categoryJson(state.categories.find((c) => c.id === id)!)),
          annotations: annotations.map(annotationJson),
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
      if (typeof name !== 'string' || name === '') return json(res, 400, { message: 'Name is required' });
      if (categoryByName(name)?.name === name) return json(res, 400, { message: 'Category already exists' });
      const category = { id: ++ids.category, name, keypoints: Array.isArray(keypoints) ? (keypoints as string[]) : [] };
      state.categories.push(category);
      return json(res, 200, categoryJson(category));
    }
    if (method === 'GET' && path === '/api/category/') return json(res, 200, state.categories.map(categoryJson));
    if (method === 'POST' && path === '/api/image/') {
      const form = await formOf(req, body);
      const file = form.get('image');
      const datasetId = Number(form.get('dataset_id'));
      if (!(file instanceof File) || !state.datasets.some((d) => d.id === datasetId)) return json(res, 400, { message: 'An image file and a dataset_id are required' });
      if (state.images.some((i) => i.datasetId === datasetId && i.fileName === file.name)) return json(res, 400, { message: 'Image already exists' });
      try {
        const image = await addImage(datasetId, file.name, Buffer.from(await file.arrayBuffer()));
        return json(res, 200, image.id);
      } catch {
        return json(res, 400, { message: 'Not an image' });
      }
    }
    if ((m = /^\/api\/image\/(\d+)$/.exec(path)) && method === 'GET') {
      const image = state.images.find((i) => i.id === Number(m![1]));
      if (!image) return json(res, 400, { message: 'Invalid image id' });
      // A flag is on if present at all, whatever its value.
      const bytes = url.searchParams.has('original') ? image.bytes : await sharp(image.bytes).jpeg({ quality: 90 }).toBuffer();
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': bytes.length }).end(bytes);
      return;
    }
    if ((m = /^\/api\/image\/(\d+)\/coco$/.exec(path)) && method === 'GET') {
      const image = state.images.find((i) => i.id === Number(m![1]));
      if (!image) return json(res, 400, { message: 'Invalid image id' });
      const dataset = state.datasets.find((d) => d.id === image.datasetId)!;
      return json(res, 200, {
        images: [imageJson(image)],
        categories: dataset.categories.map((id) => categoryJson(state.categories.find((c) => c.id === id)!)),
        annotations: state.annotations.filter((a) => a.imageId === image.id).map(annotationJson),
      });
    }
    if (method === 'POST' && path === '/api/annotation/') {
      const { image_id: imageId, category_id: categoryId, keypoints } = jsonBody();
      if (!state.images.some((i) => i.id === imageId) || !state.categories.some((c) => c.id === categoryId)) return json(res, 400, { message: 'Invalid image or category' });
      const annotation = { id: ++ids.annotation, imageId: imageId as number, categoryId: categoryId as number, keypoints: (keypoints as number[] | undefined) ?? [], segmentation: [] };
      state.annotations.push(annotation);
      return json(res, 200, annotationJson(annotation));
    }
    json(res, 404, { message: `The requested URL ${path} was not found on the server.` });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => json(res, 500, { message: (error as Error).message }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    username,
    password,
    ...state,
    addImage,
    forgetSessions: () => sessions.clear(),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
