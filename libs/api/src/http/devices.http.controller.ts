import { Controller, Get, Param, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiResponse, ApiTags } from '@nestjs/swagger';
import { KeysService } from '@keyd/keys';
import { DeviceLimitService } from '@keyd/sessions';
import { AdminAuthGuard } from '../auth/admin-auth.guard';
import { KeyDevicesJson } from './device.http.dto';
import { ErrorJson } from './key.http.dto';

/** A key's current devices: admin-only, since client addresses never leave the admin API. */
@ApiTags('keys')
@ApiBearerAuth()
@ApiResponse({ status: 401, type: ErrorJson, description: 'Missing or wrong bearer token' })
@Controller('v1')
@UseGuards(AdminAuthGuard)
export class DevicesHttpController {
  constructor(
    private readonly keys: KeysService,
    private readonly devices: DeviceLimitService,
  ) {}

  @Get('keys/:owner_id/devices')
  @ApiOkResponse({ type: KeyDevicesJson, description: 'The client addresses counting against the key’s device limit' })
  @ApiResponse({ status: 404, type: ErrorJson, description: 'The owner never had a key' })
  async list(@Param('owner_id') ownerId: string): Promise<KeyDevicesJson> {
    const key = await this.keys.get(ownerId);
    return {
      owner_id: key.ownerId,
      device_limit: key.deviceLimit,
      window_seconds: this.devices.windowSeconds,
      devices: this.devices.devicesOf(key.email).map((d) => ({
        address: d.address,
        first_seen: new Date(d.firstSeen).toISOString(),
        last_seen: new Date(d.lastSeen).toISOString(),
      })),
    };
  }
}
