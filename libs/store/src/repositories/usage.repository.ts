import { CoreStateEntity } from '../entities';
import { internalsOf, SqlQuery, StoreDatabase } from '../store.database';
import { KeyRepository } from './key.repository';
import { KeyWriter } from './store.types';

/** The core's counters as last read for one key; null until the core first reports one. */
export interface UsageBaseline {
  keyId: number;
  email: string;
  rawUplink: number | null;
  rawDownlink: number | null;
}

/** Bytes to add to a key, and the raw counter values they were computed against. */
export interface UsageDelta {
  keyId: number;
  uplink: number;
  downlink: number;
  rawUplink: number | null;
  rawDownlink: number | null;
}

/** The core's uptime at a poll and the boot instant it implies. */
export interface StatsClock {
  uptimeSeconds: number;
  bootAt: Date;
  polledAt: Date;
}

export interface PeriodStarts {
  day: Date;
  week: Date;
  month: Date;
}

export interface PollCommit {
  deltas: UsageDelta[];
  /**
   * The core restarted: every counter it had is gone, including those of keys
   * it has not reported since, so every baseline starts over.
   */
  resetBaselines: boolean;
  /** Null when the core could not be read: period resets still run. */
  stats: StatsClock | null;
  periods: PeriodStarts;
  now: Date;
  /**
   * The bytes belong to a control plane (this is an agent's node): every
   * delta is also queued in the outbox, in the same transaction.
   */
  outbox?: boolean;
}

/** Bytes a node counted for one key, as its outbox holds them until the control plane applies them. */
export interface NodeUsageEntry {
  id: number;
  uuid: string;
  uplink: number;
  downlink: number;
}

export interface NodeUsageOutcome {
  /** Every entry of the stream up to this id is applied, now or before. */
  appliedUpTo: number;
  /** Entries applied now; the others were applied before (a resend) or name no key. */
  applied: number;
  suspended: KeyRef[];
}

export interface KeyRef {
  id: number;
  ownerId: string;
}

export interface PollOutcome {
  suspended: KeyRef[];
  reactivated: KeyRef[];
  periodResets: number;
}

/**
 * Keys per statement and per transaction. SQLite has one writer, so a grant
 * waits for whatever transaction is running: batches keep that wait to tens of
 * milliseconds even when a poll moves 100k keys.
 */
export const USAGE_BATCH = 2_000;

/**
 * Traffic counters. A key's added bytes and the raw reading they were computed
 * against always commit together, so a crash at any point neither loses nor
 * double-counts a byte. A poll commits in one transaction up to USAGE_BATCH
 * keys; beyond that in batches, the first of which also records the core's
 * clock and forgets old readings after a restart, so that a crash between
 * batches leaves every key either counted against the new readings or still
 * counted from zero.
 */
export class UsageRepository {
  constructor(
    private readonly db: StoreDatabase,
    private readonly keys: KeyRepository,
  ) {}

  async statsClock(): Promise<StatsClock | null> {
    const row = await internalsOf(this.db).source.getRepository(CoreStateEntity).findOneByOrFail({ id: 1 });
    if (row.statsUptime == null || !row.statsBootAt || !row.statsPolledAt) return null;
    return { uptimeSeconds: row.statsUptime, bootAt: row.statsBootAt, polledAt: row.statsPolledAt };
  }

  /**
   * The last readings of every key whose counters can still move: live keys,
   * and keys that left the core at or after `leftSince` (a connection opened
   * before a removal lasts until it closes or is cut). Read from the keys'
   * side, so the cost follows those keys, never the counters the core still
   * holds for every user removed since it started, nor users keyd never
   * issued. Only this repository's commitPoll writes baselines, so reading
   * them outside its transaction is safe. A page at a time, in key order,
   * after afterId; all of them when no limit is given.
   */
  async countedBaselines(leftSince: Date, afterId = 0, limit = -1): Promise<UsageBaseline[]> {
    const columns = 'id AS keyId, email, raw_uplink AS rawUplink, raw_downlink AS rawDownlink';
    return (await internalsOf(this.db).source.query(
      `SELECT ${columns} FROM keys WHERE status IN ('ACTIVE', 'SUSPENDED') AND id > ?2
       UNION ALL
       SELECT ${columns} FROM keys INDEXED BY ix_keys_left_core
       WHERE status IN ('EXPIRED', 'REVOKED') AND updated_at >= ?1 AND id > ?2
       ORDER BY keyId LIMIT ?3`,
      [leftSince.getTime(), afterId, limit],
    )) as UsageBaseline[];
  }

  async commitPoll(c: PollCommit): Promise<PollOutcome> {
    const batches: UsageDelta[][] = [];
    for (let i = 0; i < c.deltas.length; i += USAGE_BATCH) batches.push(c.deltas.slice(i, i + USAGE_BATCH));
    if (!batches.length) batches.push([]);
    let outcome: PollOutcome = { suspended: [], reactivated: [], periodResets: 0 };
    for (const [i, batch] of batches.entries()) {
      const first = i === 0;
      const last = i === batches.length - 1;
      outcome = await this.keys.writeWith(async (tx, sql) => {
        const periods = first ? await this.resetPeriods(tx, sql, c) : null;
        if (first) await this.recordClock(sql, c);
        await this.addUsage(sql, batch, c.now);
        if (c.outbox) await this.queue(sql, batch);
        return {
          suspended: last ? await this.suspendOverLimit(tx, sql, c.now) : [],
          reactivated: periods ? periods.reactivated : outcome.reactivated,
          periodResets: periods ? periods.reset : outcome.periodResets,
        };
      });
    }
    return outcome;
  }

  /** The oldest entries of this node's outbox after an id, and the stream they belong to. */
  async outbox(limit: number, afterId = 0): Promise<{ stream: string; entries: NodeUsageEntry[] }> {
    const q = internalsOf(this.db).source;
    const [{ stream }] = (await q.query('SELECT stream FROM usage_stream WHERE id = 1')) as { stream: string }[];
    const entries = (await q.query(
      'SELECT id, uuid, uplink, downlink FROM usage_outbox WHERE id > ? ORDER BY id LIMIT ?',
      [afterId, limit],
    )) as NodeUsageEntry[];
    return { stream, entries };
  }

  /** The control plane applied the outbox's entries up to this id. */
  async forgetOutbox(stream: string, upToId: number): Promise<void> {
    await this.keys.writeWith(async (_tx, sql) => {
      const [row] = (await sql('SELECT stream FROM usage_stream WHERE id = 1')) as { stream: string }[];
      if (row.stream === stream) await sql('DELETE FROM usage_outbox WHERE id <= ?', [upToId]);
    });
  }

  /**
   * Adds a node's usage entries to the keys they name, each entry once: the
   * node's last applied id commits with the bytes, so a resend after a lost
   * acknowledgement or a crash adds nothing. A new stream (the node's
   * database was made anew) starts from id 0. Then data limits apply to the
   * keys' totals, summed over every node.
   */
  async applyNodeUsage(
    nodeId: number,
    stream: string,
    entries: NodeUsageEntry[],
    now: Date,
  ): Promise<NodeUsageOutcome> {
    return this.keys.writeWith(async (tx, sql) => {
      const [node] = (await sql('SELECT usage_stream AS stream, usage_applied_id AS upTo FROM nodes WHERE id = ?', [
        nodeId,
      ])) as { stream: string | null; upTo: number }[];
      if (!node) return { appliedUpTo: 0, applied: 0, suspended: [] };
      const from = node.stream === stream ? Number(node.upTo) : 0;
      const fresh = entries.filter((e) => e.id > from);
      const upTo = fresh.reduce((n, e) => Math.max(n, e.id), from);
      const ids = new Map<string, number>();
      for (let i = 0; i < fresh.length; i += USAGE_BATCH) {
        const uuids = JSON.stringify([...new Set(fresh.slice(i, i + USAGE_BATCH).map((e) => e.uuid))]);
        const rows = (await sql('SELECT id, uuid FROM keys WHERE uuid IN (SELECT value FROM json_each(?))', [
          uuids,
        ])) as { id: number; uuid: string }[];
        for (const r of rows) ids.set(r.uuid, r.id);
      }
      // One key may have an entry per poll in a report: they are summed, since one UPDATE … FROM
      // applies a single joined row per key.
      const byKey = new Map<number, UsageDelta>();
      let applied = 0;
      for (const e of fresh) {
        const keyId = ids.get(e.uuid);
        if (keyId === undefined) continue;
        applied++;
        const d = byKey.get(keyId) ?? { keyId, uplink: 0, downlink: 0, rawUplink: null, rawDownlink: null };
        d.uplink += e.uplink;
        d.downlink += e.downlink;
        byKey.set(keyId, d);
      }
      const deltas = [...byKey.values()];
      for (let i = 0; i < deltas.length; i += USAGE_BATCH)
        await this.addUsage(sql, deltas.slice(i, i + USAGE_BATCH), now);
      await sql('UPDATE nodes SET usage_stream = ?, usage_applied_id = ? WHERE id = ?', [stream, upTo, nodeId]);
      const moved = deltas.map((d) => d.keyId);
      const suspended = moved.length ? await this.suspendOverLimit(tx, sql, now, moved) : [];
      return { appliedUpTo: upTo, applied, suspended };
    });
  }

  private async queue(sql: SqlQuery, deltas: UsageDelta[]): Promise<void> {
    const moved = deltas.filter((d) => d.uplink + d.downlink > 0).map((d) => [d.keyId, d.uplink, d.downlink]);
    if (!moved.length) return;
    await sql(
      `INSERT INTO usage_outbox (uuid, uplink, downlink)
       SELECT k.uuid, d.up, d.down
       FROM (SELECT value ->> 0 AS id, value ->> 1 AS up, value ->> 2 AS down FROM json_each(?)) AS d
       JOIN keys k ON k.id = d.id
       ORDER BY d.id`,
      [JSON.stringify(moved)],
    );
  }

  private async recordClock(sql: SqlQuery, c: PollCommit): Promise<void> {
    if (c.resetBaselines) {
      await sql(
        `UPDATE keys SET raw_uplink = NULL, raw_downlink = NULL
         WHERE raw_uplink IS NOT NULL OR raw_downlink IS NOT NULL`,
      );
    }
    if (c.stats) {
      await sql('UPDATE core_state SET stats_uptime = ?, stats_boot_at = ?, stats_polled_at = ? WHERE id = 1', [
        c.stats.uptimeSeconds,
        c.stats.bootAt.getTime(),
        c.stats.polledAt.getTime(),
      ]);
    }
  }

  /** Keys over their limit, among `only` when given (the keys a node's usage just moved). */
  private async suspendOverLimit(tx: KeyWriter, sql: SqlQuery, now: Date, only?: number[]): Promise<KeyRef[]> {
    const over = `status = 'ACTIVE' AND data_limit_bytes > 0 AND used_uplink + used_downlink >= data_limit_bytes`;
    // Two statements, not one with an OR: with `only` the keys are looked up by id, never by scanning the live ones.
    const rows = (await (only
      ? sql(`SELECT id, owner_id AS ownerId FROM keys WHERE id IN (SELECT value FROM json_each(?)) AND ${over}`, [
          JSON.stringify(only),
        ])
      : sql(`SELECT id, owner_id AS ownerId FROM keys WHERE ${over}`))) as KeyRef[];
    for (const k of rows) await tx.update(k.id, { status: 'SUSPENDED' }, now);
    return rows;
  }

  /** Zeroes usage of keys whose period ended; those suspended for data and not past their end come back. */
  private async resetPeriods(tx: KeyWriter, sql: SqlQuery, c: PollCommit) {
    const { day, week, month } = c.periods;
    const bounds = [day.getTime(), week.getTime(), month.getTime()];
    const due = (await sql(
      `SELECT id, owner_id AS ownerId, status, subscription_end AS subscriptionEnd FROM keys
       WHERE (limit_reset = 'day' AND usage_period_start < ?1)
          OR (limit_reset = 'week' AND usage_period_start < ?2)
          OR (limit_reset = 'month' AND usage_period_start < ?3)`,
      bounds,
    )) as (KeyRef & { status: string; subscriptionEnd: number })[];
    if (!due.length) return { reset: 0, reactivated: [] };
    await sql(
      `UPDATE keys SET used_uplink = 0, used_downlink = 0,
         usage_period_start = CASE limit_reset WHEN 'day' THEN ?1 WHEN 'week' THEN ?2 ELSE ?3 END
       WHERE id IN (SELECT value FROM json_each(?4))`,
      [...bounds, JSON.stringify(due.map((d) => d.id))],
    );
    const reactivated = due.filter((d) => d.status === 'SUSPENDED' && d.subscriptionEnd > c.now.getTime());
    for (const k of reactivated) await tx.update(k.id, { status: 'ACTIVE' }, c.now);
    return { reset: due.length, reactivated: reactivated.map(({ id, ownerId }) => ({ id, ownerId })) };
  }

  private async addUsage(sql: SqlQuery, deltas: UsageDelta[], now: Date): Promise<void> {
    if (!deltas.length) return;
    const rows = deltas.map((d) => [d.keyId, d.uplink, d.downlink, d.rawUplink, d.rawDownlink]);
    await sql(
      `UPDATE keys SET
         used_uplink = used_uplink + d.up,
         used_downlink = used_downlink + d.down,
         lifetime_uplink = lifetime_uplink + d.up,
         lifetime_downlink = lifetime_downlink + d.down,
         raw_uplink = COALESCE(d.raw_up, raw_uplink),
         raw_downlink = COALESCE(d.raw_down, raw_downlink),
         last_traffic_at = CASE WHEN d.up + d.down > 0 THEN ?1 ELSE last_traffic_at END
       FROM (SELECT value ->> 0 AS id, value ->> 1 AS up, value ->> 2 AS down, value ->> 3 AS raw_up,
               value ->> 4 AS raw_down FROM json_each(?2)) AS d
       WHERE keys.id = d.id`,
      [now.getTime(), JSON.stringify(rows)],
    );
  }
}
