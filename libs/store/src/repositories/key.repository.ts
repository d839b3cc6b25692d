import { EntityManager, In, LessThanOrEqual, MoreThan, Raw } from 'typeorm';
import { Key, KeyStatus } from '@keyd/domain';
import { KeyEntity } from '../entities';
import { internalsOf, SqlQuery, StoreDatabase } from '../store.database';
import { toKey } from './key.mapper';
import { KeyRow, LATEST_REVISION, rowToKey } from './key.rows';
import { importLookups } from './import.lookups';
import {
  ActiveSnapshot,
  ClientFormat,
  GrantRequestRecord,
  ImportLookups,
  ImportedKey,
  KeyListQuery,
  KeyPatch,
  KeyWriter,
  PrintedClients,
} from './store.types';

const LIVE = In(['ACTIVE', 'SUSPENDED']);
const EMAIL_BATCH = 10_000;
const ACTIVE_PAGE = 2000;

/**
 * Keys and the grant ledger. Reads go straight to the database; writes run in
 * the write queue, where the change sequence is assigned without races.
 */
export class KeyRepository {
  private lastSeq = -1;
  private readonly appliedBuffer = new Map<number, number>();
  private appliedJob?: Promise<void>;

  constructor(private readonly db: StoreDatabase) {}

  private get keys() {
    return internalsOf(this.db).source.getRepository(KeyEntity);
  }

  /** Runs fn in one transaction; its writes commit together or not at all. */
  async write<T>(fn: (tx: KeyWriter) => Promise<T>): Promise<T> {
    return this.writeWith((tx) => fn(tx));
  }

  /** For repositories of this store that need raw SQL next to the key writes, in the same transaction. */
  async writeWith<T>(fn: (tx: KeyWriter, query: SqlQuery) => Promise<T>): Promise<T> {
    if (this.lastSeq < 0) {
      // rev takes its values from the same counter as change_seq, and is never below it; a node's
      // resync revision (claimRevision) comes from it too, and is recorded in core_state.
      const [row] = (await internalsOf(this.db).source.query(`SELECT ${LATEST_REVISION} AS seq`)) as { seq: number }[];
      this.lastSeq = Math.max(this.lastSeq, Number(row?.seq ?? 0));
    }
    return internalsOf(this.db).writes.run((m) =>
      fn(this.writer(m), (sql, params) => m.query(sql, params) as Promise<unknown[]>),
    );
  }

  /**
   * The write path runs on plain SQL: it is what every grant waits for, and the
   * ORM's query building costs more than the statements themselves.
   */
  private writer(m: EntityManager): KeyWriter {
    const one = async (sql: string, params: unknown[]) => {
      const rows = (await m.query(sql, params)) as KeyRow[];
      return rows.length ? rowToKey(rows[0]) : null;
    };
    const get = async (id: number) => {
      const key = await one('SELECT * FROM keys WHERE id = ?', [id]);
      if (!key) throw new Error(`key ${id} vanished inside its own transaction`);
      return key;
    };
    return {
      ...importLookups((sql, params) => m.query(sql, params)),
      insertMany: (keys, now) => this.insertMany(m, keys, now),
      claimRevision: async () => {
        const rev = ++this.lastSeq;
        await m.query('UPDATE core_state SET claimed_rev = MAX(claimed_rev, ?) WHERE id = 1', [rev]);
        return rev;
      },
      findLiveByOwner: (ownerId) =>
        one(`SELECT * FROM keys WHERE owner_id = ? AND status IN ('ACTIVE', 'SUSPENDED')`, [ownerId]),
      findLatestByOwner: (ownerId) => one('SELECT * FROM keys WHERE owner_id = ? ORDER BY id DESC LIMIT 1', [ownerId]),
      findRequest: async (requestId) => {
        const rows = (await m.query(
          `SELECT request_id AS requestId, owner_id AS ownerId, duration_seconds AS durationSeconds,
             data_limit_bytes AS dataLimitBytes, limit_reset AS limitReset, device_limit AS deviceLimit, key_id AS keyId,
             action
           FROM grant_requests WHERE request_id = ?`,
          [requestId],
        )) as GrantRequestRecord[];
        return rows[0] ?? null;
      },
      getKey: get,
      insertKey: async (k, now) => {
        const seq = ++this.lastSeq;
        // Lower case on purpose: TypeORM runs statements starting with "INSERT " without returning rows.
        const rows = (await m.query(
          `insert INTO keys (owner_id, uuid, email, node_id, node_group, inbound_tag, flow, status, subscription_end,
             change_seq, rev, applied_seq, data_limit_bytes, limit_reset, device_limit, usage_period_start, sub_token,
             created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, 'ACTIVE', ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
          [
            k.ownerId,
            k.uuid,
            k.email,
            k.nodeId,
            k.nodeGroup ?? 'default',
            k.inboundTag,
            k.flow,
            k.subscriptionEnd.getTime(),
            seq,
            seq,
            k.dataLimitBytes,
            k.limitReset,
            k.deviceLimit,
            now.getTime(),
            k.subscriptionToken,
            now.getTime(),
            now.getTime(),
          ],
        )) as KeyRow[];
        return rowToKey(rows[0]);
      },
      setStatus: (id, status, now) => this.patch(m, id, { status }, now),
      update: (id, patch, now) => this.patch(m, id, patch, now),
      insertRequest: async (r, now) => {
        await m.query(
          `INSERT INTO grant_requests (request_id, owner_id, duration_seconds, data_limit_bytes, limit_reset,
             device_limit, key_id, action, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          [
            r.requestId,
            r.ownerId,
            r.durationSeconds,
            r.dataLimitBytes,
            r.limitReset,
            r.deviceLimit,
            r.keyId,
            r.action,
            now.getTime(),
          ],
        );
      },
    };
  }

  private async insertMany(m: EntityManager, keys: ImportedKey[], now: Date): Promise<Key[]> {
    if (!keys.length) return [];
    const t = now.getTime();
    const written: KeyRow[] = keys.map((k) => {
      const seq = ++this.lastSeq;
      return {
        id: 0,
        owner_id: k.ownerId,
        uuid: k.uuid,
        email: k.email,
        inbound_tag: k.inboundTag,
        flow: k.flow,
        status: k.status,
        subscription_end: k.subscriptionEnd.getTime(),
        change_seq: seq,
        node_group: k.nodeGroup ?? 'default',
        rev: seq,
        applied_seq: k.applied ? seq : 0,
        data_limit_bytes: k.dataLimitBytes,
        limit_reset: k.limitReset,
        device_limit: k.deviceLimit,
        used_uplink: 0,
        used_downlink: 0,
        lifetime_uplink: 0,
        lifetime_downlink: 0,
        last_traffic_at: null,
        usage_period_start: t,
        sub_token: k.subscriptionToken,
        created_at: t,
        updated_at: t,
      };
    });
    const values = keys.map((k, i) => {
      const r = written[i];
      return [
        r.owner_id,
        r.uuid,
        r.email,
        k.nodeId,
        r.inbound_tag,
        r.flow,
        r.status,
        r.subscription_end,
        r.change_seq,
        r.applied_seq,
        r.data_limit_bytes,
        r.limit_reset,
        r.sub_token,
        r.device_limit,
        r.node_group,
      ];
    });
    // One JSON parameter for the whole batch: one statement, whatever the number of rows. Only the ids
    // come back: every other column is what was just written, and a row object of every column per key
    // costs an import more main-thread time than the insert itself.
    const ids = (await m.query(
      `insert INTO keys (owner_id, uuid, email, node_id, inbound_tag, flow, status, subscription_end, change_seq,
         applied_seq, data_limit_bytes, limit_reset, usage_period_start, sub_token, device_limit, node_group, rev,
         created_at, updated_at)
       SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6, value ->> 7,
         value ->> 8, value ->> 9, value ->> 10, value ->> 11, ?, value ->> 12, value ->> 13, value ->> 14,
         value ->> 8, ?, ?
       FROM json_each(?) RETURNING id, uuid`,
      [t, t, t, JSON.stringify(values)],
    )) as { id: number; uuid: string }[];
    const idOf = new Map(ids.map((r) => [r.uuid, r.id]));
    return written.map((r) => {
      const id = idOf.get(r.uuid);
      if (id === undefined) throw new Error('a key of the batch was not inserted');
      return rowToKey({ ...r, id });
    });
  }

  /** The import's reads outside a transaction, for a dry run. */
  lookups(): ImportLookups {
    return importLookups((sql, params) => internalsOf(this.db).source.query(sql, params));
  }

  /** Keys among these whose change sequence moved past the one pushed: they changed meanwhile. */
  async changedSincePush(pushed: { id: number; seq: number }[]): Promise<Key[]> {
    if (!pushed.length) return [];
    const rows = (await internalsOf(this.db).source.query(
      `SELECT k.* FROM json_each(?) AS p JOIN keys AS k ON k.id = p.value ->> 0 WHERE k.change_seq > p.value ->> 1`,
      [JSON.stringify(pushed.map((p) => [p.id, p.seq]))],
    )) as KeyRow[];
    return rows.map(rowToKey);
  }

  async isEmpty(): Promise<boolean> {
    const rows = (await internalsOf(this.db).source.query('SELECT 1 FROM keys LIMIT 1')) as unknown[];
    return rows.length === 0;
  }

  /** Which of these UUIDs are keys of keyd's, whatever their status. */
  async knownUuids(uuids: string[]): Promise<Set<string>> {
    const known = new Set<string>();
    for (let i = 0; i < uuids.length; i += EMAIL_BATCH) {
      const rows = (await internalsOf(this.db).source.query(
        'SELECT uuid FROM keys WHERE uuid IN (SELECT value FROM json_each(?))',
        [JSON.stringify(uuids.slice(i, i + EMAIL_BATCH))],
      )) as { uuid: string }[];
      for (const r of rows) known.add(r.uuid);
    }
    return known;
  }

  private async patch(m: EntityManager, id: number, p: KeyPatch, now: Date): Promise<Key> {
    const sets = ['updated_at = ?'];
    const params: unknown[] = [now.getTime()];
    const set = (column: string, value: unknown) => {
      sets.push(`${column} = ?`);
      params.push(value);
    };
    // Agents follow status, end and device limit: each moves rev; only a status moves what the local core holds.
    if (p.status !== undefined || p.subscriptionEnd !== undefined || p.deviceLimit !== undefined)
      set('rev', ++this.lastSeq);
    if (p.status !== undefined) {
      set('status', p.status);
      set('change_seq', this.lastSeq);
    }
    if (p.subscriptionEnd !== undefined) set('subscription_end', p.subscriptionEnd.getTime());
    if (p.dataLimitBytes !== undefined) set('data_limit_bytes', p.dataLimitBytes);
    if (p.limitReset !== undefined) set('limit_reset', p.limitReset);
    if (p.deviceLimit !== undefined) set('device_limit', p.deviceLimit);
    if (p.subscriptionToken !== undefined) set('sub_token', p.subscriptionToken);
    if (p.resetUsage) {
      set('used_uplink', 0);
      set('used_downlink', 0);
      set('usage_period_start', now.getTime());
    }
    // Lower case for the same reason as the insert: the row comes back from RETURNING.
    const rows = (await m.query(`update keys SET ${sets.join(', ')} WHERE id = ? RETURNING *`, [
      ...params,
      id,
    ])) as KeyRow[];
    if (!rows.length) throw new Error(`key ${id} vanished inside its own transaction`);
    return rowToKey(rows[0]);
  }

  /** Records that the core reflects the key as of seq; a newer change stays pending. */
  markApplied(applied: { id: number; seq: number }[]): Promise<void> {
    if (!applied.length) return Promise.resolve();
    for (const a of applied) this.appliedBuffer.set(a.id, Math.max(a.seq, this.appliedBuffer.get(a.id) ?? 0));
    // Confirmations that arrive while the queue is busy ride in one statement, taken when the job first
    // starts. The job keeps what it took: when another job of its batch fails, the batch runs again.
    let taken: [number, number][] | undefined;
    this.appliedJob ??= internalsOf(this.db).writes.run(async (m) => {
      if (!taken) {
        this.appliedJob = undefined;
        taken = [...this.appliedBuffer];
        this.appliedBuffer.clear();
      }
      const batch = taken;
      await m.query(
        `UPDATE keys SET applied_seq = d.seq
         FROM (SELECT value ->> 0 AS id, value ->> 1 AS seq FROM json_each(?)) AS d
         WHERE keys.id = d.id AND keys.applied_seq < d.seq`,
        [JSON.stringify(batch)],
      );
    });
    return this.appliedJob;
  }

  /**
   * Forgets request ids recorded before the cutoff, a bounded batch per
   * transaction so that grants never wait long behind it; returns how many.
   */
  async pruneRequests(before: Date, batch = 5000): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await internalsOf(this.db).writes.run(async (m) => {
        const rows = (await m.query(
          // Lower case for the same reason as the insert: the rows come back from RETURNING.
          `delete FROM grant_requests WHERE rowid IN
             (SELECT rowid FROM grant_requests WHERE created_at < ? LIMIT ?) RETURNING 1 AS gone`,
          [before.getTime(), batch],
        )) as unknown[];
        return rows.length;
      });
      total += n;
      if (n < batch) return total;
    }
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

  /** Keys whose latest change the core has not confirmed, oldest first, a page after afterId. */
  async pending(limit: number, afterId = 0): Promise<Key[]> {
    const rows = await this.keys.find({
      where: { appliedSeq: Raw((alias) => `${alias} < change_seq`), id: MoreThan(afterId) },
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
   * Runs fn on the active keys and the change sequence they are current as of,
   * read from one consistent view outside the write queue: grants commit
   * meanwhile and never wait for it. The pages hold only what the core's config
   * file needs, a page at a time, so the read costs the same memory whatever
   * the key count; they can be walked more than once inside fn, with the same
   * result each time.
   */
  readActive<T>(fn: (snapshot: ActiveSnapshot) => Promise<T>): Promise<T> {
    return this.db.consistentRead(async (query) => {
      const row = (await query('SELECT COALESCE(MAX(change_seq), 0) AS seq FROM keys', [])) as { seq: number }[];
      // SQLite prints the page itself, off the main thread: json_quote escapes exactly as JSON.stringify does.
      async function* printed(format: ClientFormat, size = ACTIVE_PAGE): AsyncGenerator<PrintedClients> {
        const nl = `' || char(10) || '`;
        for (let after = 0; ;) {
          const [page] = (await query(
            `SELECT MAX(id) AS last, COUNT(*) AS count, group_concat(client, ',' || char(10) ORDER BY id) AS text
             FROM (SELECT id, ?2 || '{${nl}' || ?3 || '"id": ' || json_quote(uuid) || ',${nl}' ||
                 ?3 || '"email": ' || json_quote(email) || ',${nl}' || ?3 || '"flow": ' || json_quote(flow) ||
                 ',${nl}' || ?3 || '"level": ' || ?4 || '${nl}' || ?2 || '}' AS client
               FROM keys WHERE status = 'ACTIVE' AND id > ?1 ORDER BY id LIMIT ?5)`,
            [after, format.indent, `${format.indent}  `, JSON.stringify(format.level), size],
          )) as { last: number | null; count: number; text: string | null }[];
          if (!page?.last || !page.text) return;
          after = page.last;
          yield { text: page.text, count: Number(page.count) };
        }
      }
      return fn({ seq: Number(row[0].seq), printed });
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
    return this.newestActive('applied_seq >= change_seq', []);
  }

  /** The newest active key that a config file written at seq holds. */
  async newestActiveAtOrBefore(seq: number): Promise<Key | null> {
    return this.newestActive('change_seq <= ?', [seq]);
  }

  /**
   * Walks the keys from the newest change back: `+status` keeps SQLite off the
   * status index, which would sort every active key to find the first one.
   */
  private async newestActive(condition: string, params: unknown[]): Promise<Key | null> {
    const rows = (await internalsOf(this.db).source.query(
      `SELECT * FROM keys WHERE +status = 'ACTIVE' AND ${condition} ORDER BY change_seq DESC LIMIT 1`,
      params,
    )) as KeyRow[];
    return rows.length ? rowToKey(rows[0]) : null;
  }

  async maxChangeSeq(): Promise<number> {
    const row = (await internalsOf(this.db).source.query('SELECT COALESCE(MAX(change_seq), 0) AS seq FROM keys')) as {
      seq: number;
    }[];
    return Number(row[0].seq);
  }

  /**
   * The emails travel as one JSON parameter, not one parameter each: SQLite
   * caps bound parameters per statement (32,766), and a core may hold far more
   * users than that which the database does not know.
   */
  async findByEmails(emails: string[]): Promise<Key[]> {
    const out: Key[] = [];
    for (let i = 0; i < emails.length; i += EMAIL_BATCH) {
      const rows = (await internalsOf(this.db).source.query(
        'SELECT k.* FROM json_each(?) AS e JOIN keys AS k ON k.email = e.value',
        [JSON.stringify(emails.slice(i, i + EMAIL_BATCH))],
      )) as KeyRow[];
      out.push(...rows.map(rowToKey));
    }
    return out;
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
