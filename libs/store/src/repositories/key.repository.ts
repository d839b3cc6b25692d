import { EntityManager, In, LessThanOrEqual, MoreThan, Raw } from 'typeorm';
import { Key, KeyStatus } from '@keyd/domain';
import { GrantRequestEntity, KeyEntity } from '../entities';
import { StoreDatabase } from '../store.database';
import { toKey } from './key.mapper';
import { GrantRequestRecord, KeyListQuery, KeyPatch, KeyWriter } from './store.types';

const LIVE = In(['ACTIVE', 'SUSPENDED']);

/**
 * Keys and the grant ledger. Reads go straight to the database; writes run in
 * the write queue, where the change sequence is assigned without races.
 */
export class KeyRepository {
  private lastSeq = -1;

  constructor(private readonly db: StoreDatabase) {}

  private get keys() {
    return this.db.dataSource.getRepository(KeyEntity);
  }

  /** Runs fn in one transaction; its writes commit together or not at all. */
  async write<T>(fn: (tx: KeyWriter) => Promise<T>): Promise<T> {
    return this.writeWith((tx) => fn(tx));
  }

  /** For repositories of this store that need raw SQL next to the key writes, in the same transaction. */
  async writeWith<T>(fn: (tx: KeyWriter, m: EntityManager) => Promise<T>): Promise<T> {
    if (this.lastSeq < 0) {
      const row = await this.keys
        .createQueryBuilder('k')
        .select('MAX(k.change_seq)', 'seq')
        .getRawOne<{ seq: number | null }>();
      this.lastSeq = Math.max(this.lastSeq, Number(row?.seq ?? 0));
    }
    return this.db.writes.run((m) => fn(this.writer(m), m));
  }

  private writer(m: EntityManager): KeyWriter {
    const keys = m.getRepository(KeyEntity);
    const requests = m.getRepository(GrantRequestEntity);
    const get = async (id: number) => toKey(await keys.findOneByOrFail({ id }));
    return {
      findLiveByOwner: async (ownerId) => {
        const e = await keys.findOneBy({ ownerId, status: LIVE });
        return e ? toKey(e) : null;
      },
      findLatestByOwner: async (ownerId) => {
        const e = await keys.findOne({ where: { ownerId }, order: { id: 'DESC' } });
        return e ? toKey(e) : null;
      },
      findRequest: async (requestId) => {
        const e = await requests.findOneBy({ requestId });
        return e
          ? {
              ...e,
              action: e.action as GrantRequestRecord['action'],
              limitReset: e.limitReset as GrantRequestRecord['limitReset'],
            }
          : null;
      },
      getKey: get,
      insertKey: async ({ subscriptionToken, ...k }, now) => {
        const seq = ++this.lastSeq;
        const saved = await keys.save(
          keys.create({
            ...k,
            subToken: subscriptionToken,
            status: 'ACTIVE',
            changeSeq: seq,
            appliedSeq: 0,
            usedUplink: 0,
            usedDownlink: 0,
            lifetimeUplink: 0,
            lifetimeDownlink: 0,
            rawUplink: null,
            rawDownlink: null,
            lastTrafficAt: null,
            usagePeriodStart: now,
            createdAt: now,
            updatedAt: now,
          }),
        );
        return toKey(saved);
      },
      setStatus: async (id, status, now) => {
        await keys.update({ id }, { status, changeSeq: ++this.lastSeq, updatedAt: now });
        return get(id);
      },
      update: async (id, patch, now) => {
        await keys.update({ id }, this.columns(patch, now));
        return get(id);
      },
      insertRequest: async (r, now) => {
        await requests.insert({ ...r, createdAt: now });
      },
    };
  }

  private columns(p: KeyPatch, now: Date): Partial<KeyEntity> {
    const c: Partial<KeyEntity> = { updatedAt: now };
    if (p.status !== undefined) Object.assign(c, { status: p.status, changeSeq: ++this.lastSeq });
    if (p.subscriptionEnd !== undefined) c.subscriptionEnd = p.subscriptionEnd;
    if (p.dataLimitBytes !== undefined) c.dataLimitBytes = p.dataLimitBytes;
    if (p.limitReset !== undefined) c.limitReset = p.limitReset;
    if (p.subscriptionToken !== undefined) c.subToken = p.subscriptionToken;
    if (p.resetUsage) Object.assign(c, { usedUplink: 0, usedDownlink: 0, usagePeriodStart: now });
    return c;
  }

  /** Records that the core reflects the key as of seq; a newer change stays pending. */
  async markApplied(applied: { id: number; seq: number }[]): Promise<void> {
    if (!applied.length) return;
    await this.db.writes.run(async (m) => {
      for (const a of applied) {
        await m.query('UPDATE keys SET applied_seq = ? WHERE id = ? AND applied_seq < ?', [a.seq, a.id, a.seq]);
      }
    });
  }

  async getById(id: number): Promise<Key | null> {
    const e = await this.keys.findOneBy({ id });
    return e ? toKey(e) : null;
  }

  /** The owner's active or suspended key, else the most recent one. */
  async findCurrentByOwner(ownerId: string): Promise<Key | null> {
    const e = await this.keys
      .createQueryBuilder('k')
      .where('k.owner_id = :ownerId', { ownerId })
      .orderBy(`CASE WHEN k.status IN ('ACTIVE', 'SUSPENDED') THEN 0 ELSE 1 END`)
      .addOrderBy('k.id', 'DESC')
      .getOne();
    return e ? toKey(e) : null;
  }

  async list(q: KeyListQuery): Promise<Key[]> {
    const rows = await this.keys.find({
      where: { id: MoreThan(q.afterId), ...(q.status ? { status: q.status } : {}) },
      order: { id: 'ASC' },
      take: q.limit,
    });
    return rows.map(toKey);
  }

  /** Keys whose latest change the core has not confirmed, oldest first. */
  async pending(limit: number): Promise<Key[]> {
    const rows = await this.keys.find({
      where: { appliedSeq: Raw((alias) => `${alias} < change_seq`) },
      order: { id: 'ASC' },
      take: limit,
    });
    return rows.map(toKey);
  }

  async countPending(): Promise<number> {
    return this.keys.count({ where: { appliedSeq: Raw((alias) => `${alias} < change_seq`) } });
  }

  async findBySubscriptionToken(token: string): Promise<Key | null> {
    const e = await this.keys.findOneBy({ subToken: token });
    return e ? toKey(e) : null;
  }

  /** The earliest subscription end among keys that can still expire: active or suspended for data. */
  async nextExpiry(): Promise<Date | null> {
    const row = await this.keys
      .createQueryBuilder('k')
      .select('MIN(k.subscription_end)', 'end')
      .where(`k.status IN ('ACTIVE', 'SUSPENDED')`)
      .getRawOne<{ end: number | null }>();
    return row?.end == null ? null : new Date(Number(row.end));
  }

  async dueForExpiry(now: Date, limit: number): Promise<Key[]> {
    const rows = await this.keys.find({
      where: { status: LIVE, subscriptionEnd: LessThanOrEqual(now) as unknown as Date },
      order: { subscriptionEnd: 'ASC' },
      take: limit,
    });
    return rows.map(toKey);
  }

  /**
   * Active keys and the change sequence they are current as of. Read inside the
   * write queue so that no write lands between the two statements.
   */
  async activeSnapshot(): Promise<{ seq: number; keys: Key[] }> {
    return this.db.writes.run(async (m) => {
      const rows = await m.getRepository(KeyEntity).find({ where: { status: 'ACTIVE' }, order: { id: 'ASC' } });
      const row = (await m.query('SELECT COALESCE(MAX(change_seq), 0) AS seq FROM keys')) as { seq: number }[];
      return { seq: Number(row[0].seq), keys: rows.map(toKey) };
    });
  }

  /** Keys changed after seq: what a core booted from a file written at seq lacks. */
  async changedSince(seq: number): Promise<Key[]> {
    const rows = await this.keys.find({ where: { changeSeq: MoreThan(seq) }, order: { changeSeq: 'ASC' } });
    return rows.map(toKey);
  }

  async activeKeys(afterId: number, limit: number): Promise<Key[]> {
    const rows = await this.keys.find({
      where: { status: 'ACTIVE', id: MoreThan(afterId) },
      order: { id: 'ASC' },
      take: limit,
    });
    return rows.map(toKey);
  }

  /** The active key the core confirmed most recently: the one most likely lost if the core lost state. */
  async newestApplied(): Promise<Key | null> {
    const e = await this.keys.findOne({
      where: { status: 'ACTIVE', appliedSeq: Raw((alias) => `${alias} >= change_seq`) },
      order: { changeSeq: 'DESC' },
    });
    return e ? toKey(e) : null;
  }

  /** The newest active key that a config file written at seq holds. */
  async newestActiveAtOrBefore(seq: number): Promise<Key | null> {
    const e = await this.keys.findOne({
      where: { status: 'ACTIVE', changeSeq: LessThanOrEqual(seq) },
      order: { changeSeq: 'DESC' },
    });
    return e ? toKey(e) : null;
  }

  async maxChangeSeq(): Promise<number> {
    const row = (await this.db.dataSource.query('SELECT COALESCE(MAX(change_seq), 0) AS seq FROM keys')) as {
      seq: number;
    }[];
    return Number(row[0].seq);
  }

  async findByEmails(emails: string[]): Promise<Key[]> {
    if (!emails.length) return [];
    const rows = await this.keys.find({ where: { email: In(emails) } });
    return rows.map(toKey);
  }

  async countByStatus(): Promise<Record<KeyStatus, number>> {
    const rows = await this.keys
      .createQueryBuilder('k')
      .select('k.status', 'status')
      .addSelect('COUNT(*)', 'n')
      .groupBy('k.status')
      .getRawMany<{ status: KeyStatus; n: number }>();
    const counts: Record<KeyStatus, number> = { ACTIVE: 0, EXPIRED: 0, REVOKED: 0, SUSPENDED: 0 };
    for (const r of rows) counts[r.status] = Number(r.n);
    return counts;
  }
}
