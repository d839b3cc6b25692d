import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { KEY_STATUSES } from '@keyd/domain';

/*
 * The admin API's JSON shapes. Field names are the proto field names; the
 * classes exist so that the OpenAPI document is generated from the code.
 */

export class GrantBody {
  @ApiProperty({ example: 'user-42', maxLength: 128 })
  owner_id!: string;

  @ApiProperty({ example: 2_592_000, minimum: 1, description: 'Seconds of access to add' })
  duration_seconds!: number;

  @ApiPropertyOptional({ example: 'order-9001', description: 'Idempotency key: a retry returns the first result' })
  request_id?: string;
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
