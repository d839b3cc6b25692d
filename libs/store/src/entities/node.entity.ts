import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { epochMs } from './column.transformers';

/** A core keyd drives. One row today, seeded from configuration; keys belong to a node's inbound. */
@Entity({ name: 'nodes' })
export class NodeEntity {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id!: number;

  @Column({ type: 'text', unique: true })
  name!: string;

  @Column({ name: 'api_addr', type: 'text' })
  apiAddr!: string;

  @Column({ type: 'text' })
  flavor!: string;

  @Column({ name: 'created_at', type: 'integer', transformer: epochMs })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'integer', transformer: epochMs })
  updatedAt!: Date;
}
