import { MigrationInterface, QueryRunner } from 'typeorm';

// STRICT tables make SQLite reject values of the wrong type instead of storing them.
export class InitialSchema1764300000000 implements MigrationInterface {
  name = 'InitialSchema1764300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE nodes (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      name TEXT NOT NULL UNIQUE,
      api_addr TEXT NOT NULL,
      flavor TEXT NOT NULL CHECK (flavor IN ('xray', 'v2ray')),
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL
    ) STRICT`);
    await q.query(`CREATE TABLE keys (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      owner_id TEXT NOT NULL CHECK (length(owner_id) BETWEEN 1 AND 256),
      uuid TEXT NOT NULL UNIQUE,
      email TEXT NOT NULL UNIQUE COLLATE NOCASE CHECK (length(email) > 0),
      node_id INTEGER NOT NULL REFERENCES nodes(id),
      inbound_tag TEXT NOT NULL,
      flow TEXT NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('ACTIVE', 'EXPIRED', 'REVOKED', 'SUSPENDED')),
      subscription_end INTEGER NOT NULL,
      change_seq INTEGER NOT NULL,
      applied_seq INTEGER NOT NULL DEFAULT 0,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL
    ) STRICT`);
    await q.query(`CREATE UNIQUE INDEX ux_keys_active_owner ON keys (owner_id) WHERE status = 'ACTIVE'`);
    await q.query(`CREATE INDEX ix_keys_owner ON keys (owner_id, id)`);
    await q.query(`CREATE INDEX ix_keys_active_end ON keys (subscription_end) WHERE status = 'ACTIVE'`);
    await q.query(`CREATE INDEX ix_keys_change_seq ON keys (change_seq)`);
    await q.query(`CREATE INDEX ix_keys_pending ON keys (id) WHERE applied_seq < change_seq`);
    await q.query(`CREATE INDEX ix_keys_status ON keys (status, id)`);
    await q.query(`CREATE TABLE grant_requests (
      request_id TEXT PRIMARY KEY,
      owner_id TEXT NOT NULL,
      duration_seconds INTEGER NOT NULL,
      key_id INTEGER NOT NULL REFERENCES keys(id),
      action TEXT NOT NULL CHECK (action IN ('ISSUED', 'RENEWED')),
      created_at INTEGER NOT NULL
    ) STRICT`);
    await q.query(`CREATE INDEX ix_grant_requests_created ON grant_requests (created_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE grant_requests`);
    await q.query(`DROP TABLE keys`);
    await q.query(`DROP TABLE nodes`);
  }
}
