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
}
