import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * How many client addresses may use a key at once (0: unlimited), and what a
 * grant asked for, so that a retried request_id is compared on it too.
 */
export class DeviceLimit1764330000000 implements MigrationInterface {
  name = 'DeviceLimit1764330000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE keys ADD COLUMN device_limit INTEGER NOT NULL DEFAULT 0 CHECK (device_limit >= 0)`);
    await q.query(`ALTER TABLE grant_requests ADD COLUMN device_limit INTEGER`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE grant_requests DROP COLUMN device_limit`);
    await q.query(`ALTER TABLE keys DROP COLUMN device_limit`);
  }
}
