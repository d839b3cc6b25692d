import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Usage counted on an agent's node travels to the control plane through an
 * outbox: each poll's deltas are committed with the poll, and an entry is
 * forgotten only once the control plane acknowledges it. The control plane
 * records per node the last entry id it applied, in the same transaction as
 * the bytes, so a resend is never counted twice. The stream names one
 * outbox: a database made anew starts ids from 1 again under a new stream.
 * Agents now also hold each key's device limit, which their copies lack:
 * every key with a limit gets a new revision, so agents receive it as a change.
 */
export class NodeUsage1764390000000 implements MigrationInterface {
  name = 'NodeUsage1764390000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE usage_outbox (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      uuid TEXT NOT NULL,
      uplink INTEGER NOT NULL,
      downlink INTEGER NOT NULL
    ) STRICT`);
    await q.query(`CREATE TABLE usage_stream (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      stream TEXT NOT NULL
    ) STRICT`);
    await q.query(`INSERT INTO usage_stream (id, stream) VALUES (1, lower(hex(randomblob(16))))`);
    await q.query(`ALTER TABLE nodes ADD COLUMN usage_stream TEXT`);
    await q.query(`ALTER TABLE nodes ADD COLUMN usage_applied_id INTEGER NOT NULL DEFAULT 0`);
    // Above every revision an agent can hold, each distinct (changes are paged by revision).
    await q.query(`UPDATE keys SET rev = (SELECT MAX(rev) FROM keys) + id WHERE device_limit > 0`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE nodes DROP COLUMN usage_applied_id`);
    await q.query(`ALTER TABLE nodes DROP COLUMN usage_stream`);
    await q.query(`DROP TABLE usage_stream`);
    await q.query(`DROP TABLE usage_outbox`);
  }
}
