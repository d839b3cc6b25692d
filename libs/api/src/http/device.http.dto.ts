import { ApiProperty } from '@nestjs/swagger';

export class DeviceJson {
  @ApiProperty({ example: '203.0.113.7', description: 'The client address, as the core’s access log names it' })
  address!: string;
  @ApiProperty({ format: 'date-time', description: 'When this address started counting as a device' })
  first_seen!: string;
  @ApiProperty({ format: 'date-time', description: 'When it was last seen connecting or connected' })
  last_seen!: string;
}

export class KeyDevicesJson {
  @ApiProperty() owner_id!: string;
  @ApiProperty({ description: '0 means unlimited' }) device_limit!: number;
  @ApiProperty({ description: 'How long an address counts after it was last seen (KEYD_DEVICE_WINDOW_SECONDS)' })
  window_seconds!: number;
  @ApiProperty({ type: [DeviceJson], description: 'The addresses counting as the key’s devices now' })
  devices!: DeviceJson[];
}
