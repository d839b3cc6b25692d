import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { KEY_STATUSES } from '@keyd/domain';
import { KeysService } from '@keyd/keys';
import { AdminAuthGuard } from '../auth/admin-auth.guard';
import { ErrorJson, GrantBody, GrantJson, KeyJson, KeyPageJson } from './key.http.dto';
import { toHttpGrant, toHttpKey, toHttpPage } from './key.http.mapper';

const body = (b: unknown): Record<string, unknown> =>
  b && typeof b === 'object' && !Array.isArray(b) ? (b as Record<string, unknown>) : {};

@ApiTags('keys')
@ApiBearerAuth()
@ApiResponse({ status: 400, type: ErrorJson, description: 'Bad input; the message names the field' })
@ApiResponse({ status: 401, type: ErrorJson, description: 'Missing or wrong bearer token' })
@Controller('v1')
@UseGuards(AdminAuthGuard)
export class KeysHttpController {
  constructor(private readonly keys: KeysService) {}

  @Post('grants')
  @HttpCode(200)
  @ApiOkResponse({ type: GrantJson, description: 'Issued a new key or renewed the active one' })
  async grant(@Body() raw: GrantBody) {
    const b = body(raw);
    return toHttpGrant(
      await this.keys.grant({
        ownerId: b['owner_id'],
        durationSeconds: b['duration_seconds'],
        requestId: b['request_id'],
      }),
    );
  }

  @Get('keys/:owner_id')
  @ApiOkResponse({ type: KeyJson })
  @ApiResponse({ status: 404, type: ErrorJson, description: 'The owner never had a key' })
  async get(@Param('owner_id') ownerId: string) {
    return toHttpKey(await this.keys.get(ownerId));
  }

  @Delete('keys/:owner_id')
  @ApiOkResponse({ type: KeyJson, description: 'The revoked key' })
  @ApiResponse({ status: 404, type: ErrorJson, description: 'The owner never had a key' })
  async revoke(@Param('owner_id') ownerId: string) {
    return toHttpKey(await this.keys.revoke(ownerId));
  }

  @Get('keys')
  @ApiQuery({ name: 'status', required: false, enum: KEY_STATUSES })
  @ApiQuery({ name: 'page_size', required: false, type: Number, description: '1-1000, default 100' })
  @ApiQuery({ name: 'page_token', required: false, type: String })
  @ApiOkResponse({ type: KeyPageJson })
  async list(
    @Query('status') status?: string,
    @Query('page_size') pageSize?: string,
    @Query('page_token') pageToken?: string,
  ) {
    return toHttpPage(await this.keys.list({ status, pageSize, pageToken }));
  }
}
