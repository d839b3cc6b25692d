import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeydConfig } from '@keyd/config';
import { KeyEvents, KeySyncService, OwnerLocks } from '@keyd/keys';
import { CoreReads, createLogger, Metrics } from '@keyd/observability';
import { KeyRepository, StoreDatabase, UsageRepository } from '@keyd/store';
import { XrayClient } from '@keyd/xray';
import { FakeCore, startFakeCore } from '@keyd/xray/testing';
import { UsageMetricsRecorder } from './usage-metrics.recorder';
import { UsagePoller } from './usage.poller';

const NOW = new Date('2030-01-01T00:00:00Z');

describe('UsagePoller when the core cannot be read', () => {
  let dir: string;
  let fake: FakeCore;
  let db: StoreDatabase;
  let core: XrayClient;
  let poller: UsagePoller;
  let metrics: Metrics;
  let reads: CoreReads;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'keyd-poller-'));
    fake = await startFakeCore({ flavor: 'xray' });
    db = await StoreDatabase.open(join(dir, 'keyd.sqlite'));
    const config = {
      core: { apiAddr: fake.addr, flavor: 'xray', callTimeoutMs: 2000, userLevel: 0 },
      stats: { intervalSeconds: 3600 },
    } as unknown as KeydConfig;
    const log = createLogger('silent', false);
    const keys = new KeyRepository(db);
    core = new XrayClient(config);
    const sync = new KeySyncService(core, keys, new OwnerLocks(), new KeyEvents(), log, config);
    poller = new UsagePoller(core, new UsageRepository(db, keys), sync, config, { now: () => NOW }, log);
    metrics = new Metrics();
    reads = new CoreReads(metrics, log);
    new UsageMetricsRecorder(poller, metrics, reads).onApplicationBootstrap();
  });

  afterEach(async () => {
    core.close();
    await fake.stop();
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const failures = async () =>
    (await metrics.coreReadFailures.get()).values.find((v) => v.labels.read === 'usage_poll')?.value ?? 0;

  it('counts a failed read in metrics and keeps its error for the status, until a read works', async () => {
    fake.failNextOf('QueryStats', 8, 'Received message larger than max (5242880 vs. 4194304)');
    const report = await poller.poll();

    expect(report.read).toBe(false);
    expect(await failures()).toBe(1);
    expect(reads.snapshot().usage_poll).toMatchObject({
      failures: 1,
      lastError: expect.stringContaining('larger than max'),
    });

    await expect(poller.poll()).resolves.toMatchObject({ read: true });
    expect(reads.snapshot().usage_poll).toMatchObject({ failures: 1, lastError: null });
  });
});
