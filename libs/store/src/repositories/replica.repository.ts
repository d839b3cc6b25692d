import { Key, KeyStatus } from '@keyd/domain';
import { KeyRepository } from './key.repository';
import { KeyRow, rowToKey } from './key.rows';
import { ImportedKey } from './store.types';

/** A key as the control plane sends it to an agent: what the node's core must hold for it. */
export interface ReplicaKey {
  uuid: string;
  email: string;
  ownerId: string;
  flow: string;
  status: KeyStatus;
  subscriptionEnd: Date;
  deviceLimit: number;
}

/** What a batch changed: keys whose status moved (the core must follow), keys whose device limit moved. */
export interface ReplicaChanges {
  changed: Key[];
  limits: Key[];
}

/** Where an agent's keys go in its own database: its node and its core's inbound. */
export interface ReplicaTarget {
  nodeId: number;
  inboundTag: string;
}

const LIVE = new Set<KeyStatus>(['ACTIVE', 'SUSPENDED']);

/**
 * An agent's local copy of its node's desired keys. A batch from the control
 * plane and the revision it brings the copy to commit in one transaction, so
 * after a crash the agent resumes from exactly what it holds.
 */
export class ReplicaRepository {
  constructor(private readonly keys: KeyRepository) {}

  async revision(): Promise<number> {
    return this.keys.writeWith(async (_tx, sql) => {
      const rows = (await sql('SELECT revision FROM agent_state WHERE id = 1')) as { revision: number }[];
      return rows.length ? Number(rows[0].revision) : 0;
    });
  }

  /**
   * Applies changes (or, with `snapshot`, the whole desired set: live keys not
   * in it are revoked locally) and records the revision.
   */
  async apply(
    batch: ReplicaKey[],
    revision: number,
    target: ReplicaTarget,
    snapshot: boolean,
    now: Date,
  ): Promise<ReplicaChanges> {
    return this.keys.writeWith(async (tx, sql) => {
      const existing = new Map((await tx.findByUuids(batch.map((k) => k.uuid))).map((k) => [k.uuid, k]));
      const changed: Key[] = [];
      const limits: Key[] = [];
      // Removals first: an owner's old key leaves before its replacement arrives (one live key per owner).
      if (snapshot) {
        const wanted = JSON.stringify(batch.map((k) => k.uuid));
        const gone = (await sql(
          `SELECT * FROM keys WHERE status IN ('ACTIVE', 'SUSPENDED') AND uuid NOT IN (SELECT value FROM json_each(?))`,
          [wanted],
        )) as KeyRow[];
        for (const row of gone) changed.push(await tx.setStatus(row.id, 'REVOKED', now));
      }
      const ordered = [...batch].sort((a, b) => Number(LIVE.has(a.status)) - Number(LIVE.has(b.status)));
      const fresh: ImportedKey[] = [];
      for (const k of ordered) {
        const local = existing.get(k.uuid);
        if (!local) {
          fresh.push({
            ownerId: k.ownerId,
            uuid: k.uuid,
            email: k.email,
            nodeId: target.nodeId,
            inboundTag: target.inboundTag,
            flow: k.flow,
            subscriptionEnd: k.subscriptionEnd,
            dataLimitBytes: 0,
            limitReset: 'none',
            deviceLimit: k.deviceLimit,
            subscriptionToken: null,
            status: k.status,
            applied: false,
          });
          continue;
        }
        const endMoved = local.subscriptionEnd.getTime() !== k.subscriptionEnd.getTime();
        const limitMoved = local.deviceLimit !== k.deviceLimit;
        const deviceLimit = limitMoved ? k.deviceLimit : undefined;
        const statusMoved = local.status !== k.status;
        if (!statusMoved && !endMoved && !limitMoved) continue;
        const status = statusMoved ? k.status : undefined;
        const after = await tx.update(local.id, { status, subscriptionEnd: k.subscriptionEnd, deviceLimit }, now);
        if (statusMoved) changed.push(after);
        if (limitMoved) limits.push(after);
      }
      const inserted = await tx.insertMany(fresh, now);
      changed.push(...inserted);
      limits.push(...inserted.filter((k) => k.deviceLimit > 0));
      await sql(
        'INSERT INTO agent_state (id, revision) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET revision = excluded.revision',
        [revision],
      );
      return { changed, limits };
    });
  }

  /** Keys the local core has not confirmed yet. */
  countPending(): Promise<number> {
    return this.keys.countPending();
  }

  /** Every key that is live locally, for draining a deleted node. */
  async live(): Promise<Key[]> {
    return this.keys.writeWith(async (_tx, sql) => {
      const rows = (await sql(`SELECT * FROM keys WHERE status IN ('ACTIVE', 'SUSPENDED')`)) as KeyRow[];
      return rows.map(rowToKey);
    });
  }
}
