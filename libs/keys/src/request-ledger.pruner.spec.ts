import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@keyd/observability';
import { KeyRepository, NodeRepository, StoreDatabase } from '@keyd/store';
import { RequestLedgerPruner } from './request-ledger.pruner';

const NOW = new Date('2030-03-01T00:00:00Z');
const DAY = 86_400_000;

describe('RequestLedgerPruner', () => {
  let dir: string;
  let db: StoreDatabase;
  let keys: KeyRepository;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'keyd-prune-'));
    db = await StoreDatabase.open(join(dir, 'keyd.sqlite'));
    keys = new KeyRepository(db);
  });

  afterEach(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('forgets request ids older than the retention period, in batches, and keeps the rest', async () => {
    const nodeId = (await new NodeRepository(db).seed({ name: 'n', apiAddr: '127.0.0.1:1', flavor: 'v2ray' }, NOW)).id;
    const key = await keys.write((tx) =>
      tx.insertKey(
        {
          ownerId: 'alice',
          uuid: '00000000-0000-4000-8000-000000000001',
          email: 'alice.mail',
          nodeId,
          inboundTag: 'vless-in',
          flow: '',
          subscriptionEnd: new Date(NOW.getTime() + DAY),
          dataLimitBytes: 0,
          limitReset: 'none',
          deviceLimit: 0,
          subscriptionToken: null,
        },
        NOW,
      ),
    );
    const record = (requestId: string, ageDays: number) =>
      keys.write((tx) =>
        tx.insertRequest(
          {
            requestId,
            ownerId: 'alice',
            durationSeconds: 60,
            dataLimitBytes: null,
            deviceLimit: null,
            limitReset: null,
            keyId: key.id,
            action: 'RENEWED',
          },
          new Date(NOW.getTime() - ageDays * DAY),
        ),
      );
    for (let i = 0; i < 12; i++) await record(`old-${i}`, 31);
    await record('recent', 29);

    const pruner = new RequestLedgerPruner(
      keys,
      { requests: { retentionDays: 30 } },
      { now: () => NOW },
      createLogger('silent', false),
    );
    await expect(pruner.prune()).resolves.toBe(12);

    const seen = (id: string) => keys.write((tx) => tx.findRequest(id));
    await expect(seen('old-0')).resolves.toBeNull();
    await expect(seen('old-11')).resolves.toBeNull();
    await expect(seen('recent')).resolves.toMatchObject({ requestId: 'recent', keyId: key.id });
    // Batches smaller than what is due still take it all.
    await record('old-again', 40);
    await expect(keys.pruneRequests(new Date(NOW.getTime() - 30 * DAY), 1)).resolves.toBe(1);
  });
});
