import QRCode from 'qrcode';
import { runKeyd } from './support/cli.harness';
import { eventually, ProtoKey } from './support/keyd.harness';
import { freePort } from './support/ports.harness';
import { Stack, startStack } from './support/stack.harness';

const TOKEN = 'cli-e2e-token-0123456789';

describe('the keyd CLI against a running daemon and a real core', () => {
  let stack: Stack;
  let env: Record<string, string>;
  const keyd = (...args: string[]) => runKeyd(args, env);
  const json = async <T>(...args: string[]): Promise<T> => {
    const r = await keyd(...args, '--json');
    if (r.code !== 0) throw new Error(`keyd ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    return JSON.parse(r.stdout) as T;
  };
  const passes = async (uuid: string) => (await stack.probe([uuid])).get(uuid) === true;

  beforeAll(async () => {
    stack = await startStack({ name: 'cli', env: { KEYD_API_TOKEN: TOKEN } });
    env = { KEYD_GRPC_LISTEN: stack.keyd.grpcAddr, KEYD_API_TOKEN: TOKEN };
  });

  afterAll(async () => {
    await stack?.teardown();
  });

  it('grants a key that passes traffic, and prints it readably', async () => {
    const r = await keyd('grant', 'alice', '--days', '30');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ISSUED alice/);
    const uuid = /uuid\s+([0-9a-f-]{36})/.exec(r.stdout)?.[1] ?? '';
    expect(r.stdout).toContain(`vless://${uuid}@`);
    expect(r.stdout).toMatch(/status\s+ACTIVE/);
    expect(await passes(uuid)).toBe(true);
  });

  it('renews with --json: same UUID, the end moved by the duration', async () => {
    const before = await json<ProtoKey & { subscription_end: string }>('get', 'alice');
    const r = await json<{ action: string; key: { uuid: string; subscription_end: string } }>(
      'grant',
      'alice',
      '--seconds',
      '3600',
    );
    expect(r.action).toBe('RENEWED');
    expect(r.key.uuid).toBe(before.uuid);
    expect(Date.parse(r.key.subscription_end) - Date.parse(before.subscription_end)).toBe(3_600_000);
  });

  it('gets a key with its share link, subscription URL and a QR code of the link', async () => {
    const k = await json<{ vless_url: string; subscription_url: string; uuid: string }>('get', 'alice');
    const text = await keyd('get', 'alice');
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(k.vless_url);
    expect(text.stdout).toContain(k.subscription_url);
    const qr = await keyd('get', 'alice', '--qr');
    expect(qr.code).toBe(0);
    expect(qr.stdout).toContain(await QRCode.toString(k.vless_url, { type: 'terminal', small: true }));
    expect(text.stdout).not.toContain('▄');
  });

  it('lists keys as a table and as JSON, filtered by status and limited', async () => {
    await json('grant', 'bob', '--days', '1', '--data-limit', '1000000');
    const table = await keyd('list');
    expect(table.code).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^OWNER\s+STATUS/);
    expect(table.stdout).toMatch(/alice\s+ACTIVE/);
    expect(table.stdout).toMatch(/bob\s+ACTIVE/);
    const all = await json<{ keys: { owner_id: string; data_limit_bytes: number }[] }>('list');
    expect(all.keys.map((k) => k.owner_id)).toEqual(['alice', 'bob']);
    expect(all.keys[1].data_limit_bytes).toBe(1_000_000);
    expect((await json<{ keys: unknown[] }>('list', '--limit', '1')).keys).toHaveLength(1);
    expect((await json<{ keys: unknown[] }>('list', '--status', 'REVOKED')).keys).toHaveLength(0);
  });

  it('revokes: the key stops passing traffic, with and without --json', async () => {
    const bob = await json<{ uuid: string }>('get', 'bob');
    const r = await keyd('revoke', 'bob');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/status\s+REVOKED/);
    expect(await eventually(async () => !(await passes(bob.uuid)), 5000)).toBe(true);
    const again = await json<{ status: string }>('revoke', 'bob');
    expect(again.status).toBe('REVOKED');
  });

  it('shows the status as a block and as JSON', async () => {
    const text = await keyd('status');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/keys\s+1 active, 0 suspended, 0 expired, 1 revoked/);
    expect(text.stdout).toMatch(/core\s+reachable: v2ray/);
    const s = await json<{ keys: Record<string, number>; core: { reachable: boolean; inbound_tag: string } }>('status');
    expect(s.keys).toEqual({ active: 1, expired: 0, revoked: 1, suspended: 0 });
    expect(s.core).toMatchObject({ reachable: true, inbound_tag: 'vless-in' });
    const dry = await json<{ dry_run: boolean; failed: number }>('reconcile', '--dry-run');
    expect(dry).toMatchObject({ dry_run: true, failed: 0 });
  });

  it('exits 4 on a wrong or missing token, and changes nothing', async () => {
    const wrong = await runKeyd(['grant', 'mallory', '--days', '1'], {
      ...env,
      KEYD_API_TOKEN: 'wrong-token-0123456789',
    });
    expect(wrong.code).toBe(4);
    expect(wrong.stderr).toMatch(/keyd: /);
    const flag = await runKeyd(['get', 'alice', '--token', 'another-wrong-token-42'], env);
    expect(flag.code).toBe(4);
    const none = await runKeyd(['status'], { KEYD_GRPC_LISTEN: env['KEYD_GRPC_LISTEN'] });
    expect(none.code).toBe(4);
    expect((await keyd('get', 'mallory')).code).toBe(3);
  });

  it('exits 2 on bad arguments, 3 on an unknown owner, 5 when no daemon answers', async () => {
    expect((await keyd('grant', 'carol')).code).toBe(2);
    expect((await keyd('grant', 'carol', '--days', '0')).code).toBe(2);
    expect((await keyd('grant', 'carol', '--days', '1', '--seconds', '5')).code).toBe(2);
    expect((await keyd('list', '--status', 'GONE')).code).toBe(2);
    expect((await keyd('frobnicate')).code).toBe(2);
    expect((await keyd('grant', 'x'.repeat(200), '--days', '1')).code).toBe(2);
    expect((await keyd('get', 'nobody')).code).toBe(3);
    const closed = await freePort();
    const down = await keyd('status', '--addr', `127.0.0.1:${closed}`, '--timeout', '2000');
    expect(down.code).toBe(5);
    expect(down.stderr).toContain(`127.0.0.1:${closed}`);
    expect((await json<{ keys: unknown[] }>('list', '--status', 'ACTIVE')).keys).toHaveLength(1);
  });
});
