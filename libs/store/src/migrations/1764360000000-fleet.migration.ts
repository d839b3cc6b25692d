import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The fleet: nodes beyond the local core, each in a group, and a revision per
 * key that moves on every change an agent must follow (status or end). A
 * node's desired state is its group's keys; what changed after revision R is
 * `node_group = ? AND rev > R`, read through an index, so a reconnect costs
 * the changes since, not the keys.
 */
export class Fleet1764360000000 implements MigrationInterface {
  name = 'Fleet1764360000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE keys ADD COLUMN node_group TEXT NOT NULL DEFAULT 'default'`);
    await q.query(`ALTER TABLE keys ADD COLUMN rev INTEGER NOT NULL DEFAULT 0`);
    await q.query(`UPDATE keys SET rev = change_seq`);
    await q.query(`CREATE INDEX ix_keys_group_rev ON keys (node_group, rev)`);
    await q.query(`ALTER TABLE nodes ADD COLUMN kind TEXT NOT NULL DEFAULT 'local' CHECK (kind IN ('local', 'agent'))`);
    await q.query(`ALTER TABLE nodes ADD COLUMN node_group TEXT NOT NULL DEFAULT 'default'`);
    await q.query(`ALTER TABLE nodes ADD COLUMN public_host TEXT NOT NULL DEFAULT ''`);
    await q.query(`ALTER TABLE nodes ADD COLUMN public_port INTEGER NOT NULL DEFAULT 0`);
    await q.query(`ALTER TABLE nodes ADD COLUMN link TEXT NOT NULL DEFAULT '{}'`);
    await q.query(`ALTER TABLE nodes ADD COLUMN enabled INTEGER NOT NULL DEFAULT 1`);
    await q.query(`ALTER TABLE nodes ADD COLUMN draining INTEGER NOT NULL DEFAULT 0`);
    await q.query(`ALTER TABLE nodes ADD COLUMN acked_rev INTEGER NOT NULL DEFAULT 0`);
    // A watch from below this revision gets a snapshot: the node's group or enablement changed at it.
    await q.query(`ALTER TABLE nodes ADD COLUMN resync_rev INTEGER NOT NULL DEFAULT 0`);
    await q.query(`ALTER TABLE nodes ADD COLUMN token_hash TEXT`);
    await q.query(`ALTER TABLE nodes ADD COLUMN last_seen_at INTEGER`);
    await q.query(`CREATE UNIQUE INDEX ux_nodes_token ON nodes (token_hash) WHERE token_hash IS NOT NULL`);
    // An agent's own record of how far it followed its control plane, committed with the keys it applied.
    await q.query(`CREATE TABLE agent_state (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      revision INTEGER NOT NULL
    ) STRICT`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE agent_state`);
    await q.query(`DROP INDEX ux_nodes_token`);
    for (const c of [
      'last_seen_at',
      'token_hash',
      'resync_rev',
      'acked_rev',
      'draining',
      'enabled',
      'link',
      'public_port',
      'public_host',
      'node_group',
      'kind',
    ])
      await q.query(`ALTER TABLE nodes DROP COLUMN ${c}`);
    await q.query(`DROP INDEX ix_keys_group_rev`);
    await q.query(`ALTER TABLE keys DROP COLUMN rev`);
    await q.query(`ALTER TABLE keys DROP COLUMN node_group`);
  }
}
