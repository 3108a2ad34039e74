#!/usr/bin/env -S node --max-old-space-size=512
/**
 * The `reefstream` command: one module a command under `cli/`, each with its own `--help`.
 * It starts with a heap cap: without one, Node lets the heap of a long run grow to 1.5–2.5 times
 * what it needs before collecting (bench/README.md, memory); with it, a million-image run stays
 * near 200 MB. `node dist/src/cli.js` runs without it; `node --max-old-space-size=512 …` as here.
 *   reefstream run …        a survey annotated (see reefstream run --help)
 *   reefstream simulate …   a CoralNet simulator on this machine
 *   reefstream demo         a painted survey through the client and the simulator
 */
import { readFileSync } from 'node:fs';
import { RunStoppedError } from './flow/runSurvey.js';
import { accept, help as acceptHelp } from './cli/accept.js';
import { coco, help as cocoHelp } from './cli/coco.js';
import { cover, help as coverHelp } from './cli/cover.js';
import { demo, help as demoHelp } from './cli/demo.js';
import { overlay, overlayHelp, report, help as reportHelp } from './cli/report.js';
import { review, help as reviewHelp } from './cli/review.js';
import { run, stopped, help as runHelp } from './cli/run.js';
import { UsageError } from './cli/shared.js';
import { simulate, help as simulateHelp } from './cli/simulate.js';

const HELP = `reefstream — machine annotations for reef photo surveys from a CoralNet classifier

Commands:
${[runHelp, coverHelp, cocoHelp, reviewHelp, acceptHelp, reportHelp, overlayHelp, demoHelp, simulateHelp].join('\n')}
  reefstream --help | --version
`;

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'simulate':
      return simulate(rest);
    case 'demo':
      return demo(rest);
    case 'run':
      return run(rest);
    case 'cover':
      return cover(rest);
    case 'coco':
      return coco(rest);
    case 'report':
      return report(rest);
    case 'review':
      return review(rest);
    case 'accept':
      return accept(rest);
    case 'overlay':
      return overlay(rest);
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(HELP);
      return;
    case '--version': {
      const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
      process.stdout.write(`${pkg.version}\n`);
      return;
    }
    default:
      throw new UsageError(`reefstream: no command "${command}" (commands: run, cover, coco, review, accept, report, overlay, demo, simulate; see reefstream --help)`);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof RunStoppedError) stopped();
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  // A stopped run has closed its outputs and journal; timers of work it abandoned are not waited for.
  process.exit(error instanceof UsageError ? 2 : 1);
});
