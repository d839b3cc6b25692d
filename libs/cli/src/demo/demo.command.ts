import { Command } from 'commander';
import { Bind } from '../key.commands';
import { DemoRunner } from './demo.runner';

/** Resolves on the first Ctrl-C or SIGTERM. */
const untilStopped = () =>
  new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });

export function demoCommand(program: Command, bind: Bind): void {
  program
    .command('demo')
    .description(
      'a throwaway core and keyd on free loopback ports, a key granted and proven with traffic (npm run demo)',
    )
    .option('--once', 'stop everything after the proof instead of waiting for Ctrl-C (for scripts and CI)')
    .action(
      bind(async (ctx, opts) => {
        // The demo starts keyd from the same entry it runs from.
        await new DemoRunner(ctx, process.argv[1] ?? '').run({
          once: (opts as { once?: boolean }).once === true,
          waitForStop: untilStopped,
        });
      }),
    );
}
