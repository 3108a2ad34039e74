/** Parsing of the durations and rates that users type: `750ms`, `0.6s`, `60s`, `5m`, `1h`, `30d`, `60/0.6s`. */

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Milliseconds in a duration such as `0.6s` or `30d`; a bare number is taken in `defaultUnit`.
 * @example parseDuration('1h') // 3600000
 */
export function parseDuration(text: string, defaultUnit: keyof typeof UNIT_MS = 'ms'): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|min|m|h|d)?\s*$/.exec(text);
  if (!match) throw new Error(`"${text}" is not a duration: write a number with a unit, such as 750ms, 0.6s, 60s, 5m, 1h or 30d`);
  const unit = match[2] ?? defaultUnit;
  return Number(match[1]) * (UNIT_MS[unit] ?? 1);
}

/** A count of requests allowed per period, as the server's throttle windows are written. */
export interface RateWindow {
  limit: number;
  periodMs: number;
}

/**
 * A rate such as `60/min`, `60/60s`, `1000/1h` or `60/0.6s`.
 * @example parseRate('60/0.6s') // { limit: 60, periodMs: 600 }
 */
export function parseRate(text: string): RateWindow {
  const match = /^\s*(\d+)\s*\/\s*(.+)$/.exec(text);
  if (!match) throw new Error(`"${text}" is not a rate: write requests/period, such as 60/min, 1000/1h or 60/0.6s`);
  const period = match[2]!.trim();
  const periodMs = /^\d/.test(period) ? parseDuration(period, 's') : parseDuration(`1${period}`);
  const limit = Number(match[1]);
  if (limit < 1 || periodMs <= 0) throw new Error(`"${text}" is not a usable rate: both the count and the period must be above zero`);
  return { limit, periodMs };
}

/** Resolves after `ms` milliseconds, or rejects when `signal` aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The pause before trying again a call that failed for a passing reason (a 5xx, no answer):
 * 200 ms after the first try, then 400, 800, …
 * @example for (let attempt = 1; ; attempt++) { try { return await call(); } catch { await retryPause(attempt); } }
 */
export const retryPause = (attempt: number): Promise<void> => sleep(100 * 2 ** attempt);
