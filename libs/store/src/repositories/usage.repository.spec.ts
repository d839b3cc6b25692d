import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Key } from '@keyd/domain';
import { internalsOf, StoreDatabase } from '../store.database';
import { testKey } from '../testing/key.fixture';
import { KeyRepository } from './key.repository';
import { NodeRepository } from './node.repository';
import { PollCommit, USAGE_BATCH, UsageRepository } from './usage.repository';

const NOW = new Date('2026-11-28T12:00:00Z');
const periods = { day: new Date('2026-11-28'), week: new Date('2026-11-23'), month: new Date('2026-11-01') };

describe('UsageRepository', () => {
  let dir: string;
  let db: StoreDatabase;
  let keys: KeyRepository;
  let usage: UsageRepository;
  let nodeId: number;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'keyd-usage-'));
    db = await StoreDatabase.open(join(dir, 'keyd.sqlite'));
    keys = new KeyRepository(db);
    usage = new UsageRepository(db, keys);
    nodeId = (await new NodeRepository(db).seed({ name: 'n', apiAddr: '127.0.0.1:1', flavor: 'v2ray' }, NOW)).id;
  });

  afterEach(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const issue = (owner: string, limit = 0, reset: Key['limitReset'] = 'none', at = NOW) =>
    keys.write((tx) =>
      tx.insertKey(
        {
          ownerId: owner,
          uuid: `00000000-0000-4000-8000-${String(owner.length).padStart(4, '0')}${owner.padEnd(8, '0').slice(0, 8)}`,
          email: `${owner}.mail`,
          nodeId,
          inboundTag: 'vless-in',
          flow: '',
          subscriptionEnd: new Date(NOW.getTime() + 86_400_000),
          dataLimitBytes: limit,
          limitReset: reset,
          deviceLimit: 0,
          subscriptionToken: `tok-${owner}`,
        },
        at,
      ),
    );

  /** The baselines a poll at NOW reads, of these emails only, in key order. */
  const baselines = async (emails: string[]) =>
    (await usage.countedBaselines(new Date(NOW.getTime() - 86_400_000)))
      .filter((b) => emails.includes(b.email))
      .sort((a, b) => a.keyId - b.keyId);

  const poll = async (readings: Record<string, [number, number]>, extra: Partial<PollCommit> = {}) => {
    const base = await baselines(Object.keys(readings));
    const restarted = extra.resetBaselines === true;
    const deltas = base.map((b) => {
      const [up, down] = readings[b.email];
      return {
        keyId: b.keyId,
        uplink: restarted ? up : up - (b.rawUplink ?? 0),
        downlink: restarted ? down : down - (b.rawDownlink ?? 0),
        rawUplink: up,
        rawDownlink: down,
      };
    });
    return usage.commitPoll({ deltas, resetBaselines: false, stats: null, periods, now: NOW, ...extra });
  };

  it('pages the baselines in key order, live keys and recently revoked ones alike', async () => {
    const ids: number[] = [];
    for (const owner of ['a', 'b', 'c', 'd', 'e']) ids.push((await issue(owner)).id);
    await keys.write((tx) => tx.setStatus(ids[2], 'REVOKED', NOW));
    const since = new Date(NOW.getTime() - 86_400_000);
    const pages: number[][] = [];
    for (let after = 0; ;) {
      const page = await usage.countedBaselines(since, after, 2);
      if (!page.length) break;
      pages.push(page.map((b) => b.keyId));
      after = page[page.length - 1].keyId;
    }
    expect(pages).toEqual([ids.slice(0, 2), ids.slice(2, 4), ids.slice(4)]);
    expect((await usage.countedBaselines(since)).map((b) => b.keyId)).toEqual(ids);
  });

  it('adds deltas to usage and lifetime totals and stores the raw readings with them', async () => {
    const a = await issue('alice');
    await poll({ 'alice.mail': [1000, 5000] });
    await poll({ 'alice.mail': [1500, 9000] });
    const k = (await keys.getById(a.id))!;
    expect(k.usage).toMatchObject({
      uplinkBytes: 1500,
      downlinkBytes: 9000,
      lifetimeUplinkBytes: 1500,
      lifetimeDownlinkBytes: 9000,
    });
    expect(k.usage.lastTrafficAt).toEqual(NOW);
    expect(await baselines(['alice.mail'])).toEqual([
      { keyId: a.id, email: 'alice.mail', rawUplink: 1500, rawDownlink: 9000 },
    ]);
  });

  it('suspends an active key at its limit, in the same transaction, with a new change sequence', async () => {
    const a = await issue('alice', 4000);
    const out = await poll({ 'alice.mail': [1000, 3000] });
    expect(out.suspended).toEqual([{ id: a.id, ownerId: 'alice' }]);
    const k = (await keys.getById(a.id))!;
    expect(k.status).toBe('SUSPENDED');
    expect(k.changeSeq).toBeGreaterThan(a.changeSeq);
    expect(k.provisioned).toBe(false);
  });

  it('commits nothing when the poll fails midway, so the retry counts every byte once', async () => {
    const a = await issue('alice', 4000);
    await poll({ 'alice.mail': [100, 100] });
    // The suspension step fails after the usage update has run inside the transaction.
    await internalsOf(db).source.query(
      `CREATE TEMP TRIGGER fail_suspend BEFORE UPDATE OF status ON keys BEGIN SELECT RAISE(ABORT, 'disk full'); END`,
    );
    await expect(poll({ 'alice.mail': [1000, 3000] })).rejects.toThrow(/disk full/);
    const untouched = (await keys.getById(a.id))!;
    expect(untouched.usage.uplinkBytes + untouched.usage.downlinkBytes).toBe(200);
    expect(await baselines(['alice.mail'])).toEqual([
      { keyId: a.id, email: 'alice.mail', rawUplink: 100, rawDownlink: 100 },
    ]);
    await internalsOf(db).source.query(`DROP TRIGGER fail_suspend`);
    await poll({ 'alice.mail': [1000, 3000] });
    const k = (await keys.getById(a.id))!;
    expect([k.usage.uplinkBytes, k.usage.downlinkBytes, k.status]).toEqual([1000, 3000, 'SUSPENDED']);
  });

  it('zeroes usage when a period ends and brings back a key suspended for data', async () => {
    const lastMonth = new Date('2026-10-15T00:00:00Z');
    const daily = await issue('dan', 1000, 'day', lastMonth);
    const monthly = await issue('mo', 1000, 'month', lastMonth);
    const never = await issue('nev', 1000, 'none', lastMonth);
    await poll(
      { 'dan.mail': [600, 600], 'mo.mail': [600, 600], 'nev.mail': [600, 600] },
      { periods: { day: lastMonth, week: lastMonth, month: lastMonth } },
    );
    expect((await keys.getById(daily.id))!.status).toBe('SUSPENDED');

    const out = await usage.commitPoll({ deltas: [], resetBaselines: false, stats: null, periods, now: NOW });
    expect(out.periodResets).toBe(2);
    expect(out.reactivated.map((k) => k.ownerId).sort()).toEqual(['dan', 'mo']);
    for (const id of [daily.id, monthly.id]) {
      const k = (await keys.getById(id))!;
      expect([k.status, k.usage.uplinkBytes, k.usage.downlinkBytes, k.usage.lifetimeUplinkBytes]).toEqual([
        'ACTIVE',
        0,
        0,
        600,
      ]);
    }
    expect((await keys.getById(daily.id))!.usage.periodStart).toEqual(periods.day);
    expect((await keys.getById(never.id))!.status).toBe('SUSPENDED');
  });

  it('forgets every baseline after a core restart, including keys the new core has not reported yet', async () => {
    const a = await issue('alice');
    const b = await issue('bob');
    await poll({ 'alice.mail': [100, 100], 'bob.mail': [200, 200] });
    await usage.commitPoll({ deltas: [], resetBaselines: true, stats: null, periods, now: NOW });
    expect(await baselines(['alice.mail', 'bob.mail'])).toEqual([
      { keyId: a.id, email: 'alice.mail', rawUplink: null, rawDownlink: null },
      { keyId: b.id, email: 'bob.mail', rawUplink: null, rawDownlink: null },
    ]);
  });

  it('commits a large poll in batches, and a crash between them still counts every byte once', async () => {
    const n = USAGE_BATCH + 50;
    const owners = Array.from({ length: n }, (_, i) => `k${i}`);
    await keys.write(async (tx) => {
      for (const [i, owner] of owners.entries()) {
        await tx.insertKey(testKey(owner, i, nodeId, NOW), NOW);
      }
    });
    const readings = (up: number) =>
      Object.fromEntries(owners.map((o) => [`${o}.mail`, [up, 2 * up] as [number, number]]));
    await poll(readings(100));
    const lastId = (await keys.findCurrentByOwner(owners[n - 1]))!.id;
    // The core restarted and its counters start again; the second batch of this poll fails.
    await internalsOf(db).source.query(
      `CREATE TEMP TRIGGER fail_batch BEFORE UPDATE OF used_uplink ON keys WHEN NEW.id = ${lastId}
       BEGIN SELECT RAISE(ABORT, 'disk full'); END`,
    );
    const stats = { uptimeSeconds: 5, bootAt: new Date(NOW.getTime() - 5000), polledAt: NOW };
    await expect(poll(readings(30), { resetBaselines: true, stats })).rejects.toThrow(/disk full/);
    await internalsOf(db).source.query(`DROP TRIGGER fail_batch`);
    // The first batch recorded the new core's clock: the retry is not a restart, and the unbatched keys count from zero.
    expect(await usage.statsClock()).toEqual(stats);
    await poll(readings(40));
    const totals = await internalsOf(db).source.query(`SELECT used_uplink AS up, used_downlink AS down FROM keys`);
    expect(totals).toHaveLength(n);
    expect(totals.every((t: { up: number; down: number }) => t.up === 140 && t.down === 280)).toBe(true);
  });

  describe("a node's usage", () => {
    const entry = (id: number, k: Key, uplink: number, downlink: number) => ({ id, uuid: k.uuid, uplink, downlink });
    const used = async (k: Key) => {
      const after = await keys.getById(k.id);
      return [after?.usage.uplinkBytes, after?.usage.downlinkBytes, after?.usage.lifetimeDownlinkBytes];
    };

    it('adds each entry once: a resend of applied ids adds nothing, and a new stream starts over', async () => {
      const a = await issue('alice');
      const b = await issue('bob');
      const first = await usage.applyNodeUsage(nodeId, 's1', [entry(1, a, 10, 100), entry(2, b, 1, 5)], NOW);
      expect(first).toEqual({ appliedUpTo: 2, applied: 2, suspended: [] });
      // A resend of 1-2 with 3 after it: only 3 counts.
      const again = await usage.applyNodeUsage(
        nodeId,
        's1',
        [entry(1, a, 10, 100), entry(2, b, 1, 5), entry(3, a, 2, 20)],
        NOW,
      );
      expect(again).toEqual({ appliedUpTo: 3, applied: 1, suspended: [] });
      expect(await usage.applyNodeUsage(nodeId, 's1', [entry(2, b, 1, 5)], NOW)).toMatchObject({
        appliedUpTo: 3,
        applied: 0,
      });
      expect(await used(a)).toEqual([12, 120, 120]);
      expect(await used(b)).toEqual([1, 5, 5]);
      // The node's database was made anew: its ids start from 1 under another stream.
      await usage.applyNodeUsage(nodeId, 's2', [entry(1, a, 1, 1)], NOW);
      expect(await used(a)).toEqual([13, 121, 121]);
    });

    it('adds every entry of a key that a report holds several of (one per poll)', async () => {
      const a = await issue('erin');
      const r = await usage.applyNodeUsage(
        nodeId,
        's',
        [entry(1, a, 10, 100), entry(2, a, 10, 100), entry(3, a, 1, 1)],
        NOW,
      );
      expect(r).toEqual({ appliedUpTo: 3, applied: 3, suspended: [] });
      expect(await used(a)).toEqual([21, 201, 201]);
    });

    it('skips entries of keys it does not know, and keeps the local counters apart', async () => {
      const a = await issue('carol');
      const ghost = { ...a, uuid: '00000000-0000-4000-8000-00000000dead' };
      const r = await usage.applyNodeUsage(nodeId, 's', [entry(4, ghost, 5, 5), entry(5, a, 1, 2)], NOW);
      expect(r).toEqual({ appliedUpTo: 5, applied: 1, suspended: [] });
      const [base] = await baselines([a.email]);
      expect([base.rawUplink, base.rawDownlink]).toEqual([null, null]);
    });

    it('suspends a key whose total over the nodes and the local core reaches its limit', async () => {
      const k = await issue('dave', 1000);
      await poll({ [k.email]: [100, 400] });
      const r = await usage.applyNodeUsage(nodeId, 's', [entry(1, k, 0, 499)], NOW);
      expect(r.suspended).toEqual([]);
      const over = await usage.applyNodeUsage(nodeId, 's', [entry(2, k, 0, 1)], NOW);
      expect(over.suspended).toEqual([{ id: k.id, ownerId: 'dave' }]);
      expect((await keys.getById(k.id))?.status).toBe('SUSPENDED');
    });
  });

  it('persists the core clock it polled', async () => {
    const stats = { uptimeSeconds: 42, bootAt: new Date(NOW.getTime() - 42_000), polledAt: NOW };
    expect(await usage.statsClock()).toBeNull();
    await usage.commitPoll({ deltas: [], resetBaselines: false, stats, periods, now: NOW });
    expect(await usage.statsClock()).toEqual(stats);
  });
});
