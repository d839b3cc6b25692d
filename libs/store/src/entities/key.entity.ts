import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { epochMs } from './column.transformers';

@Entity({ name: 'keys' })
@Index('ux_keys_active_owner', ['ownerId'], { unique: true, where: "status = 'ACTIVE'" })
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

  @Column({ name: 'created_at', type: 'integer', transformer: epochMs })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'integer', transformer: epochMs })
  updatedAt!: Date;
}
