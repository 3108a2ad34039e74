/**
 * Deploy jobs on the simulated server: each image is a unit that goes pending → in progress →
 * success or failure; a pool of workers takes units in the order they were requested, across jobs.
 */
import { setMaxListeners } from 'node:events';
import { sleep } from '../util/duration.js';
import type { UnitOutcome } from './imageCheck.js';

export interface PointSpec {
  row: number;
  column: number;
}

interface Unit {
  url: string;
  points: PointSpec[];
  state: 'pending' | 'in-progress' | 'done';
  outcome?: UnitOutcome;
}

export interface SimJob {
  id: number;
  owner: string;
  classifierId: number;
  createdAt: number;
  units: Unit[];
  successes: number;
  failures: number;
  started: number;
  finishedAt?: number;
  /** A status request has answered 303. */
  toldFinished: boolean;
  /** Fault injection: the first result request after the first 303 answers 409. */
  conflictArmed: boolean;
}

export interface JobBoardOptions {
  /** Units processed at once, across all jobs. */
  workers: number;
  /** Least time one unit takes. */
  imageMs: number;
  /** Jobs older than this are gone: every route answers 404. */
  expireAfterMs: number;
  /** Does the work of one unit. */
  process: (unit: { url: string; points: PointSpec[] }, job: SimJob) => Promise<UnitOutcome>;
}

export class JobBoard {
  private readonly jobs = new Map<number, SimJob>();
  private readonly queue: Array<{ job: SimJob; unit: Unit }> = [];
  private queueHead = 0;
  private running = 0;
  private lastId = 0;
  private readonly stopped = new AbortController();
  /** Counters for tests and benchmarks. */
  readonly counts = { jobs: 0, units: 0, unitsDone: 0 };

  constructor(private readonly options: JobBoardOptions) {
    // Every unit in progress waits on this signal: as many listeners as workers.
    setMaxListeners(0, this.stopped.signal);
  }

  create(owner: string, classifierId: number, images: Array<{ url: string; points: PointSpec[] }>, now = Date.now()): SimJob {
    this.expire(now);
    const job: SimJob = {
      id: ++this.lastId,
      owner,
      classifierId,
      createdAt: now,
      units: images.map(({ url, points }) => ({ url, points, state: 'pending' })),
      successes: 0,
      failures: 0,
      started: 0,
      toldFinished: false,
      conflictArmed: false,
    };
    this.jobs.set(job.id, job);
    this.counts.jobs++;
    this.counts.units += job.units.length;
    for (const unit of job.units) this.queue.push({ job, unit });
    this.pump();
    return job;
  }

  /** The job if it exists, belongs to `owner` and has not expired. */
  find(id: number, owner: string, now = Date.now()): SimJob | undefined {
    this.expire(now);
    const job = this.jobs.get(id);
    return job && job.owner === owner ? job : undefined;
  }

  activeIds(owner: string, now = Date.now()): number[] {
    this.expire(now);
    return [...this.jobs.values()].filter((job) => job.owner === owner && job.finishedAt === undefined).map((job) => job.id);
  }

  /** Finished jobs of `owner`, newest first. */
  recentlyCompletedIds(owner: string, now = Date.now(), max = 100): number[] {
    this.expire(now);
    return [...this.jobs.values()]
      .filter((job) => job.owner === owner && job.finishedAt !== undefined)
      .sort((a, b) => b.finishedAt! - a.finishedAt! || b.id - a.id)
      .slice(0, max)
      .map((job) => job.id);
  }

  /** Stops taking units and cuts short the waits of the units in progress. */
  close(): void {
    this.stopped.abort();
  }

  private expire(now: number): void {
    for (const job of this.jobs.values()) {
      if (now - job.createdAt < this.options.expireAfterMs) break; // insertion order is creation order
      this.jobs.delete(job.id);
    }
  }

  private pump(): void {
    while (!this.stopped.signal.aborted && this.running < this.options.workers && this.queueHead < this.queue.length) {
      const next = this.queue[this.queueHead++]!;
      if (this.queueHead > 4096 && this.queueHead * 2 > this.queue.length) {
        this.queue.splice(0, this.queueHead);
        this.queueHead = 0;
      }
      if (!this.jobs.has(next.job.id)) continue; // expired while waiting
      this.running++;
      void this.work(next.job, next.unit);
    }
  }

  private async work(job: SimJob, unit: Unit): Promise<void> {
    unit.state = 'in-progress';
    job.started++;
    let outcome: UnitOutcome;
    try {
      [outcome] = await Promise.all([this.options.process(unit, job), sleep(this.options.imageMs, this.stopped.signal)]);
    } catch (error) {
      if (this.stopped.signal.aborted) return;
      outcome = { ok: false, error: `Unexpected error: ${(error as Error).message}` };
    }
    unit.outcome = outcome;
    unit.state = 'done';
    if (outcome.ok) job.successes++;
    else job.failures++;
    this.counts.unitsDone++;
    if (job.successes + job.failures === job.units.length) job.finishedAt = Date.now();
    this.running--;
    this.pump();
  }
}
