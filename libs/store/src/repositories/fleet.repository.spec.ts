import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QueryRunner } from 'typeorm';
import { ClaimedRevision1764410000000 } from '../migrations/1764410000000-claimed-revision.migration';
import { internalsOf, StoreDatabase } from '../store.database';
import { FleetNodeRecord, FleetRepository, NodeLink } from './fleet.repository';
import { KeyRepository } from './key.repository';
import { NodeRepository } from './node.repository';

const NOW = new Date('2030-01-01T00:00:00Z');

describe('FleetRepository regroup', () => {
  let dir: string;
  let db: StoreDatabase;
  let nodeId: number;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'keyd-fleet-'));
    db = await StoreDatabase.open(join(dir, 'keyd.sqlite'));
    nodeId = (await new NodeRepository(db).seed({ name: 'n', apiAddr: '127.0.0.1:1', flavor: 'v2ray' }, NOW)).id;
  });

  afterEach(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const issue = (keys: KeyRepository, n: number) =>
    keys.write((tx) =>
      tx.insertKey(
        {
          ownerId: `owner-${n}`,
          uuid: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
          email: `owner-${n}.mail`,
          nodeId,
          inboundTag: 'vless-in',
          flow: '',
          subscriptionEnd: new Date(NOW.getTime() + 86_400_000),
          dataLimitBytes: 0,
          limitReset: 'none',
          deviceLimit: 0,
          subscriptionToken: null,
        },
        NOW,
      ),
    );

  it('gives a regrouped node a resync revision above every key, and later keys revisions above it, across a restart', async () => {
    const keys = new KeyRepository(db);
    const fleet = new FleetRepository(db, keys);
    const node = await fleet.create(
      { name: 'edge', group: 'eu', publicHost: 'edge.example', publicPort: 443, link: {} as NodeLink, enabled: true },
      'token',
      NOW,
    );
    const before = await issue(keys, 1);
    // An agent at the latest key revision must still be below the resync revision, or it gets no snapshot.
    const moved = (await fleet.update(node?.id ?? 0, { group: 'us' }, NOW)) as FleetNodeRecord;
    expect(moved.resyncRev).toBeGreaterThan(before.rev);
    expect(await fleet.maxRev()).toBe(moved.resyncRev);
    expect((await fleet.snapshot('us')).rev).toBe(moved.resyncRev);
    expect((await issue(keys, 2)).rev).toBeGreaterThan(moved.resyncRev);

    const again = (await fleet.update(moved.id, { group: 'eu' }, NOW)) as FleetNodeRecord;
    const restarted = new KeyRepository(db);
    expect((await issue(restarted, 3)).rev).toBeGreaterThan(again.resyncRev);
  });

  it('never hands a resync revision out again, even once its node is deleted and the daemon restarted', async () => {
    const keys = new KeyRepository(db);
    const fleet = new FleetRepository(db, keys);
    const link = {} as NodeLink;
    const a = await fleet.create(
      { name: 'a', group: 'eu', publicHost: 'a.example', publicPort: 443, link, enabled: true },
      't1',
      NOW,
    );
    await issue(keys, 1);
    const moved = (await fleet.update(a?.id ?? 0, { group: 'us' }, NOW)) as FleetNodeRecord;
    // A new agent's snapshot is current as of that revision, and it acknowledges it.
    const held = (await fleet.snapshot('eu')).rev;
    expect(held).toBe(moved.resyncRev);
    await fleet.remove(moved.id);
    expect(await fleet.update(moved.id, { group: 'eu' }, NOW)).toBeNull();

    expect(await fleet.maxRev()).toBe(held);
    const restarted = new KeyRepository(db);
    expect((await issue(restarted, 2)).rev).toBeGreaterThan(held);
  });

  it('after the upgrade, hands out no revision an agent acknowledged, even one whose node is gone', async () => {
    const keys = new KeyRepository(db);
    await issue(keys, 1);
    const query = (sql: string) => internalsOf(db).source.query(sql);
    // A database from before the migration: an agent acknowledged a resync revision of a node deleted since.
    await query('UPDATE nodes SET acked_rev = 42');
    const migration = new ClaimedRevision1764410000000();
    await migration.down({ query } as unknown as QueryRunner);
    await migration.up({ query } as unknown as QueryRunner);

    expect((await issue(new KeyRepository(db), 2)).rev).toBeGreaterThan(42);
  });
});
