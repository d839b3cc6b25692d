import { readFileSync } from 'fs';
import { CoreConfig } from './support/core.harness';
import { eventually, GrantResponse } from './support/keyd.harness';
import { allPass, nonePass, startStack, Stack } from './support/stack.harness';

const DAY = 86_400;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fileClients = (path: string) => {
  const config = JSON.parse(readFileSync(path, 'utf8')) as CoreConfig;
  const clients = (config.inbounds.find((i) => i.tag === 'vless-in')?.settings['clients'] ?? []) as { id: string }[];
  return clients.map((c) => c.id);
};
const grantMany = (s: Stack, prefix: string, n: number, seconds = DAY) =>
  Promise.all(Array.from({ length: n }, (_, i) => s.api.grant(`${prefix}-${i}`, seconds)));
const uuids = (rs: GrantResponse[]) => rs.map((r) => r.key.uuid);

describe('expiry on time', () => {
  let s: Stack;
  beforeAll(async () => (s = await startStack({ name: 'expiry', env: { KEYD_RECONCILE_INTERVAL_SECONDS: '3600' } })));
  afterAll(() => s.teardown());

  it('refuses a 3-second key within 2 seconds of its end, then issues a new working key', async () => {
    const granted = await s.api.grant('short', 3);
    expect(await s.probe([granted.key.uuid])).toEqual(new Map([[granted.key.uuid, true]]));
    const endMs = granted.key.subscription_end.seconds * 1000 + granted.key.subscription_end.nanos / 1e6;
    await sleep(Math.max(0, endMs + 2000 - Date.now()));
    expect(nonePass(await s.probe([granted.key.uuid]))).toBe(true);
    expect((await s.api.get('short')).status).toBe('EXPIRED');

    const next = await s.api.grant('short', DAY);
    expect(next.action).toBe('ISSUED');
    expect(next.key.uuid).not.toBe(granted.key.uuid);
    expect(allPass(await s.probe([next.key.uuid]))).toBe(true);
  });
});

describe('core restarts', () => {
  let s: Stack;
  beforeAll(async () => (s = await startStack({ name: 'restart', env: { KEYD_CONFIG_WRITE_WINDOW_MS: '1000' } })));
  afterAll(() => s.teardown());

  it('re-adds every active key within 10 s after the core restarts from its base config', async () => {
    const keys = uuids(await grantMany(s, 'base', 30));
    await s.api.revoke('base-0');
    await s.core.kill('SIGKILL');
    await s.core.start(s.core.configPath);
    const live = keys.slice(1);
    expect(await eventually(async () => allPass(await s.probe(live)), 10_000, 500)).toBe(true);
    expect(nonePass(await s.probe([keys[0]]))).toBe(true);
  });

  it('boots from the persisted file with every key in it, and replays only later grants', async () => {
    const before = uuids(await grantMany(s, 'file', 20));
    await s.api.revoke('file-0');
    // Let the coalesced write land, then stop keyd so the file alone is tested.
    expect(await eventually(async () => fileClients(s.livePath).length === 29 + 19, 10_000)).toBe(true);
    expect(fileClients(s.livePath)).not.toContain(before[0]);
    await s.keyd.kill('SIGKILL');
    await s.core.kill('SIGKILL');
    await s.core.start(s.livePath);
    expect(allPass(await s.probe(before.slice(1)))).toBe(true);
    expect(nonePass(await s.probe([before[0]]))).toBe(true);

    // Keys granted after the last write: the file lacks them, recovery must add them.
    await s.keyd.start();
    const after = uuids(await grantMany(s, 'late', 5));
    await s.core.kill('SIGKILL');
    await s.core.start(s.livePath);
    expect(await eventually(async () => allPass(await s.probe([...before.slice(1), ...after])), 10_000, 500)).toBe(
      true,
    );
    const file = fileClients(s.livePath);
    expect(file).not.toContain(before[0]);
  });
});

describe('core down while granting', () => {
  let s: Stack;
  beforeAll(async () => (s = await startStack({ name: 'down' })));
  afterAll(() => s.teardown());

  it('commits grants with provisioned=false and converges once the core is back', async () => {
    await s.core.kill('SIGKILL');
    const granted = await grantMany(s, 'offline', 5);
    expect(granted.every((g) => g.action === 'ISSUED' && !g.key.provisioned)).toBe(true);
    await s.core.start();
    expect(await eventually(async () => allPass(await s.probe(uuids(granted))), 10_000, 500)).toBe(true);
    expect(await eventually(async () => (await s.api.get('offline-0')).provisioned, 5_000)).toBe(true);
  });
});

describe('keyd killed mid-burst', () => {
  let s: Stack;
  beforeAll(async () => (s = await startStack({ name: 'crash' })));
  afterAll(() => s.teardown());

  it('has every acknowledged grant passing traffic within 10 s of the restart', async () => {
    const acknowledged: string[] = [];
    let next = 0;
    // Eight callers in a loop keep grants in flight at every instant, so the kill lands mid-burst.
    const caller = async () => {
      while (next < 200) {
        const owner = `crash-${next++}`;
        try {
          acknowledged.push((await s.api.grant(owner, DAY)).key.uuid);
        } catch {
          return;
        }
      }
    };
    const burst = Promise.all(Array.from({ length: 8 }, caller));
    await eventually(async () => acknowledged.length >= 40, 10_000, 1);
    await s.keyd.kill('SIGKILL');
    await burst;
    expect(acknowledged.length).toBeGreaterThanOrEqual(40);
    expect(acknowledged.length).toBeLessThan(200);
    await s.keyd.start();
    expect(await eventually(async () => allPass(await s.probe(acknowledged)), 10_000, 500)).toBe(true);
  });
});

describe('the persisted file under concurrent writes', () => {
  let s: Stack;
  beforeAll(async () => (s = await startStack({ name: 'file', env: { KEYD_CONFIG_WRITE_WINDOW_MS: '100' } })));
  afterAll(() => s.teardown());

  it('stays valid JSON through 500 concurrent grants and ends with exactly the active set', async () => {
    let reads = 0;
    let invalid = 0;
    let done = false;
    const watcher = (async () => {
      while (!done) {
        try {
          JSON.parse(readFileSync(s.livePath, 'utf8'));
        } catch {
          invalid++;
        }
        reads++;
        await sleep(2);
      }
    })();
    const granted = await grantMany(s, 'many', 500);
    await Promise.all(Array.from({ length: 50 }, (_, i) => s.api.revoke(`many-${i}`)));
    const active = new Set(uuids(granted.slice(50)));
    try {
      await eventually(async () => {
        const file = fileClients(s.livePath);
        return file.length === active.size && file.every((id) => active.has(id));
      }, 10_000);
    } finally {
      done = true;
      await watcher;
    }
    expect(reads).toBeGreaterThan(10);
    expect(invalid).toBe(0);
  });
});

describe('dry-run reconcile', () => {
  let s: Stack;
  // A slow monitor, so the drift stays in place until the test asks for a pass.
  beforeAll(
    async () =>
      (s = await startStack({
        name: 'dry',
        env: { KEYD_CORE_PROBE_INTERVAL_MS: '60000', KEYD_RECONCILE_INTERVAL_SECONDS: '3600' },
      })),
  );
  afterAll(() => s.teardown());

  it('reports the drift of a restarted core and changes nothing', async () => {
    const keys = uuids(await grantMany(s, 'dry', 3));
    await sleep(2100);
    await s.core.kill('SIGKILL');
    await s.core.start(s.core.configPath);
    const report = await s.api.reconcile(true);
    expect(report.dry_run).toBe(true);
    expect(report.core_restart_detected).toBe(true);
    expect(report.added).toBe(3);
    expect(nonePass(await s.probe(keys))).toBe(true);

    const real = await s.api.reconcile(false);
    expect(real.dry_run).toBe(false);
    expect(real.added).toBe(3);
    expect(allPass(await s.probe(keys))).toBe(true);
  });
});
