import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeydConfig } from '@keyd/config';
import { KeyEvents, KeySyncService, OwnerLocks } from '@keyd/keys';
import { CoreReads, createLogger, Metrics } from '@keyd/observability';
import { KeyRepository, NodeRepository, StoreDatabase, UsageRepository } from '@keyd/store';
import { XrayClient } from '@keyd/xray';
import { FakeCore, startFakeCore } from '@keyd/xray/testing';
import { testKey } from '@keyd/store/testing';
import { CounterReader, FULL_READ_EVERY } from './counter.reader';
import { UsageMetricsRecorder } from './usage-metrics.recorder';
import { COUNTED_AFTER_LEAVING_MS, UsagePoller } from './usage.poller';

const NOW = new Date('2030-01-01T00:00:00Z');

describe('UsagePoller', () => {
  let dir: string;
  let fake: FakeCore;
  let db: StoreDatabase;
  let core: XrayClient;
  let poller: UsagePoller;
  let metrics: Metrics;
  let reads: CoreReads;
  let keys: KeyRepository;
  /** Xray before 26.4.13 unless a suite says otherwise. */
  let usersStats = false;
  /** standalone unless a suite says otherwise. */
  let role = 'standalone';

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'keyd-poller-'));
    fake = await startFakeCore({ flavor: 'xray', usersStats });
    db = await StoreDatabase.open(join(dir, 'keyd.sqlite'));
    const config = {
      core: { apiAddr: fake.addr, flavor: 'xray', callTimeoutMs: 2000, userLevel: 0 },
      stats: { intervalSeconds: 3600 },
      fleet: { role },
    } as unknown as KeydConfig;
    const log = createLogger('silent', false);
    keys = new KeyRepository(db);
    core = new XrayClient(config);
    const sync = new KeySyncService(core, keys, new OwnerLocks(), new KeyEvents(), log, config);
    poller = new UsagePoller(
      new CounterReader(core, log),
      new UsageRepository(db, keys),
      sync,
      config,
      { now: () => NOW },
      log,
    );
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

  const issue = async (owner: string, n: number) => {
    const nodeId = (await new NodeRepository(db).seed({ name: 'n', apiAddr: fake.addr, flavor: 'xray' }, NOW)).id;
    return keys.write((tx) => tx.insertKey(testKey(owner, n, nodeId, NOW), new Date(NOW.getTime() - 7 * 86_400_000)));
  };
  const revokeAt = (id: number, at: Date) => keys.write((tx) => tx.update(id, { status: 'REVOKED' }, at));
  const traffic = (email: string, up: number, down: number) => {
    fake.setStat(`user>>>${email}>>>traffic>>>uplink`, up);
    fake.setStat(`user>>>${email}>>>traffic>>>downlink`, down);
  };
  const used = async (id: number) => {
    const k = await keys.getById(id);
    return [k?.usage.lifetimeUplinkBytes, k?.usage.lifetimeDownlinkBytes];
  };
  const calls = (method: string, from = 0) => fake.calls.slice(from).filter((c) => c.method === method).length;

  describe("on an agent's node", () => {
    beforeAll(() => (role = 'agent'));
    afterAll(() => (role = 'standalone'));

    it("queues each poll's deltas for the control plane with the poll, and forgets only what it acknowledged", async () => {
      const usage = new UsageRepository(db, keys);
      const k = await issue('remote', 1);
      traffic(k.email, 100, 2000);
      await poller.poll();
      traffic(k.email, 150, 2600);
      await poller.poll();
      await poller.poll();
      const { stream, entries } = await usage.outbox(100);
      expect(stream).toMatch(/^[0-9a-f]{32}$/);
      expect(entries.map((e) => [e.uuid, e.uplink, e.downlink])).toEqual([
        [k.uuid, 100, 2000],
        [k.uuid, 50, 600],
      ]);
      expect(entries[1].id).toBeGreaterThan(entries[0].id);

      await usage.forgetOutbox('another-stream', entries[1].id);
      expect((await usage.outbox(100)).entries).toHaveLength(2);
      await usage.forgetOutbox(stream, entries[0].id);
      expect((await usage.outbox(100)).entries.map((e) => e.id)).toEqual([entries[1].id]);
    });
  });

  describe('when the core cannot be read', () => {
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

  describe('with counters of users that are no longer live', () => {
    it('counts live keys and the last bytes of a key that just left, and never looks up older ones', async () => {
      const live = await issue('live', 1);
      const recent = await issue('recent', 2);
      const old = await issue('old', 3);
      await revokeAt(recent.id, new Date(NOW.getTime() - 3_600_000));
      await revokeAt(old.id, new Date(NOW.getTime() - COUNTED_AFTER_LEAVING_MS - 1000));
      traffic(live.email, 10, 20);
      traffic(recent.email, 30, 40);
      traffic(old.email, 50, 60);
      // Counters the core keeps for users removed long ago, or that keyd never issued, until it restarts.
      for (let i = 0; i < 1000; i++) traffic(`gone-${i}.mail`, i, i);
      const baselines = jest.spyOn(UsageRepository.prototype, 'countedBaselines');

      const report = await poller.poll();

      expect(report).toMatchObject({ read: true, keysCounted: 2, uplinkBytes: 40, downlinkBytes: 60 });
      expect(await used(live.id)).toEqual([10, 20]);
      expect(await used(recent.id)).toEqual([30, 40]);
      expect(await used(old.id)).toEqual([0, 0]);
      await expect(baselines.mock.results[0].value).resolves.toHaveLength(2);
      baselines.mockRestore();
    });
  });

  describe('on a core that has GetUsersStats (Xray >= 26.4.13)', () => {
    beforeAll(() => (usersStats = true));
    afterAll(() => (usersStats = false));

    it('serves the polls between full reads from the users online, and counts every byte once', async () => {
      const alice = await issue('alice', 1);
      const bob = await issue('bob', 2);
      traffic(alice.email, 100, 100);
      traffic(bob.email, 10, 10);
      fake.setOnline(alice.email, true);
      await expect(poller.poll()).resolves.toMatchObject({ source: 'all_counters', uplinkBytes: 110 });

      // Alice is still connected; bob moved bytes, then disconnected before the next poll.
      traffic(alice.email, 300, 300);
      traffic(bob.email, 60, 60);
      const from = fake.calls.length;
      for (let i = 1; i < FULL_READ_EVERY; i++)
        await expect(poller.poll()).resolves.toMatchObject({ source: 'online_users' });
      expect([calls('GetUsersStats', from), calls('QueryStats', from)]).toEqual([FULL_READ_EVERY - 1, 0]);
      expect(await used(alice.id)).toEqual([300, 300]);
      expect(await used(bob.id)).toEqual([10, 10]);

      // The next full read finds bob's last bytes, counted against the same baseline: once.
      await expect(poller.poll()).resolves.toMatchObject({ source: 'all_counters', uplinkBytes: 50 });
      expect(await used(alice.id)).toEqual([300, 300]);
      expect(await used(bob.id)).toEqual([60, 60]);
    });

    it('reads every counter from then on when the core reports nobody online while counters move', async () => {
      // What a core without statsUserOnline in its policy answers: its online maps stay empty.
      const alice = await issue('alice', 1);
      traffic(alice.email, 100, 100);
      await poller.poll();
      traffic(alice.email, 200, 200);
      for (let i = 1; i < FULL_READ_EVERY; i++) await poller.poll();
      expect(await used(alice.id)).toEqual([100, 100]);
      await expect(poller.poll()).resolves.toMatchObject({ source: 'all_counters', uplinkBytes: 100 });

      const from = fake.calls.length;
      traffic(alice.email, 250, 250);
      await expect(poller.poll()).resolves.toMatchObject({ source: 'all_counters', uplinkBytes: 50 });
      expect(calls('GetUsersStats', from)).toBe(0);
    });
  });

  it('reads every counter on a core without GetUsersStats, asking for it only once', async () => {
    const alice = await issue('alice', 1);
    fake.setOnline(alice.email, true);
    for (let i = 0; i < 2 * FULL_READ_EVERY; i++) {
      traffic(alice.email, 10 * (i + 1), 0);
      await expect(poller.poll()).resolves.toMatchObject({ source: 'all_counters', uplinkBytes: 10 });
    }
    expect([calls('GetUsersStats'), calls('QueryStats')]).toEqual([1, 2 * FULL_READ_EVERY]);
  });
});
