import { randomUUID } from 'crypto';
import { rmSync } from 'fs';
import { emailFor } from '@keyd/keys';
import { NodeRepository, StoreDatabase } from '@keyd/store';

export interface SeededOwner {
  ownerId: string;
  uuid: string;
}

/**
 * A fresh database holding `count` active keys that the core is recorded as
 * holding (applied_seq = change_seq), as keyd would leave them, rev included:
 * keyd takes its next change sequence from the highest rev. Rows go in
 * through one JSON parameter per chunk: thousands of keys in a second, where
 * granting them through the API would take a minute. The schema is keyd's own
 * (StoreDatabase.open runs the migrations); the node is keyd's default one.
 */
export async function seedActiveKeys(dbPath: string, count: number, prefix = 'seed'): Promise<SeededOwner[]> {
  for (const suffix of ['', '-wal', '-shm']) rmSync(dbPath + suffix, { force: true });
  const db = await StoreDatabase.open(dbPath);
  try {
    const now = Date.now();
    const nodeId = (
      await new NodeRepository(db).seed({ name: 'default', apiAddr: '127.0.0.1:1', flavor: 'v2ray' }, new Date(now))
    ).id;
    const owners = Array.from({ length: count }, (_, i) => ({
      ownerId: `${prefix}-${String(i).padStart(6, '0')}`,
      uuid: randomUUID(),
    }));
    const end = now + 365 * 86_400_000;
    for (let at = 0; at < owners.length; at += 5000) {
      const rows = owners.slice(at, at + 5000).map((o, i) => [o.ownerId, o.uuid, emailFor(o.ownerId), at + i + 1]);
      await db.transaction((query) =>
        query(
          `INSERT INTO keys (owner_id, uuid, email, node_id, inbound_tag, flow, status, subscription_end, change_seq,
             rev, applied_seq, created_at, updated_at)
           SELECT value ->> 0, value ->> 1, value ->> 2, ?1, 'vless-in', '', 'ACTIVE', ?2, value ->> 3, value ->> 3,
             value ->> 3, ?3, ?3
           FROM json_each(?4)`,
          [nodeId, end, now, JSON.stringify(rows)],
        ),
      );
    }
    return owners;
  } finally {
    await db.close();
  }
}
