/**
 * Deploy jobs on the simulated server: each image is a unit that goes pending → in progress →
 * success or failure. A pool of workers takes units in the order they were requested, across jobs;
 * or each job has workers of its own.
 */
import { setMaxListeners } from 'node:events';
import { sleep } from '../util/duration.js';
import type { UnitOutcome } from './imageCheck.js';

export interface PointSpec {
  row: number;
  column: number;
}

/**
 * A unit's points as rows and columns in turn, `[row, column, row, column, …]`: jobs are kept for
 * 30 days, and an object for each point was most of the memory of a long dry run.
 */
export type PointList = readonly number[];

export function pointList(points: readonly PointSpec[]): number[] {
  // Made at its final length: an array grown by `push` keeps up to half as much again in spare room.
  const list = new Array<number>(points.length * 2);
  points.forEach(({ row, column }, i) => {
    list[2 * i] = row;
    list[2 * i + 1] = column;
  });
  return list;
}

export interface Unit {
  url: string;
  points: PointList;
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
  /**
   * Fault injection: its finish time is never set, as when a job's last images fail before reaching
   * the classifier: status says finished, result answers 409, and it stays active until purged.
   */
  neverFinished?: boolean;
}

/** Units waiting for workers, and the workers free to take them. */
interface Lane {
  queue: Array<{ job: SimJob; unit: Unit }>;
  head: number;
  /** Workers with no unit, by number. */
  idle: number[];
}

const newLane = (workers: number): Lane => ({ queue: [], head: 0, idle: Array.from({ length: workers }, (_, worker) => worker) });

export interface JobBoardOptions {
  /** Units processed at once, across all jobs. */
  workers: number;
  /**
   * Each job has this many workers of its own instead (`workers` is then unused): one user's jobs
   * do not slow each other down, as on a server shared by many users. A job of 100 images then
   * takes 100 × imageMs / jobWorkers, however many jobs there are.
   */
  jobWorkers?: number;
  /** Time a worker takes per unit (the work itself may take longer). */
  imageMs: number;
  /** Jobs older than this are gone: every route answers 404. */
  expireAfterMs: number;
  /** Does the work of one unit. */
  process: (unit: Unit, job: SimJob) => Promise<UnitOutcome>;
}

export class JobBoard {
  private readonly jobs = new Map<number, SimJob>();
  /** The one lane of a shared pool of workers; undefined when each job has its own. */
  private readonly shared?: Lane;
  private lastId = 0;
  private readonly stopped = new AbortController();
  /** Counters for tests and benchmarks. */
  readonly counts = { jobs: 0, units: 0, unitsDone: 0 };

  constructor(private readonly options: JobBoardOptions) {
    // Every unit in progress waits on this signal: as many listeners as workers.
    setMaxListeners(0, this.stopped.signal);
    if (options.jobWorkers === undefined) this.shared = newLane(options.workers);
  }

  create(owner: string, classifierId: number, images: Array<{ url: string; points: PointSpec[] }>, now = Date.now()): SimJob {
    this.expire(now);
    const job: SimJob = {
      id: ++this.lastId,
      owner,
      classifierId,
      createdAt: now,
      units: images.map(({ url, points }) => ({ url, points: pointList(points), state: 'pending' })),
      successes: 0,
      failures: 0,
      started: 0,
      toldFinished: false,
      conflictArmed: false,
    };
    this.jobs.set(job.id, job);
    this.counts.jobs++;
    this.counts.units += job.units.length;
    const lane = this.shared ?? newLane(this.options.jobWorkers!);
    for (const unit of job.units) lane.queue.push({ job, unit });
    this.pump(lane);
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

  /**
   * Gives queued units to idle workers. A worker that has just finished goes on from the moment it
   * was due to finish (at most one unit's time behind now): a worker takes `imageMs` an image
   * however late its timer fires, so the server's capacity is workers / imageMs.
   */
  private pump(lane: Lane, finished?: { worker: number; at: number }): void {
    if (finished) lane.idle.push(finished.worker);
    while (!this.stopped.signal.aborted && lane.idle.length > 0 && lane.head < lane.queue.length) {
      const next = lane.queue[lane.head++]!;
      if (lane.head > 4096 && lane.head * 2 > lane.queue.length) {
        lane.queue.splice(0, lane.head);
        lane.head = 0;
      }
      if (!this.jobs.has(next.job.id)) continue; // expired while waiting
      const worker = lane.idle.pop()!;
      const now = performance.now();
      const startAt = finished?.worker === worker ? Math.max(finished.at, now - this.options.imageMs) : now;
      void this.work(lane, next.job, next.unit, worker, startAt + this.options.imageMs);
    }
  }

  private async work(lane: Lane, job: SimJob, unit: Unit, worker: number, finishAt: number): Promise<void> {
    unit.state = 'in-progress';
    job.started++;
    let outcome: UnitOutcome;
    try {
      [outcome] = await Promise.all([this.options.process(unit, job), sleep(finishAt - performance.now(), this.stopped.signal)]);
    } catch (error) {
      if (this.stopped.signal.aborted) return;
      outcome = { ok: false, error: `Unexpected error: ${(error as Error).message}` };
    }
    unit.outcome = outcome;
    unit.state = 'done';
    if (outcome.ok) job.successes++;
    else job.failures++;
    this.counts.unitsDone++;
    if (job.successes + job.failures === job.units.length && !job.neverFinished) job.finishedAt = Date.now();
    this.pump(lane, { worker, at: finishAt });
  }
}
