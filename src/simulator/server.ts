/**
 * A CoralNet deploy API on this machine: the same routes, checks in the same order, the same
 * status codes, messages and limits as the real server (docs/coralnet-api.md), with a classifier
 * whose answers can be checked from the image itself.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { JSON_API } from '../coralnet/transport.js';
import { sleep, type RateWindow } from '../util/duration.js';
import { isLoopbackHost } from '../util/loopback.js';
import { seededRandom } from '../util/random.js';
import { checkFakeImage, checkImage, MAX_IMAGE_PIXELS } from './imageCheck.js';
import { JobBoard, type SimJob, type Unit } from './jobs.js';
import { classifyPixel, DEFAULT_LABELSET, hexToRgb, unpackRgb, type Label } from './labelset.js';
import type { Classification } from '../coralnet/schemas.js';
import { RequestWindows } from './throttle.js';
import { parseJsonKeepingFloats, validateDeployBody } from './validation.js';

export interface SimulatorUser {
  username: string;
  password: string;
  /** 40 hex characters; random when absent. */
  token?: string;
  /** This user's active-job limit; the simulator's `jobSlots` when absent. */
  maxActiveJobs?: number;
}

export interface SimulatorClassifier {
  id: number;
  /** Usernames that can see the classifier's source; `'public'` for everyone. */
  visibleTo: 'public' | string[];
}

export interface FaultOptions {
  /** Seed of the fault draws, so that a faulty run can be repeated. */
  seed?: number | string;
  /** Share of API requests answered by a 500/502/503 page before reaching the API. */
  serverErrors?: number;
  /** Share of API requests whose connection is dropped (half before, half after the work is done). */
  drops?: number;
  /** Share of API requests answered late, by `slowMs`. */
  slow?: number;
  slowMs?: number;
  /** Share of finished jobs whose first result request answers 409 right after the 303. */
  conflictAfterSeeOther?: number;
  /** Bursts of 5xx: the API requests numbered `from` to `from + count - 1` (from 1) all answer 503. */
  outages?: Array<{ from: number; count: number }>;
  /** Every deploy is answered this long after its job was created (the window a crash can fall in). */
  deployAnswerDelayMs?: number;
  /**
   * Jobs (by id) whose finish time is never set: status answers 303 once their images are done,
   * result answers 409 until they are purged, and they keep an active-job slot meanwhile.
   */
  stuckJobs?: number[];
}

export interface SimulatorOptions {
  /** A loopback address. Default 127.0.0.1. */
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Default: one user `surveyor` / `reefstream`, and `other-lab` who owns classifier 2's source. */
  users?: SimulatorUser[];
  /** The token of the first user, when no `users` are given. */
  token?: string;
  /** Default: classifier 1 public, classifier 2 in `other-lab`'s private source. */
  classifiers?: SimulatorClassifier[];
  labelset?: readonly Label[];
  /** Least time one image takes. Default 0. */
  imageMs?: number;
  /** Images worked on at once, over all jobs. Default 4. */
  workers?: number;
  /**
   * Each job gets this many workers of its own instead of sharing `workers`: one user's jobs do
   * not slow each other down, as on a server busy with many users (a job takes
   * images × imageMs / jobWorkers however many jobs there are).
   */
  jobWorkers?: number;
  /** Per-user windows. Default 60 per minute and 1000 per hour, as the real server. */
  burst?: RateWindow;
  sustained?: RateWindow;
  /** Active jobs per user. Default 5. */
  jobSlots?: number;
  /** Jobs are deleted this long after creation. Default 30 days. */
  expireAfterMs?: number;
  /** Image download time-out. Default 20 s. */
  downloadTimeoutMs?: number;
  maxImagePixels?: number;
  /** Download nothing: every URL is an image of this size painted by `fakePixel` (benchmarks). */
  fakeImages?: { width: number; height: number };
  faults?: FaultOptions;
}

/** What the simulator has seen, for tests and benchmarks. */
export interface SimulatorStats {
  requests: number;
  throttled: number;
  jobLimitRefusals: number;
  jobsCreated: number;
  imagesDone: number;
  injectedServerErrors: number;
  injectedDrops: number;
  injectedSlow: number;
  injectedConflicts: number;
}

export interface RunningSimulator {
  /** The API base, e.g. `http://127.0.0.1:8123/api/`. */
  url: string;
  /** The first user's token. */
  token: string;
  username: string;
  password: string;
  users: ReadonlyArray<Required<SimulatorUser>>;
  stats: SimulatorStats;
  /** Makes a classifier unavailable, as if deleted: its queued images fail with the server's message. */
  deleteClassifier(id: number): void;
  close(): Promise<void>;
}

interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** A body already written as JSON. */
  json?: string;
  /** A web page: Django's own pages, and the REST framework's browsable API for browsers. */
  html?: string;
}

/** Django's page for a path no route matches (not a JSON error). */
const NOT_FOUND_PAGE = '<!doctype html>\n<html lang="en">\n<head>\n  <title>Not Found</title>\n</head>\n<body>\n  <h1>Not Found</h1><p>The requested resource was not found on this server.</p>\n</body>\n</html>\n';

/**
 * What the REST framework's content negotiation makes of an Accept header: JSON:API for an absent
 * header or one that allows it, the browsable page for a browser's, else nothing (406).
 */
function negotiate(accept: string | undefined): 'json' | 'html' | undefined {
  if (accept === undefined || accept.trim() === '') return 'json';
  const types = accept.split(',').map((range) => range.split(';')[0]!.trim().toLowerCase());
  if (types.some((type) => type === JSON_API || type === '*/*' || type === 'application/*')) return 'json';
  if (types.includes('text/html')) return 'html';
  return undefined;
}

const errorReply = (status: number, detail: string, pointer?: string, headers?: Record<string, string>): Reply => ({
  status,
  headers,
  body: { errors: [pointer === undefined ? { detail } : { detail, source: { pointer } }] },
});

const GATEWAY_PAGES: Array<[number, string]> = [
  [500, '<h1>Server Error (500)</h1>'],
  [502, '<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>'],
  [503, '<html><head><title>503 Service Temporarily Unavailable</title></head><body><center><h1>503 Service Temporarily Unavailable</h1></center></body></html>'],
];

function readBody(req: IncomingMessage, limit = 16 * 1024 * 1024): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new Error('body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function newToken(): string {
  return randomBytes(20).toString('hex');
}

/**
 * Starts a simulated CoralNet on loopback.
 * @example
 * const sim = await startSimulator({ imageMs: 30 });
 * const client = new CoralNetClient({ apiUrl: sim.url, token: sim.token, username: sim.username });
 * // …
 * await sim.close();
 */
export async function startSimulator(options: SimulatorOptions = {}): Promise<RunningSimulator> {
  const host = options.host ?? '127.0.0.1';
  if (!isLoopbackHost(host)) throw new Error(`The simulator listens on this machine only: ${host} is not a loopback address (use 127.0.0.1).`);
  const jobSlots = options.jobSlots ?? 5;
  const users: Array<Required<SimulatorUser>> = (
    options.users ?? [
      { username: 'surveyor', password: 'reefstream', token: options.token },
      { username: 'other-lab', password: 'other-lab' },
    ]
  ).map((user) => ({ ...user, token: user.token ?? newToken(), maxActiveJobs: user.maxActiveJobs ?? jobSlots }));
  for (const user of users) {
    if (!/^[0-9a-f]{40}$/.test(user.token)) throw new Error(`The token of simulator user ${user.username} must be 40 lowercase hex characters, like CoralNet's.`);
  }
  const byToken = new Map(users.map((user) => [user.token, user]));
  const classifiers = new Map(
    (options.classifiers ?? [
      { id: 1, visibleTo: 'public' },
      { id: 2, visibleTo: ['other-lab'] },
    ]).map((c) => [c.id, c]),
  );
  const deletedClassifiers = new Set<number>();
  const labelset = options.labelset ?? DEFAULT_LABELSET;
  const labelColours = labelset.map((label) => hexToRgb(label.colour));
  const windows = new RequestWindows([options.burst ?? { limit: 60, periodMs: 60_000 }, options.sustained ?? { limit: 1000, periodMs: 3_600_000 }]);
  // token_auth has the same rates, counted per client address.
  const authWindows = new RequestWindows([options.burst ?? { limit: 60, periodMs: 60_000 }, options.sustained ?? { limit: 1000, periodMs: 3_600_000 }]);
  const faults = options.faults ?? {};
  const faultDraw = seededRandom(faults.seed ?? 1);
  const stats: SimulatorStats = {
    requests: 0,
    throttled: 0,
    jobLimitRefusals: 0,
    jobsCreated: 0,
    imagesDone: 0,
    injectedServerErrors: 0,
    injectedDrops: 0,
    injectedSlow: 0,
    injectedConflicts: 0,
  };
  const checkOptions = { downloadTimeoutMs: options.downloadTimeoutMs ?? 20_000, maxImagePixels: options.maxImagePixels ?? MAX_IMAGE_PIXELS };
  const board = new JobBoard({
    workers: options.workers ?? 4,
    jobWorkers: options.jobWorkers,
    imageMs: options.imageMs ?? 0,
    expireAfterMs: options.expireAfterMs ?? 30 * 86_400_000,
    process: async (unit, job) => {
      const deleted = `Classifier of id ${job.classifierId} does not exist.`;
      if (deletedClassifiers.has(job.classifierId)) {
        stats.imagesDone++;
        return { ok: false as const, error: `${deleted} Maybe it was deleted.` };
      }
      let outcome = options.fakeImages ? checkFakeImage(unit.url, unit.points, options.fakeImages, labelColours) : await checkImage(unit.url, unit.points, checkOptions);
      // Deleted while its image was being classified: the server's other message.
      if (outcome.ok && deletedClassifiers.has(job.classifierId)) outcome = { ok: false as const, error: deleted };
      stats.imagesDone++;
      return outcome;
    },
  });

  const isVisible = (id: number, username: string): boolean => {
    const classifier = classifiers.get(id);
    if (!classifier || deletedClassifiers.has(id)) return false;
    return classifier.visibleTo === 'public' || classifier.visibleTo.includes(username);
  };

  const statusBody = (job: SimJob): unknown => ({
    data: [
      {
        type: 'job',
        id: String(job.id),
        attributes: {
          status: job.started === 0 ? 'Pending' : 'In Progress',
          successes: job.successes,
          failures: job.failures,
          total: job.units.length,
        },
      },
    ],
  });

  // Each colour classified once: fake images have a few, and a result of 100 images × 30 points
  // asks for 3000 pixels.
  const classified = new Map<number, Classification[]>();
  const classificationsOf = (pixel: number): Classification[] => {
    let found = classified.get(pixel);
    if (found === undefined) {
      if (classified.size >= 65_536) classified.clear();
      found = classifyPixel(unpackRgb(pixel), labelset);
      classified.set(pixel, found);
    }
    return found;
  };

  /** A finished job's result body: its images in request order, each with its points' classifications or its error. */
  const resultBody = (units: readonly Unit[]) => ({
    data: units.map((unit) => {
      const outcome = unit.outcome;
      if (!outcome?.ok) return { type: 'image', id: unit.url, attributes: { url: unit.url, errors: [outcome?.error ?? 'Unknown error'] } };
      const points = [];
      for (let j = 0; j < unit.points.length; j += 2) points.push({ row: unit.points[j]!, column: unit.points[j + 1]!, classifications: classificationsOf(outcome.pixels[j / 2]!) });
      return { type: 'image', id: unit.url, attributes: { url: unit.url, points } };
    }),
  });

  /** Django REST framework's TokenAuthentication, with its messages. */
  const authenticate = (req: IncomingMessage): Required<SimulatorUser> | Reply => {
    const parts = (req.headers.authorization ?? '').split(' ').filter((part) => part.length > 0);
    if (parts.length === 0 || parts[0]!.toLowerCase() !== 'token') return errorReply(403, 'Authentication credentials were not provided.');
    if (parts.length === 1) return errorReply(403, 'Invalid token header. No credentials provided.');
    if (parts.length > 2) return errorReply(403, 'Invalid token header. Token string should not contain spaces.');
    return byToken.get(parts[1]!) ?? errorReply(403, 'Invalid token.');
  };

  /** The content type check and JSON parse of a POST, in that order. */
  const readJson = (req: IncomingMessage, text: string): { json: unknown } | Reply => {
    // An empty body is read as {} whatever its type.
    if (text.length === 0) return { json: {} };
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
    if (type !== JSON_API) return errorReply(415, `Content type should be ${JSON_API}, not ${type}`);
    try {
      return { json: parseJsonKeepingFloats(text) };
    } catch (error) {
      return errorReply(400, `JSON parse error - ${(error as Error).message}`);
    }
  };

  /** A 429 for a full request window. */
  const throttled = (waitSeconds: number): Reply => {
    stats.throttled++;
    const unit = waitSeconds === 1 ? 'second' : 'seconds';
    return errorReply(429, `Request was throttled. Expected available in ${waitSeconds} ${unit}.`, undefined, { 'retry-after': String(waitSeconds) });
  };

  const route = (req: IncomingMessage, path: string, text: string, now: number): Reply => {
    const method = req.method ?? 'GET';
    const routes = /^\/api\/(?:(token_auth)|(user)\/([^/]+)|(classifier)\/(\d+)\/deploy|deploy_job\/(\d+)\/(status|result))\/$/;
    const match = routes.exec(path);
    // Django: a path missing only its trailing slash is sent to the slashed one; no route, its own page.
    if (!match) return routes.test(`${path}/`) ? { status: 301, headers: { location: `${path}/` } } : { status: 404, html: NOT_FOUND_PAGE };
    const negotiated = negotiate(req.headers.accept);
    if (negotiated === undefined) return errorReply(406, 'Could not satisfy the request Accept header.');
    const reply = view(req, match, method, text, now);
    if (negotiated === 'html') {
      const shown = (reply.json?.toString() ?? JSON.stringify(reply.body ?? '')).replaceAll('&', '&amp;').replaceAll('<', '&lt;');
      return { status: reply.status, headers: reply.headers, html: `<!DOCTYPE html><html><head><title>Django REST framework</title></head><body><pre>${shown}</pre></body></html>` };
    }
    return reply;
  };

  const view = (req: IncomingMessage, match: RegExpExecArray, method: string, text: string, now: number): Reply => {
    const [, tokenAuth, userRoute, username, deployRoute, classifierText, jobText, jobRoute] = match;
    if (tokenAuth) {
      // No credentials needed, but a header that is sent must be valid; throttled by client address.
      if (req.headers.authorization !== undefined) {
        const sender = authenticate(req);
        if ('status' in sender) return sender;
      }
      const admittedAddress = authWindows.admit(req.socket.remoteAddress ?? '', now);
      if (!admittedAddress.ok) return throttled(admittedAddress.waitSeconds);
      if (method !== 'POST') return errorReply(405, `Method "${method}" not allowed.`);
      const parsed = readJson(req, text);
      if (!('json' in parsed)) return parsed;
      const fields = (typeof parsed.json === 'object' && parsed.json !== null && !Array.isArray(parsed.json) ? parsed.json : {}) as { username?: unknown; password?: unknown };
      // The serializer reports every field that is missing or blank, in one object.
      const missing = Object.fromEntries(
        (['username', 'password'] as const).filter((field) => typeof fields[field] !== 'string' || fields[field] === '').map((field) => [field, [fields[field] === '' ? 'This field may not be blank.' : 'This field is required.']]),
      );
      if (Object.keys(missing).length > 0) return { status: 400, body: { errors: [missing] } };
      const user = users.find((u) => u.username === fields.username && u.password === fields.password);
      if (!user) return { status: 400, body: { errors: [{ non_field_errors: ['Unable to log in with provided credentials.'] }] } };
      return { status: 200, body: { token: user.token } };
    }
    const user = authenticate(req);
    if ('status' in user) return user;
    const admitted = windows.admit(user.username, now);
    if (!admitted.ok) return throttled(admitted.waitSeconds);
    const allowed = deployRoute ? 'POST' : 'GET';
    if (method !== allowed) return errorReply(405, `Method "${method}" not allowed.`);

    if (userRoute) {
      if (decodeURIComponent(username!) !== user.username) return errorReply(404, "You can only see details for the user you're logged in as");
      return {
        status: 200,
        body: {
          data: {
            active_jobs: board.activeIds(user.username, now).map((id) => ({ type: 'jobs', id: String(id) })),
            recently_completed_jobs: board.recentlyCompletedIds(user.username, now, 2 * user.maxActiveJobs).map((id) => ({ type: 'jobs', id: String(id) })),
          },
          meta: { max_active_jobs: user.maxActiveJobs },
        },
      };
    }

    if (deployRoute) {
      const active = board.activeIds(user.username, now);
      if (active.length >= user.maxActiveJobs) {
        stats.jobLimitRefusals++;
        return errorReply(
          429,
          `You already have ${active.length} jobs active (IDs: ${active.join(', ')}). You must wait until one of them finishes before requesting another job.`,
        );
      }
      const parsed = readJson(req, text);
      if (!('json' in parsed)) return parsed;
      const classifierId = Number(classifierText);
      if (!isVisible(classifierId, user.username)) return errorReply(404, "This classifier doesn't exist or is not accessible");
      const checked = validateDeployBody(parsed.json);
      if ('detail' in checked) return errorReply(400, checked.detail, checked.pointer);
      const job = board.create(user.username, classifierId, checked.images, now);
      if (faults.stuckJobs?.includes(job.id)) job.neverFinished = true;
      stats.jobsCreated++;
      return { status: 202, headers: { location: `/api/deploy_job/${job.id}/status/` } };
    }

    const id = Number(jobText);
    const job = board.find(id, user.username, now);
    if (!job) return errorReply(404, "This deploy job doesn't exist or is not accessible");
    // Status decides from the images; result from the job's finish time (set when results are collected).
    const imagesDone = job.successes + job.failures === job.units.length;
    const finished = job.finishedAt !== undefined;
    if (jobRoute === 'status') {
      if (!imagesDone) return { status: 200, body: statusBody(job) };
      if (!job.toldFinished) {
        job.toldFinished = true;
        job.conflictArmed = faultDraw.chance(faults.conflictAfterSeeOther ?? 0);
      }
      return { status: 303, headers: { location: `/api/deploy_job/${job.id}/result/` } };
    }
    if (!finished) return errorReply(409, "This job isn't finished yet");
    if (job.conflictArmed) {
      job.conflictArmed = false;
      stats.injectedConflicts++;
      return errorReply(409, "This job isn't finished yet");
    }
    return { status: 200, body: resultBody(job.units) };
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://simulator').pathname;
    let text: string;
    try {
      text = await readBody(req);
    } catch {
      res.writeHead(413).end();
      return;
    }
    const api = path.startsWith('/api/');
    if (api) stats.requests++;
    if (api && faultDraw.chance(faults.slow ?? 0)) {
      stats.injectedSlow++;
      await sleep(faults.slowMs ?? 2000);
    }
    const inOutage = api && (faults.outages ?? []).some(({ from, count }) => stats.requests >= from && stats.requests < from + count);
    if (inOutage || (api && faultDraw.chance(faults.serverErrors ?? 0))) {
      stats.injectedServerErrors++;
      const [status, page] = inOutage ? GATEWAY_PAGES.find(([code]) => code === 503)! : GATEWAY_PAGES[faultDraw.int(0, GATEWAY_PAGES.length - 1)]!;
      res.writeHead(status, { 'content-type': 'text/html' }).end(page);
      return;
    }
    const drop = api && faultDraw.chance(faults.drops ?? 0);
    const dropAfterWork = drop && faultDraw.chance(0.5);
    if (drop && !dropAfterWork) {
      stats.injectedDrops++;
      req.socket.destroy();
      return;
    }
    const reply = route(req, path, text, Date.now());
    if (faults.deployAnswerDelayMs && req.method === 'POST' && reply.status === 202) await sleep(faults.deployAnswerDelayMs);
    if (dropAfterWork) {
      stats.injectedDrops++;
      req.socket.destroy();
      return;
    }
    const headers: Record<string, string> = { ...reply.headers };
    let payload = '';
    if (reply.html !== undefined) {
      headers['content-type'] = 'text/html; charset=utf-8';
      payload = reply.html;
    } else if (reply.json !== undefined || reply.body !== undefined) {
      headers['content-type'] = JSON_API;
      payload = reply.json ?? JSON.stringify(reply.body);
    }
    res.writeHead(reply.status, headers).end(payload);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/html' }).end('<h1>Server Error (500)</h1>');
      process.emitWarning(`simulator: ${(error as Error).message}`);
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const hostInUrl = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const first = users[0]!;
  return {
    url: `http://${hostInUrl}:${address.port}/api/`,
    token: first.token,
    username: first.username,
    password: first.password,
    users,
    stats,
    deleteClassifier: (id) => void deletedClassifiers.add(id),
    close: async () => {
      board.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
