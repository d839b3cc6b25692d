import { Column, Entity, PrimaryColumn } from 'typeorm';
import { epochMs } from './column.transformers';

/** One row: what the persisted core config file holds, so recovery replays only what came after. */
@Entity({ name: 'core_state' })
export class CoreStateEntity {
  @PrimaryColumn({ type: 'integer' })
  id!: number;

  @Column({ name: 'config_written_seq', type: 'integer', nullable: true })
  configWrittenSeq!: number | null;

  @Column({ name: 'config_written_at', type: 'integer', nullable: true, transformer: epochMs })
  configWrittenAt!: Date | null;

  /** The file as it stood after that write (inode, size, mtime), as JSON: the writer's own mark on it. */
  @Column({ name: 'config_file_stamp', type: 'text', nullable: true })
  configFileStamp!: string | null;

  /** The core's uptime at the last stats poll, and the boot instant it implies: a restart resets its counters. */
  @Column({ name: 'stats_uptime', type: 'integer', nullable: true })
  statsUptime!: number | null;

  @Column({ name: 'stats_boot_at', type: 'integer', nullable: true, transformer: epochMs })
  statsBootAt!: Date | null;

  @Column({ name: 'stats_polled_at', type: 'integer', nullable: true, transformer: epochMs })
  statsPolledAt!: Date | null;

  /** The highest revision a node's resync took: revisions are never handed out twice, even after a node is deleted. */
  @Column({ name: 'claimed_rev', type: 'integer', default: 0 })
  claimedRev!: number;
}
