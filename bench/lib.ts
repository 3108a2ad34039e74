/** What the benchmarks share: a simulator in its own process, and a CLI run measured from outside. */
import { readFileSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';

export const cli = fileURLToPath(new URL('../src/cli.js', import.meta.url));

export function machine(): string {
  return `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
}

/** What the simulator counted, printed as it stops. */
export interface ServerCounts {
  requests: number;
  jobs: number;
  images: number;
  throttled: number;
  overJobLimit: number;
}

/** Starts `reefstream simulate` with `flags`; resolves with its URL, token and a stop function. */
export async function simulatorProcess(flags: string[]): Promise<{ url: string; token: string; pid: number | undefined; stop: () => Promise<ServerCounts> }> {
  const sim = spawn(process.execPath, [cli, 'simulate', '--port', '0', ...flags], { stdio: ['ignore', 'pipe', 'inherit'] });
  let banner = '';
  sim.stdout.setEncoding('utf8');
  await new Promise<void>((resolve, reject) => {
    sim.stdout.on('data', (chunk: string) => {
      banner += chunk;
      if (banner.includes('Stop with Ctrl+C.')) resolve();
    });
    sim.on('exit', () => reject(new Error(`the simulator stopped: ${banner}`)));
  });
  return {
    url: /at (http:\S+)/.exec(banner)![1]!,
    token: /token:\s+([0-9a-f]{40})/.exec(banner)![1]!,
    pid: sim.pid,
    stop: async () => {
      const exited = new Promise<void>((resolve) => sim.on('exit', () => resolve()));
      sim.kill('SIGTERM');
      await exited;
      const [requests, jobs, images, throttled, overJobLimit] = (/simulator stopped: (\d+) requests, (\d+) jobs, (\d+) images, (\d+) throttled, (\d+) over/.exec(banner) ?? []).slice(1).map(Number);
      return { requests: requests!, jobs: jobs!, images: images!, throttled: throttled!, overJobLimit: overJobLimit! };
    },
  };
}

/** Peak resident memory of a process so far (Linux VmHWM), in MB. */
async function peakRssMb(child: ChildProcess): Promise<number | undefined> {
  const status = await readFile(`/proc/${child.pid}/status`, 'utf8').catch(() => undefined);
  const kb = /VmHWM:\s+(\d+) kB/.exec(status ?? '')?.[1];
  return kb === undefined ? undefined : Number(kb) / 1024;
}

/** CPU time (user and system) a process has used so far, in seconds (Linux: /proc, USER_HZ 100). */
export async function cpuSeconds(pid: number | undefined): Promise<number | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (stat === undefined) return undefined;
  // utime and stime are fields 14 and 15: the 12th and 13th after the command name's ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The heap cap the `reefstream` command starts with (its first line), given to Node as the command does. */
export const HEAP_CAP = (/--max-old-space-size=\d+/.exec(readFileSync(cli, 'utf8').split('\n', 1)[0]!) ?? [])[0];

/**
 * Runs the CLI (this build's, or the script `program`) with `args`, started as the `reefstream`
 * command starts (with its heap cap); resolves with its exit code, wall time, peak RSS and CPU time
 * (the last reading before it exited: up to 0.1 s short).
 */
export async function measuredRun(args: string[], env: Record<string, string>, program = cli): Promise<{ code: number | null; seconds: number; peakRssMb: number; cpuSeconds: number; stdout: string; stderr: string }> {
  const started = Date.now();
  const child = spawn(process.execPath, [...(HEAP_CAP ? [HEAP_CAP] : []), program, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let peak = 0;
  let cpu = 0;
  const sampler = setInterval(() => {
    void peakRssMb(child).then((mb) => (peak = Math.max(peak, mb ?? 0)));
    void cpuSeconds(child.pid).then((seconds) => (cpu = Math.max(cpu, seconds ?? 0)));
  }, 100);
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  clearInterval(sampler);
  return { code, seconds: (Date.now() - started) / 1000, peakRssMb: Math.round(peak), cpuSeconds: cpu, stdout, stderr };
}
