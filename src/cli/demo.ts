/** `reefstream demo`: a painted survey through the client and the simulator. */
import { z } from 'zod';
import { runDemo } from '../demo/demo.js';
import { summaryLines } from './run.js';
import { count, parse } from './shared.js';

export const help = `  reefstream demo [--out DIR] [--images N]
      Paints a small survey, starts the CoralNet simulator, runs it end to end, writes
      DIR/results.csv and DIR/results.ndjson, and checks every row against the painted colour.
`;

const demoSchema = z.object({
  out: z.string().min(1).default('demo-output'),
  images: count.max(10_000).default(250),
});

export async function demo(args: string[]): Promise<void> {
  const o = parse('demo', args, demoSchema, help);
  const summary = await runDemo({ out: o.out, images: o.images, log: (line) => process.stderr.write(`${line}\n`) });
  process.stdout.write(
    [
      ...summaryLines(summary),
      `${summary.matching} of ${summary.rows} rows labelled as the colour painted under the point`,
      `${summary.requests} API requests, ${summary.throttled} throttled`,
      `report: ${summary.report}`,
      '',
    ].join('\n'),
  );
  if (summary.matching !== summary.rows || summary.failed > 0) process.exitCode = 1;
}
