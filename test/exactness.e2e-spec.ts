import { copyFileSync, readFileSync } from 'fs';
import { join } from 'path';
import { CoreConfig } from './support/core.harness';
import { eventually, GrantResponse } from './support/keyd.harness';
import { seedActiveKeys } from './support/seed.harness';
import { allPass, nonePass, startStack, Stack } from './support/stack.harness';

const DAY = 86_400;
const fileClients = (path: string) => {
  const config = JSON.parse(readFileSync(path, 'utf8')) as CoreConfig;
  const clients = (config.inbounds.find((i) => i.tag === 'vless-in')?.settings['clients'] ?? []) as { id: string }[];
  return clients.map((c) => c.id);
};
const ready = async (s: Stack) => (await fetch(`${s.keyd.httpUrl}/readyz`)).status === 200;

describe('a core restarted from a config file that lags behind a revocation', () => {
  let s: Stack;
  // A long write window: the revocation below is not in the file when the core restarts.
  beforeAll(async () => (s = await startStack({ name: 'stale', env: { KEYD_CONFIG_WRITE_WINDOW_MS: '4000' } })));
  afterAll(() => s.teardown());

  it('refuses the revoked key within 10 s', async () => {
    const granted = await Promise.all(['keep-0', 'keep-1', 'gone'].map((o) => s.api.grant(o, DAY)));
    const uuids = granted.map((g) => g.key.uuid);
    const [keep0, keep1, gone] = uuids;
    expect(await eventually(async () => uuids.every((u) => fileClients(s.livePath).includes(u)), 10_000, 50)).toBe(
      true,
    );
    // The file was written just now, so the next write is a whole window away.
    await s.api.revoke('gone');
    const lagging = join(s.dir, 'core-lagging.json');
    copyFileSync(s.livePath, lagging);
    expect(fileClients(lagging)).toContain(gone);

    await s.core.kill('SIGKILL');
    await s.core.start(lagging);
    // The restarted core holds every key of the file, the revoked one included, until keyd repairs it.
    expect(await eventually(async () => nonePass(await s.probe([gone])), 10_000, 250)).toBe(true);
    expect(allPass(await s.probe([keep0, keep1]))).toBe(true);
  });
});

describe('a full re-push racing revocations', () => {
  let s: Stack;
  beforeAll(
    async () =>
      (s = await startStack({
        name: 'repush',
        env: { KEYD_RECONCILE_INTERVAL_SECONDS: '3600', KEYD_CONFIG_WRITE_WINDOW_MS: '60000' },
      })),
  );
  afterAll(() => s.teardown());

  it('leaves none of 50 keys revoked during a full re-push of 20k keys live when it ends', async () => {
    // 20k keys the database records as provisioned, and a core that holds none of them: the startup
    // pass finds its probe key missing and pushes every active key again.
    await s.keyd.kill();
    const owners = await seedActiveKeys(join(s.dir, 'keyd.sqlite'), 20_000);
    await s.keyd.start({ waitReady: false });
    // Spread over the first page the push reads, so most are read as active before they are revoked.
    const revoked = owners.filter((_, i) => i >= 1000 && i < 5000 && i % 80 === 0);
    expect(revoked).toHaveLength(50);
    await eventually(async () => (await s.api.get(revoked[0].ownerId)).status === 'ACTIVE', 10_000, 20);

    await Promise.all(revoked.map((o) => s.api.revoke(o.ownerId)));
    // Still in the startup pass: the revocations raced the re-push, not followed it.
    expect(await ready(s)).toBe(false);
    await s.keyd.waitReady(120_000);

    expect(nonePass(await s.probe(revoked.map((o) => o.uuid)))).toBe(true);
    const sample = owners.filter((_, i) => i % 1000 === 1).map((o) => o.uuid);
    expect(allPass(await s.probe(sample))).toBe(true);
  }, 180_000);
});

describe('confirmations in a write batch where another job fails', () => {
  let s: Stack;
  beforeAll(async () => (s = await startStack({ name: 'batch', env: { KEYD_RECONCILE_INTERVAL_SECONDS: '3600' } })));
  afterAll(() => s.teardown());

  it('reads back provisioned: true for every grant answered so', async () => {
    await s.api.grant('ledger', DAY, 'fixed-request-id');
    const answered: GrantResponse[] = [];
    let refused = 0;
    // Some callers grant while others keep reusing one request id with another owner, so failing jobs
    // keep arriving next to the grants' confirmations: the write batches that carry both run twice.
    // Many more of the latter, so that some of their jobs also land after a confirmation in its batch.
    let next = 0;
    const granter = async () => {
      while (next < 400) answered.push(await s.api.grant(`batch-${next++}`, DAY));
    };
    const reuser = async (_: unknown, w: number) => {
      for (let n = 0; next < 400; n++) {
        try {
          await s.api.grant(`reuse-${w}-${n}`, DAY, 'fixed-request-id');
        } catch (e) {
          if ((e as { code: number }).code !== 3) throw e;
          refused++;
        }
      }
    };
    await Promise.all([...Array.from({ length: 8 }, granter), ...Array.from({ length: 24 }, reuser)]);
    expect(refused).toBeGreaterThan(0);
    const provisioned = answered.filter((a) => a.key.provisioned).map((a) => a.key.owner_id);
    expect(provisioned).toHaveLength(400);

    const keys = await s.api.listAll({ status: 'ACTIVE' });
    const readBack = new Map(keys.map((k) => [k.owner_id, k.provisioned]));
    expect(provisioned.filter((o) => readBack.get(o) !== true)).toEqual([]);
  });
});
