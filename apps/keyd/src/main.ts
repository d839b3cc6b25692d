#!/usr/bin/env node
import 'reflect-metadata';
import { runCli } from '@keyd/cli';

/**
 * The one `keyd` command: `serve` runs the daemon, the others are the operator
 * CLI. The daemon's modules load only for `serve`, so a CLI command starts fast.
 */
const serve = async () => (await import('./daemon.bootstrap')).serve();

runCli(process.argv, { serve })
  .then((code) => {
    process.exitCode = code;
  })
  .catch((e: unknown) => {
    process.stderr.write(`keyd: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  });
