import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { internalsOf, StoreDatabase } from '../store.database';
import { testKey } from '../testing/key.fixture';
import { KeyRepository } from './key.repository';
import { NodeRepository } from './node.repository';
import { ActiveSnapshot } from './store.types';

const NOW = new Date('2030-01-01T00:00:00Z');

describe('KeyRepository', () => {
  let dir: string;
  let db: StoreDatabase;
  let keys: KeyRepository;
  let nodeId: number;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'keyd-keys-'));
    db = await StoreDatabase.open(join(dir, 'keyd.sqlite'));
    keys = new KeyRepository(db);
    nodeId = (await new NodeRepository(db).seed({ name: 'n', apiAddr: '127.0.0.1:1', flavor: 'v2ray' }, NOW)).id;
  });

  afterEach(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const issue = (owner: string, n: number) => keys.write((tx) => tx.insertKey(testKey(owner, n, nodeId, NOW), NOW));

  it('answers from insertMany the keys a read of them answers, whatever their status, group, token or confirmation', async () => {
    const base = {
      nodeId,
      inboundTag: 'vless-in',
      subscriptionEnd: new Date(NOW.getTime() + 86_400_000),
      dataLimitBytes: 0,
      limitReset: 'none' as const,
      deviceLimit: 0,
      subscriptionToken: null,
    };
    const inserted = await keys.write((tx) =>
      tx.insertMany(
        [
          {
            ...base,
            ownerId: 'a',
            uuid: '00000000-0000-4000-8000-00000000000a',
            email: 'a.mail',
            flow: 'xtls-rprx-vision',
            status: 'ACTIVE',
            applied: false,
            dataLimitBytes: 5_000,
            limitReset: 'month',
            deviceLimit: 2,
            subscriptionToken: 'token-a',
          },
          {
            ...base,
            ownerId: 'b',
            uuid: '00000000-0000-4000-8000-00000000000b',
            email: 'b.mail',
            flow: '',
            status: 'EXPIRED',
            applied: true,
            nodeGroup: 'eu',
          },
          {
            ...base,
            ownerId: 'c',
            uuid: '00000000-0000-4000-8000-00000000000c',
            email: 'c.mail',
            flow: '',
            status: 'REVOKED',
            applied: false,
          },
        ],
        NOW,
      ),
    );
    expect(inserted.map((k) => [k.ownerId, k.provisioned])).toEqual([
      ['a', false],
      ['b', true],
      ['c', false],
    ]);
    for (const key of inserted) expect(key).toEqual(await keys.getById(key.id));
  });

  it('keeps a confirmation when another job of its write batch fails and the batch runs again', async () => {
    const alice = await issue('alice', 1);
    const bob = await issue('bob', 2);
    expect([alice.provisioned, bob.provisioned]).toEqual([false, false]);

    // Hold the queue so that the next jobs share one batch: the confirmations, and a job that fails.
    let release!: () => void;
    const started = new Promise<void>((onStart) => {
      internalsOf(db)
        .writes.run(() => new Promise<void>((r) => ((release = r), onStart())))
        .catch(() => undefined);
    });
    await started;
    const applied = keys.markApplied([
      { id: alice.id, seq: alice.changeSeq },
      { id: bob.id, seq: bob.changeSeq },
    ]);
    const failing = internalsOf(db).writes.run(() => Promise.reject(new Error('a constraint failed')));
    release();
    await expect(failing).rejects.toThrow('a constraint failed');
    await applied;

    expect((await keys.getById(alice.id))?.provisioned).toBe(true);
    expect((await keys.getById(bob.id))?.provisioned).toBe(true);
    await expect(keys.countPending()).resolves.toBe(0);
  });

  describe('readActive', () => {
    const FORMAT = { indent: '  ', level: 0 };
    const clientsIn = async (snapshot: ActiveSnapshot, size?: number) => {
      const pages: { email: string }[][] = [];
      for await (const page of snapshot.printed(FORMAT, size))
        pages.push(JSON.parse(`[${page.text}]`) as { email: string }[]);
      return pages;
    };
    const emails = async (snapshot: ActiveSnapshot, size?: number) =>
      (await clientsIn(snapshot, size)).flat().map((c) => c.email);

    it('reads one consistent view outside the write queue: writes commit during it and stay out of it', async () => {
      await issue('alice', 1);
      const bob = await issue('bob', 2);
      const seqBefore = await keys.maxChangeSeq();

      const seen = await keys.readActive(async (snapshot) => {
        const first = await emails(snapshot, 1);
        // Inside the queue this write would wait for the read, and the read for it: only a second connection lets it commit.
        await issue('carol', 3);
        await keys.write((tx) => tx.setStatus(bob.id, 'REVOKED', NOW));
        return { seq: snapshot.seq, first, again: await emails(snapshot, 1) };
      });

      expect(seen).toEqual({ seq: seqBefore, first: ['alice.mail', 'bob.mail'], again: ['alice.mail', 'bob.mail'] });
      const after = await keys.readActive(async (s) => ({ seq: s.seq, emails: await emails(s) }));
      expect(after).toEqual({ seq: await keys.maxChangeSeq(), emails: ['alice.mail', 'carol.mail'] });
      expect(after.seq).toBeGreaterThan(seqBefore);
    });

    it('pages through every active key in id order, printed as the config file holds them', async () => {
      for (let i = 1; i <= 7; i++) await issue(`owner${i}`, i);
      const pages = await keys.readActive(async (s) => {
        const out: { text: string; count: number }[] = [];
        for await (const page of s.printed({ indent: '    ', level: 3 }, 3)) out.push(page);
        return out;
      });
      expect(pages.map((p) => p.count)).toEqual([3, 3, 1]);
      const uuid = '00000000-0000-4000-8000-000000000007';
      expect(pages[2].text).toBe(
        `    {\n      "id": "${uuid}",\n      "email": "owner7.mail",\n      "flow": "",\n      "level": 3\n    }`,
      );
    });
  });
});
