import { MigrationInterface, QueryRunner } from 'typeorm';

/** Which file the config write recorded: a keyd that starts on that same file need not read it. */
export class ConfigFileStamp1764370000000 implements MigrationInterface {
  name = 'ConfigFileStamp1764370000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE core_state ADD COLUMN config_file_stamp TEXT`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE core_state DROP COLUMN config_file_stamp`);
  }
}
