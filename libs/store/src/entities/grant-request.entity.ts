import { Column, Entity, PrimaryColumn } from 'typeorm';
import { epochMs } from './column.transformers';

/** The request-id ledger: what a grant answered, so that a retry gets the same answer. */
@Entity({ name: 'grant_requests' })
export class GrantRequestEntity {
  @PrimaryColumn({ name: 'request_id', type: 'text' })
  requestId!: string;

  @Column({ name: 'owner_id', type: 'text' })
  ownerId!: string;

  @Column({ name: 'duration_seconds', type: 'integer' })
  durationSeconds!: number;

  /** Null when the request gave no limit. */
  @Column({ name: 'data_limit_bytes', type: 'integer', nullable: true })
  dataLimitBytes!: number | null;

  @Column({ name: 'limit_reset', type: 'text', nullable: true })
  limitReset!: string | null;

  /** Null when the request gave no device limit. */
  @Column({ name: 'device_limit', type: 'integer', nullable: true })
  deviceLimit!: number | null;

  @Column({ name: 'key_id', type: 'integer' })
  keyId!: number;

  @Column({ type: 'text' })
  action!: string;

  @Column({ name: 'created_at', type: 'integer', transformer: epochMs })
  createdAt!: Date;
}
