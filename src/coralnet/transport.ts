/** The one place that talks HTTP to CoralNet, with undici: no redirects followed, every body read. */
import { Agent, request, type Dispatcher } from 'undici';
import type { IncomingHttpHeaders } from 'node:http';
import { InsecureConnectionError } from './errors.js';
import { keepsSecrets } from '../util/loopback.js';

export const JSON_API = 'application/vnd.api+json';

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body as text. */
  text: string;
}

export interface RawRequest {
  method: 'GET' | 'POST';
  url: URL;
  headers: Record<string, string>;
  body?: string;
  timeoutMs: number;
}

/** A keep-alive connection pool for one CoralNet server. */
export function newDispatcher(): Dispatcher {
  return new Agent({ keepAliveTimeout: 10_000, connections: 16 });
}

/** Sends one request and reads its whole body (an unread body holds its connection). */
export async function send(dispatcher: Dispatcher, req: RawRequest): Promise<RawResponse> {
  const res = await request(req.url, {
    dispatcher,
    method: req.method,
    headers: req.headers,
    body: req.body,
    headersTimeout: req.timeoutMs,
    bodyTimeout: req.timeoutMs,
  });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

/** Refuses a URL over which a token would travel in clear text to another machine. */
export function assertTokenSafe(url: URL, what: string): void {
  if (keepsSecrets(url)) return;
  throw new InsecureConnectionError(
    `${what} ${url.origin} is not https: reefstream sends CoralNet credentials only over https, or over plain http to this machine (localhost, 127.0.0.1, ::1) for the simulator.`,
  );
}

export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}
