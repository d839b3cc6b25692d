import { spawn } from 'node:child_process';

const OUTPUT_TAIL = 4096;

/**
 * What the core's test mode said about a candidate file. Only `rejected` is the
 * core's verdict on the file; a check that timed out, was killed or could not
 * start says nothing about it.
 */
export type CheckOutcome =
  { kind: 'accepted' } | { kind: 'rejected'; code: number; output: string } | { kind: 'inconclusive'; reason: string };

/**
 * Runs the core binary's test mode on file, in env. The output is not buffered whole:
 * only its tail is kept, so a chatty core can't fail the check by its size.
 */
export function checkCoreConfig(
  bin: string,
  flavor: 'xray' | 'v2ray',
  file: string,
  timeoutMs: number,
  env: Record<string, string>,
): Promise<CheckOutcome> {
  const args = flavor === 'xray' ? ['run', '-test', '-c', file] : ['-test', '-config', file];
  return new Promise((resolve) => {
    const started = Date.now();
    let tail = '';
    let timedOut = false;
    let settled = false;
    const settle = (outcome: CheckOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    const child = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (data: Buffer) => (tail = (tail + data.toString('utf8')).slice(-OUTPUT_TAIL));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (e) => settle({ kind: 'inconclusive', reason: `${bin} could not be started: ${e.message}` }));
    child.on('close', (code, signal) => {
      const ran = `${((Date.now() - started) / 1000).toFixed(1)} s`;
      if (timedOut)
        settle({ kind: 'inconclusive', reason: `${bin} -test gave no verdict within ${timeoutMs / 1000} s` });
      else if (signal) settle({ kind: 'inconclusive', reason: `${bin} -test was killed by ${signal} after ${ran}` });
      else if (code === 0) settle({ kind: 'accepted' });
      else settle({ kind: 'rejected', code: code ?? -1, output: tail.trim() });
    });
  });
}
