import { execFile } from 'child_process';
import * as path from 'path';

export const KEYD_MAIN = path.resolve(__dirname, '../../dist/apps/keyd/src/main.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built `keyd` command the way an operator would, with only the given variables set. */
export function runKeyd(args: string[], env: Record<string, string> = {}, timeoutMs = 120_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [KEYD_MAIN, ...args],
      {
        env: { PATH: process.env['PATH'], HOME: process.env['HOME'], ...env },
        timeout: timeoutMs,
        maxBuffer: 64 << 20,
      },
      (err, stdout, stderr) => {
        const code = err ? (err as { code?: unknown }).code : 0;
        if (typeof code !== 'number') return reject(err ?? new Error('no exit code'));
        resolve({ code, stdout, stderr });
      },
    );
  });
}
