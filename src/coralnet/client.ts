/**
 * A client of CoralNet's deploy API that behaves as the real server requires: every request through
 * one rate gate, the 303 and the relative Location read by hand, a 409 after a 303 taken as "not yet",
 * safe reads retried with backoff, and never a second job from one deploy.
 */
import type { Dispatcher } from 'undici';
import type { z } from 'zod';
import { sleep, type RateWindow } from '../util/duration.js';
import { checkDeployRequest, deployBody, type ImageRequest } from './deployRequest.js';
import {
  AmbiguousDeployError,
  AuthenticationError,
  CoralNetError,
  NetworkError,
  NotFoundError,
  RequestInvalidError,
  ServerError,
  ThrottledError,
  StuckJobsError,
  TooManyActiveJobsError,
  UnexpectedResponseError,
} from './errors.js';
import { RateGate } from './rateGate.js';
import {
  errorBodySchema,
  resultBodySchema,
  statusBodySchema,
  tokenBodySchema,
  toImageResults,
  userBodySchema,
  type ImageResult,
} from './schemas.js';
import { JSON_API, assertTokenSafe, header, newDispatcher, send, type RawResponse } from './transport.js';

export const CORALNET_API = 'https://coralnet.ucsd.edu/api/';

export interface RetryOptions {
  /** Tries of one safe request (GET, token_auth) on a 5xx or a connection failure. Default 8. */
  attempts?: number;
  /** First backoff; it doubles each try, with full jitter. Default 1000 ms. */
  baseDelayMs?: number;
  /** Longest backoff. Default 60 s. */
  maxDelayMs?: number;
}

export interface CoralNetClientOptions {
  /** The API base, ending in `/api/`. Default `https://coralnet.ucsd.edu/api/`. */
  apiUrl?: string;
  /** A 40-hex API token. Or give `username` and `password` and call `connect`. */
  token?: string;
  /** Needed to find active jobs (`/api/user/:username/`): the job limit, lost deploys. */
  username?: string;
  password?: string;
  /** A gate shared by every client of one CoralNet user; made from `windows`/`jobSlots` if absent. */
  gate?: RateGate;
  windows?: readonly RateWindow[];
  jobSlots?: number;
  retry?: RetryOptions;
  /** While the server's job limit is full with jobs not ours, how often to look again. Default 30 s. */
  activeJobsRecheckMs?: number;
  /** Time-out of one request. Default 120 s. */
  timeoutMs?: number;
  dispatcher?: Dispatcher;
  /** Told of throttling, retries and adopted jobs, e.g. for a progress display. */
  onEvent?: (event: ClientEvent) => void;
}

export interface DeployOptions {
  signal?: AbortSignal;
  /** Told before the POST (with the highest job id the account had) and after the job id is known. */
  journal?: {
    beforeSend(knownMaxJobId: string | undefined): Promise<void>;
    afterSend(job: DeployJob): Promise<void>;
  };
}

export type ClientEvent =
  | { type: 'throttled'; endpoint: string; retryAfterSeconds: number }
  /** A request tried again after `delayMs`: the server answered `status` (5xx), or nothing (no status). */
  | { type: 'retry'; endpoint: string; attempt: number; delayMs: number; reason: string; status?: number }
  | { type: 'job-limit-full'; endpoint: string; activeJobIds: string[] }
  | { type: 'adopted-lost-deploy'; endpoint: string; jobId: string }
  /** A job that said finished but never gives its result: it holds a slot; `slotsLeft` remain for the run. */
  | { type: 'stuck-job'; endpoint: string; jobId: string; slotsLeft: number };

/** A deploy job on the server. */
export interface DeployJob {
  id: string;
  statusUrl: string;
  resultUrl: string;
}

export type JobStatus =
  | { finished: false; status: string; successes: number; failures: number; total: number }
  | { finished: true; resultUrl: string };

export type JobResult = { ready: false } | { ready: true; images: ImageResult[] };

export interface UserJobs {
  activeJobIds: string[];
  recentlyCompletedJobIds: string[];
  maxActiveJobs: number;
}

interface CallOptions {
  body?: unknown;
  auth?: boolean;
  /** Resend on 5xx and connection failures (reads, and token_auth). */
  retrySafe: boolean;
  signal?: AbortSignal;
}

const TOKEN_SHAPE = /^[A-Za-z0-9]+$/;

/**
 * @example
 * const client = await CoralNetClient.connect({ apiUrl: sim.url, token: sim.token, username: 'surveyor' });
 * const job = await client.deploy(1, [{ url: 'https://example.org/a.jpg', points: [{ row: 10, column: 20 }] }]);
 * const images = await client.waitForResult(job);
 */
export class CoralNetClient {
  readonly apiUrl: URL;
  readonly gate: RateGate;
  readonly username: string | undefined;
  #token: string | undefined;
  readonly #password: string | undefined;
  readonly #dispatcher: Dispatcher;
  readonly #ownsDispatcher: boolean;
  readonly #retry: Required<RetryOptions>;
  readonly #recheckMs: number;
  readonly #timeoutMs: number;
  readonly #onEvent: (event: ClientEvent) => void;
  /** Jobs holding a slot of the gate until seen finished. */
  readonly #active = new Set<string>();
  /** Every job id seen on the server for this user: what a lost deploy's job is not. */
  #knownJobIds: Set<string> | undefined;
  #deployTurn: Promise<unknown> = Promise.resolve();
  /** Images done in each job still running, as its last status said. */
  readonly #underway = new Map<string, number>();
  /** Jobs that said finished and never gave a result: each holds a slot on the server. */
  readonly #stuckJobs: string[] = [];
  /** Aborted by `close`: no request is tried again after the run ended. */
  readonly #closing = new AbortController();

  constructor(options: CoralNetClientOptions = {}) {
    const base = options.apiUrl ?? CORALNET_API;
    this.apiUrl = new URL(base.endsWith('/') ? base : `${base}/`);
    assertTokenSafe(this.apiUrl, 'The CoralNet API');
    if (options.token !== undefined && !TOKEN_SHAPE.test(options.token)) {
      throw new AuthenticationError('The CoralNet token has characters a token never has: copy the 40 hex characters again (spaces and quotes excluded).', 'token');
    }
    this.#token = options.token;
    this.username = options.username;
    this.#password = options.password;
    this.gate = options.gate ?? new RateGate({ windows: options.windows, jobSlots: options.jobSlots });
    this.#ownsDispatcher = options.dispatcher === undefined;
    this.#dispatcher = options.dispatcher ?? newDispatcher();
    this.#retry = { attempts: 8, baseDelayMs: 1000, maxDelayMs: 60_000, ...options.retry };
    this.#recheckMs = options.activeJobsRecheckMs ?? 30_000;
    this.#timeoutMs = options.timeoutMs ?? 120_000;
    this.#onEvent = options.onEvent ?? (() => undefined);
  }

  /**
   * A client ready to deploy: logs in when given a username and password instead of a token, and
   * learns the user's active-job limit when the username is known.
   */
  static async connect(options: CoralNetClientOptions): Promise<CoralNetClient> {
    const client = new CoralNetClient(options);
    try {
      if (client.#token === undefined) await client.authenticate();
      if (client.username !== undefined) await client.user();
      return client;
    } catch (error) {
      await client.close();
      throw error;
    }
  }

  /** True once the client has a token. */
  get hasToken(): boolean {
    return this.#token !== undefined;
  }

  /** Jobs this client started or adopted that have not been seen finished. */
  get activeJobIds(): string[] {
    return [...this.#active];
  }

  /** Exchanges username and password for a token (`POST /api/token_auth/`). */
  async authenticate(signal?: AbortSignal): Promise<void> {
    if (this.username === undefined || this.#password === undefined) {
      throw new AuthenticationError('No CoralNet token: give a token (--token or CORALNET_TOKEN), or a username and password.', 'POST /api/token_auth/');
    }
    const endpoint = 'POST /api/token_auth/';
    const res = await this.call(endpoint, 'token_auth/', {
      body: { username: this.username, password: this.#password },
      auth: false,
      retrySafe: true,
      signal,
    });
    if (res.status === 400) {
      throw new AuthenticationError(`CoralNet rejected the username or password for "${this.username}" (${endpoint}: ${loginProblem(res.text)}): check them on the website's sign-in page.`, endpoint, 400);
    }
    if (res.status !== 200) throw this.errorFor(endpoint, res);
    this.#token = parseBody(endpoint, res, tokenBodySchema).token;
  }

  /** The user's active and recent jobs and job limit; also sets the gate's job slots to that limit. */
  async user(signal?: AbortSignal): Promise<UserJobs> {
    if (this.username === undefined) {
      throw new CoralNetError('The CoralNet username is needed to look at active jobs: give --user (or username) beside the token.', 'GET /api/user/');
    }
    const path = `user/${encodeURIComponent(this.username)}/`;
    const endpoint = `GET /api/${path}`;
    const res = await this.call(endpoint, path, { retrySafe: true, signal });
    if (res.status !== 200) throw this.errorFor(endpoint, res);
    const body = parseBody(endpoint, res, userBodySchema);
    const jobs: UserJobs = {
      activeJobIds: body.data.active_jobs.map((job) => job.id),
      recentlyCompletedJobIds: body.data.recently_completed_jobs.map((job) => job.id),
      maxActiveJobs: body.meta.max_active_jobs,
    };
    this.gate.jobs.setLimit(jobs.maxActiveJobs);
    this.#knownJobIds ??= new Set();
    for (const id of [...jobs.activeJobIds, ...jobs.recentlyCompletedJobIds]) this.#knownJobIds.add(id);
    return jobs;
  }

  /**
   * Starts one deploy job (at most 100 images, 1..200 points each). Waits for a job slot first, and
   * while the server's limit is full with jobs of this user that are not this client's.
   * Deploys of one client go out one at a time; `journal` is told just before the POST and once
   * the job id is known, inside that turn, so a journal never has two deploys waiting for an id.
   */
  async deploy(classifierId: number | string, images: readonly ImageRequest[], options: DeployOptions = {}): Promise<DeployJob> {
    checkDeployRequest(images);
    await this.gate.jobs.acquire(options.signal);
    const mine = this.#deployTurn.then(async () => {
      await options.journal?.beforeSend(this.highestKnownJobId());
      const job = await this.deployHoldingSlot(classifierId, images, options.signal);
      await options.journal?.afterSend(job);
      return job;
    });
    this.#deployTurn = mine.catch(() => undefined);
    try {
      return await mine;
    } catch (error) {
      this.gate.jobs.release();
      throw error;
    }
  }

  /**
   * Resolves once the deploys already under way have their answers (and any deploy a just-freed
   * slot woke has gone out), or after `atMostMs` (a deploy may wait long for the server's job
   * limit): a survey reads a finished job's result after sending the next job, so the server
   * starts on that one first.
   */
  async deploysSent(atMostMs = 2000): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.#deployTurn, new Promise((resolve) => (timer = setTimeout(resolve, atMostMs)))]);
    clearTimeout(timer);
  }

  /** The highest job id seen on the server for this user (ids increase), when the username is known. */
  highestKnownJobId(): string | undefined {
    let highest: number | undefined;
    for (const id of this.#knownJobIds ?? []) if (/^\d+$/.test(id) && (highest === undefined || Number(id) > highest)) highest = Number(id);
    if (highest === undefined) return this.#knownJobIds === undefined ? undefined : '0'; // read, and none yet
    return String(highest);
  }

  /** A handle on a job known by id (from a journal, or from the user's active jobs). */
  jobFromId(id: string): DeployJob {
    return {
      id,
      statusUrl: new URL(`deploy_job/${id}/status/`, this.apiUrl).href,
      resultUrl: new URL(`deploy_job/${id}/result/`, this.apiUrl).href,
    };
  }

  /** Counts a job that is already running on the server against the job slots, until it finishes. */
  adopt(job: DeployJob): void {
    if (this.#active.has(job.id)) return;
    this.#active.add(job.id);
    this.gate.jobs.occupy();
  }

  /**
   * A job that said finished (303) but never gives its result (409) keeps one of the account's
   * active-job slots on the server until it is purged: the run plans with one slot fewer from now
   * on. Returns the slots left; with none, no job could ever be sent, and it throws.
   */
  jobHoldsSlot(job: DeployJob): number {
    const slotsLeft = Math.max(0, this.gate.jobs.limit - 1);
    this.gate.jobs.setLimit(slotsLeft);
    this.#stuckJobs.push(job.id);
    this.#onEvent({ type: 'stuck-job', endpoint: `GET /api/deploy_job/${job.id}/result/`, jobId: job.id, slotsLeft });
    if (slotsLeft === 0) {
      throw new StuckJobsError(
        `Every active-job slot of this account is held by jobs CoralNet said were finished but never gave a result (${this.#stuckJobs.join(', ')}): no job can be sent until CoralNet purges them (30 days) or its administrators clear them.`,
        `GET /api/deploy_job/${job.id}/result/`,
        [...this.#stuckJobs],
      );
    }
    return slotsLeft;
  }

  /** The job's progress; `finished` once every image succeeded or failed (the server's 303). */
  async status(job: DeployJob, signal?: AbortSignal): Promise<JobStatus> {
    const endpoint = `GET /api/deploy_job/${job.id}/status/`;
    const res = await this.call(endpoint, job.statusUrl, { retrySafe: true, signal });
    if (res.status === 303) {
      this.#underway.delete(job.id);
      this.finished(job);
      return { finished: true, resultUrl: this.followLocation(endpoint, res).href };
    }
    if (res.status === 200) {
      const { attributes } = parseBody(endpoint, res, statusBodySchema).data[0]!;
      this.#underway.set(job.id, attributes.successes + attributes.failures);
      return { finished: false, ...attributes };
    }
    this.#underway.delete(job.id);
    if (res.status === 404) this.finished(job);
    throw this.errorFor(endpoint, res);
  }

  /** The job's images in request order, or `ready: false` (409) when it is not finished yet. */
  async result(job: DeployJob, signal?: AbortSignal): Promise<JobResult> {
    const endpoint = `GET /api/deploy_job/${job.id}/result/`;
    const res = await this.call(endpoint, job.resultUrl, { retrySafe: true, signal });
    if (res.status === 409) return { ready: false };
    if (res.status === 200) {
      this.finished(job);
      return { ready: true, images: toImageResults(parseBody(endpoint, res, resultBodySchema)) };
    }
    if (res.status === 404) this.finished(job);
    throw this.errorFor(endpoint, res);
  }

  /**
   * Polls a job every `intervalMs` until its result is ready. A simple loop for scripts and tests;
   * survey runs plan their polls from the rate budget instead.
   */
  async waitForResult(job: DeployJob, intervalMs = 5000, signal?: AbortSignal): Promise<ImageResult[]> {
    for (;;) {
      const status = await this.status(job, signal);
      if (status.finished) {
        const result = await this.result(job, signal);
        if (result.ready) return result.images;
      }
      await sleep(intervalMs, signal);
    }
  }

  /** Images the server has done in jobs that are still running, as their last status answers said. */
  get imagesDoneInRunningJobs(): number {
    let n = 0;
    for (const done of this.#underway.values()) n += done;
    return n;
  }

  /** Closes the connection pool (when the client made it); requests still under way end at once. */
  async close(): Promise<void> {
    this.#closing.abort(new NetworkError('The CoralNet client was closed: the run has ended.', 'close'));
    if (this.#ownsDispatcher) await this.#dispatcher.close();
  }

  private finished(job: DeployJob): void {
    if (this.#active.delete(job.id)) this.gate.jobs.release();
  }

  private async deployHoldingSlot(classifierId: number | string, images: readonly ImageRequest[], signal?: AbortSignal): Promise<DeployJob> {
    const path = `classifier/${encodeURIComponent(String(classifierId))}/deploy/`;
    const endpoint = `POST /api/${path}`;
    // What the server has before this POST, so that a job made by a lost answer can be recognised.
    if (this.username !== undefined && this.#knownJobIds === undefined) await this.user(signal);
    const body = deployBody(images);
    for (let attempt = 1; ; attempt++) {
      let res: RawResponse;
      try {
        res = await this.call(endpoint, path, { body, retrySafe: false, signal });
      } catch (error) {
        if (error instanceof TooManyActiveJobsError) {
          await this.waitForServerJobSlot(endpoint, error, signal);
          attempt--;
          continue;
        }
        if (!(error instanceof ServerError || error instanceof NetworkError)) throw error;
        // A deploy that never reached the server made no job: nothing to look for.
        const lost = error instanceof NetworkError && error.neverSent ? undefined : await this.findJobOfLostDeploy(endpoint, error, signal);
        if (lost) return lost;
        if (attempt >= this.#retry.attempts) throw error;
        await this.backoff(endpoint, attempt, error.message, error.status, signal);
        continue;
      }
      if (res.status === 202) {
        const statusUrl = this.followLocation(endpoint, res);
        const id = /\/deploy_job\/([^/]+)\/status\/?$/.exec(statusUrl.pathname)?.[1];
        if (id === undefined) throw new UnexpectedResponseError(`${endpoint} answered 202 with Location ${statusUrl.pathname}, which names no deploy job.`, endpoint, 202);
        this.#knownJobIds?.add(id);
        this.#active.add(id);
        return { ...this.jobFromId(id), statusUrl: statusUrl.href };
      }
      throw this.errorFor(endpoint, res);
    }
  }

  /**
   * After a deploy whose answer never came, the job may exist. Any job of this user that was not on
   * the server before is that job (deploys of one client are sent one at a time).
   */
  private async findJobOfLostDeploy(endpoint: string, cause: CoralNetError, signal?: AbortSignal): Promise<DeployJob | undefined> {
    if (this.username === undefined || this.#knownJobIds === undefined) {
      throw new AmbiguousDeployError(
        `${cause.message} The job may or may not have been created, and without the username reefstream cannot look: give --user (or username) beside the token so that a lost answer can be checked instead of sending the job twice.`,
        endpoint,
        cause.status,
      );
    }
    const known = new Set(this.#knownJobIds);
    const jobs = await this.user(signal);
    const created = [...jobs.activeJobIds, ...jobs.recentlyCompletedJobIds].filter((id) => !known.has(id));
    if (created.length === 0) return undefined;
    if (created.length > 1) {
      throw new AmbiguousDeployError(
        `${cause.message} Since then jobs ${created.join(', ')} appeared for user ${this.username}: another program is deploying with the same account, so reefstream cannot tell which job is this one. Run one survey per account at a time.`,
        endpoint,
        cause.status,
      );
    }
    const id = created[0]!;
    this.#active.add(id);
    this.#onEvent({ type: 'adopted-lost-deploy', endpoint, jobId: id });
    return this.jobFromId(id);
  }

  /**
   * The server's job limit is full although this client holds a free slot: jobs of another run of
   * the same user are active. Deploys wait until a job of ours finishes, or until the user's
   * active jobs show room; reads go on meanwhile, so our own jobs can be seen finishing.
   */
  private async waitForServerJobSlot(endpoint: string, error: TooManyActiveJobsError, signal?: AbortSignal): Promise<void> {
    this.#onEvent({ type: 'job-limit-full', endpoint, activeJobIds: error.activeJobIds });
    for (;;) {
      signal?.throwIfAborted();
      if (await this.gate.jobs.waitForRelease(this.#recheckMs)) return;
      if (this.username === undefined) return;
      const jobs = await this.user(signal);
      if (jobs.activeJobIds.length < jobs.maxActiveJobs) return;
    }
  }

  /**
   * One request through the gate. 429s pause every request and are sent again; with `retrySafe`,
   * 5xx answers and connection failures are retried with backoff. Other statuses are returned.
   */
  private async call(endpoint: string, pathOrUrl: string, options: CallOptions): Promise<RawResponse> {
    const url = new URL(pathOrUrl, this.apiUrl);
    if (url.origin !== this.apiUrl.origin) {
      throw new UnexpectedResponseError(`${endpoint}: the server pointed to ${url.origin}, not ${this.apiUrl.origin}; reefstream does not send the token elsewhere.`, endpoint);
    }
    const headers: Record<string, string> = { accept: JSON_API };
    if (options.auth !== false) {
      if (this.#token === undefined) throw new AuthenticationError('No CoralNet token yet: call connect() or authenticate() first.', endpoint);
      headers.authorization = `Token ${this.#token}`;
    }
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    if (body !== undefined) headers['content-type'] = JSON_API;
    for (let attempt = 1; ; attempt++) {
      this.#closing.signal.throwIfAborted();
      const pass = await this.gate.pass(options.signal);
      let failure: CoralNetError;
      let status: number | undefined;
      try {
        let res: RawResponse;
        try {
          res = await send(this.#dispatcher, {
            method: body === undefined ? 'GET' : 'POST',
            url,
            headers,
            body,
            timeoutMs: this.#timeoutMs,
          });
        } finally {
          pass.answered();
        }
        if (res.status === 429) {
          const error = this.errorFor(endpoint, res);
          if (error instanceof ThrottledError) {
            this.gate.pause(error.retryAfterSeconds * 1000);
            this.#onEvent({ type: 'throttled', endpoint, retryAfterSeconds: error.retryAfterSeconds });
            attempt--;
            continue;
          }
          throw error;
        }
        if (res.status < 500) return res;
        status = res.status;
        failure = this.errorFor(endpoint, res);
        const retryAfter = Number(header(res.headers, 'retry-after'));
        if (Number.isFinite(retryAfter) && retryAfter > 0) this.gate.pause(retryAfter * 1000);
      } catch (error) {
        if (error instanceof CoralNetError) throw error;
        options.signal?.throwIfAborted();
        const neverSent = NOT_CONNECTED.has(codeOf(error) ?? '');
        failure = new NetworkError(
          `${endpoint}: no answer from ${url.host} (${describeNetworkError(error)})${neverSent ? `: nothing was sent. Check the API address (--api; CoralNet's is ${CORALNET_API}) and this machine's network.` : '.'}`,
          endpoint,
          neverSent,
          { cause: error },
        );
      }
      if (!options.retrySafe || attempt >= this.#retry.attempts) throw failure;
      await this.backoff(endpoint, attempt, failure.message, status, options.signal);
    }
  }

  private async backoff(endpoint: string, attempt: number, reason: string, status: number | undefined, signal?: AbortSignal): Promise<void> {
    const ceiling = Math.min(this.#retry.maxDelayMs, this.#retry.baseDelayMs * 2 ** (attempt - 1));
    const delayMs = Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
    this.#closing.signal.throwIfAborted();
    this.#onEvent({ type: 'retry', endpoint, attempt, delayMs, reason, ...(status === undefined ? {} : { status }) });
    await sleep(delayMs, signal === undefined ? this.#closing.signal : AbortSignal.any([signal, this.#closing.signal]));
  }

  private followLocation(endpoint: string, res: RawResponse): URL {
    const location = header(res.headers, 'location');
    if (location === undefined) throw new UnexpectedResponseError(`${endpoint} answered ${res.status} without a Location header.`, endpoint, res.status);
    const url = new URL(location, this.apiUrl);
    if (url.origin !== this.apiUrl.origin) {
      throw new UnexpectedResponseError(`${endpoint} sent reefstream to ${url.origin}; it follows only ${this.apiUrl.origin}.`, endpoint, res.status);
    }
    return url;
  }

  /** The typed error for a non-success answer. */
  private errorFor(endpoint: string, res: RawResponse): CoralNetError {
    const { detail, pointer } = errorDetail(res);
    const said = `${endpoint} answered ${res.status}: ${detail}`;
    switch (res.status) {
      case 400:
        return new RequestInvalidError(`${said}${pointer ? ` (at ${pointer})` : ''}`, endpoint, detail, pointer);
      case 401:
      case 403:
        return new AuthenticationError(`${said} Check the token (--token or CORALNET_TOKEN) or log in again with --user; retrying will not help.`, endpoint, res.status);
      case 404:
        return new NotFoundError(`${said} (it does not exist, is not visible to this user, or was deleted: results are kept 30 days).`, endpoint, 404);
      case 429: {
        const retryAfter = Number(header(res.headers, 'retry-after'));
        if (Number.isFinite(retryAfter) && header(res.headers, 'retry-after') !== undefined) {
          return new ThrottledError(said, endpoint, Math.max(1, Math.ceil(retryAfter)));
        }
        return new TooManyActiveJobsError(said, endpoint, (/\(IDs: ([^)]*)\)/.exec(detail)?.[1] ?? '').split(/,\s*/).filter(Boolean));
      }
      default:
        if (res.status >= 500) return new ServerError(said, endpoint, res.status);
        return new UnexpectedResponseError(said, endpoint, res.status);
    }
  }
}

/**
 * What token_auth's 400 says: `{"errors":[{"non_field_errors":["Unable to log in with provided
 * credentials."]}]}`, or a message per field (`{"errors":[{"username":["This field is required."]}]}`).
 */
export function loginProblem(text: string): string {
  try {
    const first = (JSON.parse(text) as { errors?: Array<Record<string, unknown>> }).errors?.[0] ?? {};
    const said = Object.entries(first).flatMap(([field, messages]) =>
      (Array.isArray(messages) ? messages : [messages]).map((message) => (field === 'non_field_errors' || field === 'detail' ? String(message) : `${field}: ${String(message)}`)),
    );
    if (said.length > 0) return said.join(' ');
  } catch {
    // Not JSON: said below.
  }
  return `an answer that is not CoralNet's: ${text.slice(0, 80)}`;
}

function errorDetail(res: RawResponse): { detail: string; pointer?: string } {
  try {
    const parsed = errorBodySchema.safeParse(JSON.parse(res.text));
    if (parsed.success) {
      const first = parsed.data.errors[0]!;
      return { detail: first.detail, pointer: first.source?.pointer };
    }
  } catch {
    // Not JSON: a proxy's or Django's HTML error page.
  }
  const type = header(res.headers, 'content-type') ?? 'no content type';
  return { detail: res.text.length === 0 ? `(empty body)` : `(a ${type.split(';')[0]} body, not a CoralNet error)` };
}

function parseBody<S extends z.ZodType>(endpoint: string, res: RawResponse, schema: S): z.output<S> {
  return checkShape(endpoint, res, schema, parseJson(endpoint, res));
}

function parseJson(endpoint: string, res: RawResponse): unknown {
  try {
    return JSON.parse(res.text) as unknown;
  } catch (error) {
    throw new UnexpectedResponseError(`${endpoint} answered ${res.status} with a body that is not JSON.`, endpoint, res.status, { cause: error });
  }
}

function checkShape<S extends z.ZodType>(endpoint: string, res: RawResponse, schema: S, json: unknown): z.output<S> {
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? `/${issue.path.join('/')}` : '/';
    throw new UnexpectedResponseError(
      `${endpoint} answered ${res.status} with a shape reefstream does not expect (at ${where}: ${issue?.message ?? 'invalid'}); the server may have changed.`,
      endpoint,
      res.status,
    );
  }
  return parsed.data;
}

/** Errors of a connection that was never made: the request did not reach the server. */
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

const codeOf = (error: unknown): string | undefined => (error as { code?: string }).code ?? (error as { cause?: { code?: string } }).cause?.code;

function describeNetworkError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: string }).code;
    return code ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}
