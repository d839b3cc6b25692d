import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Every agent link asks for the latest revision when it opens, and every
 * snapshot reads it: without an index of its own that is a scan of every key,
 * so a reconnect would cost more with each key the fleet holds.
 */
export class RevisionIndex1764400000000 implements MigrationInterface {
  name = 'RevisionIndex1764400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX ix_keys_rev ON keys (rev)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX ix_keys_rev`);
  }
}
