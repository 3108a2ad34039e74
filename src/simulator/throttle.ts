/**
 * The server's per-user request windows, as Django REST framework's SimpleRateThrottle keeps them:
 * a request is counted by every window that lets it through; a window that refuses it does not
 * count it; the wait is until the oldest counted request leaves the fullest refusing window.
 */
import type { RateWindow } from '../util/duration.js';

export class RequestWindows {
  private readonly history = new Map<string, number[][]>();

  constructor(private readonly windows: readonly RateWindow[]) {}

  /** Counts a request of `user`, or returns the whole seconds to wait when a window is full. */
  admit(user: string, now = Date.now()): { ok: true } | { ok: false; waitSeconds: number } {
    let stamps = this.history.get(user);
    if (!stamps) {
      stamps = this.windows.map(() => []);
      this.history.set(user, stamps);
    }
    const waits: number[] = [];
    this.windows.forEach((window, w) => {
      const list = stamps[w]!;
      let drop = 0;
      while (drop < list.length && list[drop]! <= now - window.periodMs) drop++;
      if (drop > 0) list.splice(0, drop);
      if (list.length >= window.limit) {
        const available = window.limit - list.length + 1;
        waits.push((window.periodMs - (now - list[0]!)) / Math.max(1, available));
      } else {
        list.push(now);
      }
    });
    if (waits.length === 0) return { ok: true };
    return { ok: false, waitSeconds: Math.max(1, Math.ceil(Math.max(...waits) / 1000)) };
  }
}
