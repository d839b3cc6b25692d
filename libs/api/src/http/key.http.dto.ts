import { ApiProperty } from '@nestjs/swagger';
import { KEY_STATUSES, LIMIT_RESETS } from '@keyd/domain';

/*
 * The admin API's JSON answers. Field names are the proto field names; the
 * classes exist so that the OpenAPI document is generated from the code. What
 * a request may send is described by the command schemas in @keyd/keys.
 */

export class KeyNodeJson {
  @ApiProperty() name!: string;
  @ApiProperty() provisioned!: boolean;
}

export class KeyJson {
  @ApiProperty() owner_id!: string;
  @ApiProperty({ format: 'uuid' }) uuid!: string;
  @ApiProperty() email!: string;
  @ApiProperty() inbound_tag!: string;
  @ApiProperty({ enum: KEY_STATUSES }) status!: string;
  @ApiProperty({ format: 'date-time' }) subscription_end!: string;
  @ApiProperty() vless_url!: string;
  @ApiProperty({ description: 'The core is known to match the status' }) provisioned!: boolean;
  @ApiProperty() flow!: string;
  @ApiProperty({ format: 'date-time' }) created_at!: string;
  @ApiProperty({ format: 'date-time' }) updated_at!: string;
  @ApiProperty({ description: 'Bytes in the current usage period' }) used_uplink_bytes!: number;
  @ApiProperty({ description: 'Bytes in the current usage period' }) used_downlink_bytes!: number;
  @ApiProperty({ description: '0 means unlimited' }) data_limit_bytes!: number;
  @ApiProperty({ enum: LIMIT_RESETS }) data_limit_reset!: string;
  @ApiProperty({ description: 'Client addresses that may use the key at once; 0 means unlimited' })
  device_limit!: number;
  @ApiProperty({ format: 'date-time' }) usage_period_start!: string;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) last_traffic_at!: string | null;
  @ApiProperty({ description: 'Since the key was issued' }) lifetime_uplink_bytes!: number;
  @ApiProperty({ description: 'Since the key was issued' }) lifetime_downlink_bytes!: number;
  @ApiProperty({ description: 'The public subscription URL; empty when its token was revoked' })
  subscription_url!: string;
  @ApiProperty({ description: 'The node group whose nodes hold the key' }) node_group!: string;
  @ApiProperty({ type: [KeyNodeJson], description: 'Each node that should hold the key, and whether it does' })
  nodes!: KeyNodeJson[];
}

export class GrantJson {
  @ApiProperty({ type: KeyJson }) key!: KeyJson;
  @ApiProperty({ enum: ['ISSUED', 'RENEWED'] }) action!: string;
}

export class KeyPageJson {
  @ApiProperty({ type: [KeyJson] }) keys!: KeyJson[];
  @ApiProperty({ description: 'Empty on the last page' }) next_page_token!: string;
}

export class ReconcileJson {
  @ApiProperty() added!: number;
  @ApiProperty() removed!: number;
  @ApiProperty() expired!: number;
  @ApiProperty() failed!: number;
  @ApiProperty() unknown_removed!: number;
  @ApiProperty({ example: '0.012s' }) duration!: string;
  @ApiProperty() core_restart_detected!: boolean;
  @ApiProperty() core_reachable!: boolean;
  @ApiProperty() dry_run!: boolean;
}

class ErrorBody {
  @ApiProperty({ example: 'INVALID_ARGUMENT' }) code!: string;
  @ApiProperty({ example: 'duration_seconds: must be positive' }) message!: string;
}

export class ErrorJson {
  @ApiProperty({ type: ErrorBody }) error!: ErrorBody;
}
