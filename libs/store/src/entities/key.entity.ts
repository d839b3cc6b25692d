import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { epochMs } from './column.transformers';

@Entity({ name: 'keys' })
@Index('ux_keys_live_owner', ['ownerId'], { unique: true, where: "status IN ('ACTIVE', 'SUSPENDED')" })
export class KeyEntity {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id!: number;

  @Column({ name: 'owner_id', type: 'text' })
  ownerId!: string;

  @Column({ type: 'text', unique: true })
  uuid!: string;

  @Column({ type: 'text', unique: true })
  email!: string;

  @Column({ name: 'node_id', type: 'integer' })
  nodeId!: number;

  /** The nodes that hold the key: every enabled node of this group. */
  @Column({ name: 'node_group', type: 'text' })
  nodeGroup!: string;

  /** The revision of the last change agents follow: status or subscription end. */
  @Column({ type: 'integer' })
  rev!: number;

  @Column({ name: 'inbound_tag', type: 'text' })
  inboundTag!: string;

  @Column({ type: 'text' })
  flow!: string;

  @Column({ type: 'text' })
  status!: string;

  @Column({ name: 'subscription_end', type: 'integer', transformer: epochMs })
  subscriptionEnd!: Date;

  /** Global sequence of the last change to what the core should hold for this key. */
  @Column({ name: 'change_seq', type: 'integer' })
  changeSeq!: number;

  /** The change_seq the core is known to reflect; behind change_seq means a change is pending. */
  @Column({ name: 'applied_seq', type: 'integer' })
  appliedSeq!: number;

  @Column({ name: 'data_limit_bytes', type: 'integer' })
  dataLimitBytes!: number;

  @Column({ name: 'limit_reset', type: 'text' })
  limitReset!: string;

  /** Client addresses that may use the key at once; 0 means unlimited. */
  @Column({ name: 'device_limit', type: 'integer' })
  deviceLimit!: number;

  @Column({ name: 'used_uplink', type: 'integer' })
  usedUplink!: number;

  @Column({ name: 'used_downlink', type: 'integer' })
  usedDownlink!: number;

  @Column({ name: 'lifetime_uplink', type: 'integer' })
  lifetimeUplink!: number;

  @Column({ name: 'lifetime_downlink', type: 'integer' })
  lifetimeDownlink!: number;

  @Column({ name: 'raw_uplink', type: 'integer', nullable: true })
  rawUplink!: number | null;

  @Column({ name: 'raw_downlink', type: 'integer', nullable: true })
  rawDownlink!: number | null;

  @Column({ name: 'last_traffic_at', type: 'integer', nullable: true, transformer: epochMs })
  lastTrafficAt!: Date | null;

  @Column({ name: 'usage_period_start', type: 'integer', transformer: epochMs })
  usagePeriodStart!: Date;

  @Column({ name: 'sub_token', type: 'text', nullable: true })
  subToken!: string | null;

  @Column({ name: 'created_at', type: 'integer', transformer: epochMs })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'integer', transformer: epochMs })
  updatedAt!: Date;
}
