import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';

export const JSON_API = 'application/vnd.api+json';

export interface ApiAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: unknown;
}

/** One raw request to a simulator, as any HTTP client would send it. */
export async function api(
  base: string,
  method: string,
  path: string,
  options: { token?: string; authorization?: string; body?: unknown; rawBody?: string; contentType?: string; headers?: Record<string, string> } = {},
): Promise<ApiAnswer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.authorization !== undefined) headers.authorization = options.authorization;
  else if (options.token !== undefined) headers.authorization = `Token ${options.token}`;
  const body = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  if (body !== undefined || options.contentType !== undefined) headers['content-type'] = options.contentType ?? JSON_API;
  const res = await request(new URL(path, base), { method: method as 'GET', headers, body });
  const text = await res.body.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, headers: res.headers, text, json };
}

/** The first error detail and pointer of a CoralNet error body. */
export function firstError(answer: ApiAnswer): { detail?: string; pointer?: string } {
  const error = (answer.json as { errors?: Array<{ detail?: string; source?: { pointer?: string } }> } | undefined)?.errors?.[0];
  return { detail: error?.detail, pointer: error?.source?.pointer };
}

export async function tempFolder(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'reefstream-test-'));
  t.after(() => rm(folder, { recursive: true, force: true }));
  return folder;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs the `reefstream` command in its own process (not blocking this one, which may serve the simulator). */
export function reefstreamCli(args: string[], env: Record<string, string> = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const cli = fileURLToPath(new URL('../src/cli.js', import.meta.url));
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

/** A `reefstream` process that can be killed: its exit, and what it printed on stderr so far. */
export interface CliProcess {
  child: ReturnType<typeof spawn>;
  exited: Promise<number | null>;
  stderr(): string;
  stdout(): string;
}

export function startCli(args: string[], env: Record<string, string> = {}, options: { uid?: number; gid?: number } = {}): CliProcess {
  const cli = fileURLToPath(new URL('../src/cli.js', import.meta.url));
  const child = spawn(process.execPath, [cli, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], ...options });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (status) => resolve(status)));
  return { child, exited, stderr: () => stderr, stdout: () => stdout };
}

/** Waits until `check` holds, polling every 10 ms, for at most `ms`. */
export async function waitFor(check: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`still waiting after ${ms} ms`);
    await sleep(10);
  }
}
