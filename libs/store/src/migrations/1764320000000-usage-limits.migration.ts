import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Traffic accounting, data limits and subscription tokens. A SUSPENDED key is
 * still the owner's key (a renewal or a reset brings the same UUID back), so
 * the one-key-per-owner rule and the expiry index cover it too.
 */
export class UsageLimits1764320000000 implements MigrationInterface {
  name = 'UsageLimits1764320000000';

  async up(q: QueryRunner): Promise<void> {
    const columns = [
      `data_limit_bytes INTEGER NOT NULL DEFAULT 0 CHECK (data_limit_bytes >= 0)`,
      `limit_reset TEXT NOT NULL DEFAULT 'none' CHECK (limit_reset IN ('none', 'day', 'week', 'month'))`,
      `used_uplink INTEGER NOT NULL DEFAULT 0`,
      `used_downlink INTEGER NOT NULL DEFAULT 0`,
      `lifetime_uplink INTEGER NOT NULL DEFAULT 0`,
      `lifetime_downlink INTEGER NOT NULL DEFAULT 0`,
      // The core's counters as last read; null until the core first reports one.
      `raw_uplink INTEGER`,
      `raw_downlink INTEGER`,
      `last_traffic_at INTEGER`,
      `usage_period_start INTEGER NOT NULL DEFAULT 0`,
      `sub_token TEXT`,
    ];
    for (const c of columns) await q.query(`ALTER TABLE keys ADD COLUMN ${c}`);
    await q.query(`UPDATE keys SET usage_period_start = created_at`);
    // Each owner's latest key that is not revoked gets a token: that is the one its subscription URL shows.
    await q.query(`UPDATE keys SET sub_token = lower(hex(randomblob(16)))
      WHERE status != 'REVOKED' AND id IN (SELECT MAX(id) FROM keys GROUP BY owner_id)`);
    await q.query(`CREATE UNIQUE INDEX ux_keys_sub_token ON keys (sub_token) WHERE sub_token IS NOT NULL`);
    await q.query(`DROP INDEX ux_keys_active_owner`);
    await q.query(`CREATE UNIQUE INDEX ux_keys_live_owner ON keys (owner_id) WHERE status IN ('ACTIVE', 'SUSPENDED')`);
    await q.query(`DROP INDEX ix_keys_active_end`);
    await q.query(`CREATE INDEX ix_keys_live_end ON keys (subscription_end) WHERE status IN ('ACTIVE', 'SUSPENDED')`);
    await q.query(`CREATE INDEX ix_keys_period ON keys (limit_reset, usage_period_start) WHERE limit_reset != 'none'`);

    await q.query(`ALTER TABLE grant_requests ADD COLUMN data_limit_bytes INTEGER`);
    await q.query(`ALTER TABLE grant_requests ADD COLUMN limit_reset TEXT`);

    await q.query(`ALTER TABLE core_state ADD COLUMN stats_uptime INTEGER`);
    await q.query(`ALTER TABLE core_state ADD COLUMN stats_boot_at INTEGER`);
    await q.query(`ALTER TABLE core_state ADD COLUMN stats_polled_at INTEGER`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const c of ['stats_polled_at', 'stats_boot_at', 'stats_uptime'])
      await q.query(`ALTER TABLE core_state DROP COLUMN ${c}`);
    for (const c of ['limit_reset', 'data_limit_bytes']) await q.query(`ALTER TABLE grant_requests DROP COLUMN ${c}`);
    await q.query(`DROP INDEX ix_keys_period`);
    await q.query(`DROP INDEX ix_keys_live_end`);
    await q.query(`CREATE INDEX ix_keys_active_end ON keys (subscription_end) WHERE status = 'ACTIVE'`);
    await q.query(`DROP INDEX ux_keys_live_owner`);
    await q.query(`CREATE UNIQUE INDEX ux_keys_active_owner ON keys (owner_id) WHERE status = 'ACTIVE'`);
    await q.query(`DROP INDEX ux_keys_sub_token`);
    const columns = [
      'sub_token',
      'usage_period_start',
      'last_traffic_at',
      'raw_downlink',
      'raw_uplink',
      'lifetime_downlink',
      'lifetime_uplink',
      'used_downlink',
      'used_uplink',
      'limit_reset',
      'data_limit_bytes',
    ];
    for (const c of columns) await q.query(`ALTER TABLE keys DROP COLUMN ${c}`);
  }
}
