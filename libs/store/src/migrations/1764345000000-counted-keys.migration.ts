import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Keys that left the core, by when they last changed: a traffic poll reads
 * the counters of live keys and of keys that left recently, and this keeps
 * the second part from scanning every key ever issued.
 */
export class CountedKeys1764345000000 implements MigrationInterface {
  name = 'CountedKeys1764345000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX ix_keys_left_core ON keys (updated_at) WHERE status IN ('EXPIRED', 'REVOKED')`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX ix_keys_left_core`);
  }
}
