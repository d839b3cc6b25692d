#!/usr/bin/env node
import 'reflect-metadata';
import { runCli } from '@keyd/cli';
import { serve } from './daemon.bootstrap';

/** The one `keyd` command: `serve` runs the daemon, the others are the operator CLI. */
runCli(process.argv, { serve })
  .then((code) => {
    process.exitCode = code;
  })
  .catch((e: unknown) => {
    process.stderr.write(`keyd: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  });
