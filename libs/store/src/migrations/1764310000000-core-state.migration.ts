import { MigrationInterface, QueryRunner } from 'typeorm';

export class CoreState1764310000000 implements MigrationInterface {
  name = 'CoreState1764310000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE core_state (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      config_written_seq INTEGER,
      config_written_at INTEGER
    ) STRICT`);
    await q.query(`INSERT INTO core_state (id) VALUES (1)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE core_state`);
  }
}
