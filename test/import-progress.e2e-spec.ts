import { execFile } from 'child_process';
import { randomUUID } from 'crypto';
import { writeFileSync } from 'fs';
import { join } from 'path';
import { KEYD_MAIN, runKeyd } from './support/cli.harness';
import { Stack, startStack } from './support/stack.harness';

const DAY = 86_400;
/** The bar's fill and track (cli-progress shades_classic), and the escape that starts any terminal control sequence. */
const BAR_MARKS = ['\u2588', '\u2591', '\r', '\u001b'];

interface Run {
  code: number;
  /** Everything the terminal received (stdout and stderr). */
  output: string;
}

/** Runs `keyd <args>` with a pseudo-terminal as its stdout and stderr, through util-linux `script`. */
function runKeydOnTerminal(args: string[], env: Record<string, string>): Promise<Run> {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const command = [process.execPath, KEYD_MAIN, ...args].map(quote).join(' ');
  return new Promise((resolve, reject) => {
    execFile(
      'script',
      ['-qfc', command, '/dev/null'],
      { env: { PATH: process.env['PATH'], HOME: process.env['HOME'], TERM: 'xterm', ...env }, timeout: 120_000 },
      (err, stdout) => {
        const code = err ? (err as { code?: unknown }).code : 0;
        if (typeof code !== 'number') return reject(err ?? new Error('no exit code'));
        resolve({ code, output: stdout });
      },
    );
  });
}

describe('keyd import: a progress bar on a terminal, none in piped output', () => {
  let stack: Stack;
  let env: Record<string, string>;
  let n = 0;
  /** A fresh owners file of `count` rows ending in 30 days, none of them in the core's config. */
  const ownersFile = (count: number): string => {
    const file = join(stack.dir, `owners-${++n}.csv`);
    const end = Math.floor(Date.now() / 1000) + 30 * DAY;
    const rows = Array.from({ length: count }, (_, i) => `run${n}-owner-${i},${randomUUID()},${end}`);
    writeFileSync(file, ['owner_id,uuid,subscription_end', ...rows].join('\n'));
    return file;
  };
  const importArgs = (owners: string, ...extra: string[]) => [
    'import',
    '--config',
    stack.livePath,
    '--owners',
    owners,
    ...extra,
  ];

  beforeAll(async () => {
    stack = await startStack({ name: 'import-progress' });
    env = { KEYD_GRPC_LISTEN: stack.keyd.grpcAddr };
  });

  afterAll(async () => {
    await stack?.teardown();
  });

  it('on a terminal, shows a bar for writing the keys and for adding them to the core, then the report', async () => {
    const r = await runKeydOnTerminal(importArgs(ownersFile(40)), env);
    expect(r.code).toBe(0);
    expect(r.output).toMatch(/writing keys\s+\[\u2588+\] 40\/40/);
    expect(r.output).toMatch(/adding to the core\s+\[\u2588+\] 40\/40/);
    expect(r.output).toMatch(/Import done:/);
    expect(r.output).toMatch(/in the core\s+40 confirmed, 0 pending/);
  });

  it('piped, prints only the report on stdout and nothing on stderr, as text and as --json', async () => {
    const text = await runKeyd(importArgs(ownersFile(40)), env);
    expect(text).toMatchObject({ code: 0, stderr: '' });
    expect(text.stdout).toMatch(/^Import done:\n/);
    expect(text.stdout).toMatch(/in the core\s+40 confirmed, 0 pending/);
    for (const mark of BAR_MARKS) expect(text.stdout).not.toContain(mark);

    const json = await runKeyd(importArgs(ownersFile(40), '--json'), env);
    expect(json).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(json.stdout)).toMatchObject({ dry_run: false, imported_active: 40, provisioned: 40 });
  });
});
