import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * An enrolled agent is known by its client certificate's SHA-256; its join
 * token is cleared in the same statement, so a token enrolls one agent, once.
 */
export class NodeCertificates1764380000000 implements MigrationInterface {
  name = 'NodeCertificates1764380000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE nodes ADD COLUMN cert_sha256 TEXT`);
    await q.query(`CREATE UNIQUE INDEX ux_nodes_cert ON nodes (cert_sha256) WHERE cert_sha256 IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX ux_nodes_cert`);
    await q.query(`ALTER TABLE nodes DROP COLUMN cert_sha256`);
  }
}
