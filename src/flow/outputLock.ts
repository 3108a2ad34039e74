/**
 * One run at a time on a set of outputs: a lock file beside them (`results.lock`) names the host
 * and process that holds it. A second run is refused with a line naming the holder; a lock left by
 * a process that is gone from this host (killed, crashed) is taken over.
 */
import { hostname } from 'node:os';
import { open, readFile, unlink } from 'node:fs/promises';
import { resolve } from 'node:path';

/** The lock next to the CSV: `results.csv` → `results.lock`. */
export const lockPath = (out: string): string => `${out.replace(/\.csv$/i, '')}.lock`;

interface Holder {
  host: string;
  pid: number;
  since: string;
}

/** Another run holds the outputs. */
export class OutputsLockedError extends Error {
  readonly code = 'OUTPUTS_LOCKED';
  constructor(message: string) {
    super(message);
    this.name = 'OutputsLockedError';
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function create(path: string, holder: Holder, flags: 'wx' | 'w'): Promise<void> {
  const file = await open(path, flags);
  try {
    await file.writeFile(`${JSON.stringify(holder)}\n`);
    await file.sync();
  } finally {
    await file.close();
  }
}

/**
 * Takes the lock of the outputs of `out`; resolves with the function that gives it back.
 * @example const unlock = await lockOutputs('results.csv'); try { … } finally { await unlock(); }
 */
export async function lockOutputs(out: string): Promise<() => Promise<void>> {
  const path = lockPath(out);
  const me: Holder = { host: hostname(), pid: process.pid, since: new Date().toISOString() };
  try {
    await create(path, me, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    let holder: Partial<Holder> = {};
    try {
      holder = JSON.parse(await readFile(path, 'utf8')) as Partial<Holder>;
    } catch {
      // A lock cut short by a crash as it was written: its process is gone.
    }
    const gone = holder.pid === undefined || (holder.host === me.host && !alive(holder.pid));
    if (!gone) {
      throw new OutputsLockedError(
        `${resolve(out)} is being written by another run (process ${holder.pid} on ${holder.host}, since ${holder.since}): wait for it to end, or stop it and run this command again. If that run is no longer alive, remove ${path}.`,
      );
    }
    await create(path, me, 'w');
  }
  return async () => {
    await unlink(path).catch(() => undefined);
  };
}

/** Two outputs of one run at one path: refused before anything is written. */
export function checkDistinctOutputs(outputs: Record<string, string | undefined>): void {
  const seen = new Map<string, string>();
  for (const [option, path] of Object.entries(outputs)) {
    if (path === undefined) continue;
    const full = resolve(path);
    const other = seen.get(full);
    if (other !== undefined) throw new Error(`${other} and ${option} are both ${path}: each output needs a file of its own.`);
    seen.set(full, option);
  }
}
