import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeydConfig } from '@keyd/config';
import { Key, KeyStatus } from '@keyd/domain';
import { createLogger } from '@keyd/observability';
import { ImportedKey, KeyRepository, NodeRepository, StoreDatabase } from '@keyd/store';
import { XrayClient } from '@keyd/xray';
import { testKey } from '@keyd/store/testing';
import { FakeCore, startFakeCore } from '@keyd/xray/testing';
import { BulkPushTracker } from './bulk-push.tracker';
import { BULK_PUSH_CONCURRENCY, BulkPusher } from './bulk.pusher';
import { KeyEvents } from './key.events';
import { KeySyncService } from './key-sync.service';
import { OwnerLocks } from './owner.locks';

const TAG = 'vless-in';
const NOW = new Date('2030-03-01T00:00:00Z');

describe('BulkPusher.converge', () => {
  let dir: string;
  let db: StoreDatabase;
  let fake: FakeCore;
  let core: XrayClient;
  let keys: KeyRepository;
  let events: KeyEvents;
  let pusher: BulkPusher;
  let nodeId: number;
  const inCore = () => new Set(fake.users(TAG).map((u) => u.uuid));
  const insert = (from: number, count: number): Promise<Key[]> =>
    keys.write((tx) =>
      tx.insertMany(
        Array.from({ length: count }, (_, i): ImportedKey => ({
          ...testKey(`owner-${from + i}`, from + i, nodeId, NOW, { email: `owner-${from + i}.bulk` }),
          status: 'ACTIVE',
          applied: false,
        })),
        NOW,
      ),
    );
  const setStatus = (list: Key[], status: KeyStatus): Promise<Key[]> =>
    keys.write(async (tx) => Promise.all(list.map((k) => tx.setStatus(k.id, status, NOW))));

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'keyd-bulk-'));
    fake = await startFakeCore({ flavor: 'v2ray' });
    const config = {
      core: { apiAddr: fake.addr, flavor: 'v2ray', inboundTag: TAG, flow: '', userLevel: 0, callTimeoutMs: 3000 },
    } as unknown as KeydConfig;
    db = await StoreDatabase.open(join(dir, 'keyd.sqlite'));
    keys = new KeyRepository(db);
    nodeId = (await new NodeRepository(db).seed({ name: 'default', apiAddr: fake.addr, flavor: 'v2ray' }, NOW)).id;
    events = new KeyEvents();
    core = new XrayClient(config);
    const sync = new KeySyncService(core, keys, new OwnerLocks(), events, createLogger('silent', false), config);
    pusher = new BulkPusher(keys, sync, new BulkPushTracker(), events);
  });

  afterEach(async () => {
    core.close();
    await fake.stop();
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('adds many keys in bulk, confirms each, and still removes and announces the rest one by one', async () => {
    const old = await insert(1, 3);
    await pusher.converge(old);
    expect(inCore()).toEqual(new Set(old.map((k) => k.uuid)));

    const revoked = await setStatus(old, 'REVOKED');
    const fresh = await insert(100, BULK_PUSH_CONCURRENCY * 3);
    const removed: string[] = [];
    let changed = 0;
    events.on('removed', (e) => removed.push(e.email));
    events.on('changed', () => changed++);

    expect(await pusher.converge([...revoked, ...fresh])).toBe(0);
    expect(inCore()).toEqual(new Set(fresh.map((k) => k.uuid)));
    expect(await keys.countPending()).toBe(0);
    expect(removed.sort()).toEqual(old.map((k) => k.email).sort());
    expect(changed).toBeGreaterThan(0);
  });

  it('counts the adds the core refused, which stay pending, and wakes the retrier', async () => {
    const fresh = await insert(1, BULK_PUSH_CONCURRENCY * 2);
    let pending = 0;
    events.on('pending', () => pending++);
    await fake.stop();
    expect(await pusher.converge(fresh)).toBe(fresh.length);
    expect(await keys.countPending()).toBe(fresh.length);
    expect(pending).toBeGreaterThan(0);
  });
});
