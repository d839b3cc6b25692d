import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * An enrolled agent is known by the SHA-256 of its key (the certificate
 * request's SubjectPublicKeyInfo): the first enrollment with a node's join
 * token records it, and only that key enrolls with the token again. Tokens
 * issued before enrollment existed were reusable bearer tokens sent in clear
 * over the link, so they are voided: such nodes are created anew.
 */
export class NodeCertificates1764380000000 implements MigrationInterface {
  name = 'NodeCertificates1764380000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE nodes ADD COLUMN key_sha256 TEXT`);
    await q.query(`CREATE UNIQUE INDEX ux_nodes_key ON nodes (key_sha256) WHERE key_sha256 IS NOT NULL`);
    await q.query(`UPDATE nodes SET token_hash = NULL WHERE kind = 'agent'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX ux_nodes_key`);
    await q.query(`ALTER TABLE nodes DROP COLUMN key_sha256`);
  }
}
