import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The highest revision handed to a node's resync (no key holds it). Kept
 * apart from the nodes, because a deleted node takes its resync revision
 * with it: a restart would then hand an agent's revision to a new change,
 * and that agent would never receive it.
 */
export class ClaimedRevision1764410000000 implements MigrationInterface {
  name = 'ClaimedRevision1764410000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE core_state ADD COLUMN claimed_rev INTEGER NOT NULL DEFAULT 0`);
    // An agent's acknowledged revision may be a resync revision whose node is gone already: none is handed out again.
    await q.query(
      `UPDATE core_state SET claimed_rev = MAX(COALESCE((SELECT MAX(resync_rev) FROM nodes), 0), COALESCE((SELECT MAX(acked_rev) FROM nodes), 0))`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE core_state DROP COLUMN claimed_rev`);
  }
}
