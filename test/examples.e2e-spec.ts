import { execFile } from 'child_process';
import { readFileSync } from 'fs';
import * as path from 'path';
import { eventually, KeydClient, ProtoKey } from './support/keyd.harness';
import { Stack, startStack } from './support/stack.harness';

const ROOT = path.resolve(__dirname, '..');
const TOKEN = 'examples-e2e-token-0123456789';
const EXAMPLE = 'examples/python/grant.py';
const DAY = 86_400;

/** The README's part that shows the bot's grant call. */
function botSection(): string {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf("### The bot's side: GrantAccess");
  const end = readme.indexOf('\n## ', start);
  expect(start).toBeGreaterThan(-1);
  return readme.slice(start, end);
}

function blocks(section: string, lang: string): string[] {
  return [...section.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]);
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program from the project root as an operator would, with only the daemon's two client variables set. */
function run(file: string, args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { cwd: ROOT, env: { PATH: process.env['PATH'], HOME: process.env['HOME'], ...env }, timeout: 120_000 },
      (err, stdout, stderr) => {
        const code = err ? (err as { code?: unknown }).code : 0;
        if (typeof code !== 'number') return reject(err ?? new Error('no exit code'));
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const endOf = (k: ProtoKey) => Number(k.subscription_end.seconds);

describe('the README grant examples, run as shown against a running daemon and a real core', () => {
  let stack: Stack;
  let env: Record<string, string>;
  let api: KeydClient;

  beforeEach(async () => {
    stack = await startStack({ name: 'examples', env: { KEYD_API_TOKEN: TOKEN } });
    env = { KEYD_GRPC_LISTEN: stack.keyd.grpcAddr, KEYD_API_TOKEN: TOKEN };
    api = stack.keyd.client(TOKEN);
  });

  afterEach(async () => {
    api?.close();
    await stack?.teardown();
  });

  it('shows examples/python/grant.py as it is, and the file grants a 30-day key that passes traffic, once per request id', async () => {
    expect(blocks(botSection(), 'python')).toEqual([readFileSync(path.join(ROOT, EXAMPLE), 'utf8')]);

    // Debian's interpreter, where python3-grpcio and python3-protobuf install; no bytecode left in the tree.
    const python = { ...env, PYTHONDONTWRITEBYTECODE: '1' };
    const before = Math.floor(Date.now() / 1000);
    const first = await run('/usr/bin/python3', [EXAMPLE], python);
    expect(first).toMatchObject({ code: 0, stderr: '' });
    const [action, uuid, vlessUrl, subscriptionUrl] = first.stdout.trim().split(' ');
    expect(action).toBe('ISSUED');

    const key = await api.get('tg:1001');
    expect(key).toMatchObject({ uuid, vless_url: vlessUrl, subscription_url: subscriptionUrl, status: 'ACTIVE' });
    expect(endOf(key)).toBeGreaterThanOrEqual(before + 30 * DAY);
    expect(endOf(key)).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + 30 * DAY);
    expect(await eventually(async () => (await stack.probe([uuid])).get(uuid) === true, 30_000)).toBe(true);

    const retry = await run('/usr/bin/python3', [EXAMPLE], python);
    expect(retry).toMatchObject({ code: 0, stdout: first.stdout });
    expect(endOf(await api.get('tg:1001'))).toBe(endOf(key));
  });

  it('runs the shell example, the keyd CLI, and it grants the same 30-day key', async () => {
    const [command, ...rest] = blocks(botSection(), 'sh');
    expect(rest).toEqual([]);
    expect(command).toMatch(/^npx keyd grant /);

    const before = Math.floor(Date.now() / 1000);
    const r = await run('/bin/sh', ['-c', command], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ISSUED tg:1001/);

    const key = await api.get('tg:1001');
    expect(r.stdout).toContain(key.uuid);
    expect(key.status).toBe('ACTIVE');
    expect(endOf(key)).toBeGreaterThanOrEqual(before + 30 * DAY);
    expect(endOf(key)).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + 30 * DAY);
    expect(await eventually(async () => (await stack.probe([key.uuid])).get(key.uuid) === true, 30_000)).toBe(true);

    const retry = await run('/bin/sh', ['-c', command], env);
    expect(retry.code).toBe(0);
    expect(endOf(await api.get('tg:1001'))).toBe(endOf(key));
  });
});
