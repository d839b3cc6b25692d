import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOkResponse, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Key } from '@keyd/domain';
import { FleetGrants, KeyNodes } from '@keyd/fleet';
import {
  dataLimitSchema,
  deviceLimitSchema,
  grantSchema,
  KeyAdminService,
  KeysService,
  KeyViews,
  listKeysSchema,
} from '@keyd/keys';
import { AdminAuthGuard } from '../auth/admin-auth.guard';
import { ErrorJson, GrantJson, KeyJson, KeyPageJson } from './key.http.dto';
import { commandBody, commandQuery } from './command.openapi';
import { toHttpKey } from './key.http.mapper';

const body = (b: unknown): Record<string, unknown> =>
  b && typeof b === 'object' && !Array.isArray(b) ? (b as Record<string, unknown>) : {};

@ApiTags('keys')
@ApiBearerAuth()
@ApiResponse({ status: 400, type: ErrorJson, description: 'Bad input; the message names the field' })
@ApiResponse({ status: 401, type: ErrorJson, description: 'Missing or wrong bearer token' })
@Controller('v1')
@UseGuards(AdminAuthGuard)
export class KeysHttpController {
  constructor(
    private readonly grants: FleetGrants,
    private readonly admin: KeyAdminService,
    private readonly keys: KeysService,
    private readonly views: KeyViews,
    private readonly nodes: KeyNodes,
  ) {}

  private json = async (k: Key): Promise<KeyJson> => toHttpKey(this.views.of(await this.nodes.of(k)));

  @Post('grants')
  @HttpCode(200)
  @ApiBody(commandBody(grantSchema))
  @ApiOkResponse({ type: GrantJson, description: 'Issued a new key or renewed the live one' })
  async grant(@Body() raw: unknown): Promise<GrantJson> {
    const b = body(raw);
    const r = await this.grants.grant({
      ownerId: b['owner_id'],
      durationSeconds: b['duration_seconds'],
      requestId: b['request_id'],
      dataLimitBytes: b['data_limit_bytes'],
      limitReset: b['data_limit_reset'],
      deviceLimit: b['device_limit'],
      nodeGroup: b['node_group'],
    });
    return { key: toHttpKey(this.views.of(r.key)), action: r.action };
  }

  @Get('keys/:owner_id')
  @ApiOkResponse({ type: KeyJson })
  @ApiResponse({ status: 404, type: ErrorJson, description: 'The owner never had a key' })
  async get(@Param('owner_id') ownerId: string) {
    return this.json(await this.keys.get(ownerId));
  }

  @Delete('keys/:owner_id')
  @ApiOkResponse({ type: KeyJson, description: 'The revoked key' })
  @ApiResponse({ status: 404, type: ErrorJson, description: 'The owner never had a key' })
  async revoke(@Param('owner_id') ownerId: string) {
    return this.json(await this.admin.revoke(ownerId));
  }

  @Get('keys')
  @commandQuery(listKeysSchema)
  @ApiOkResponse({ type: KeyPageJson })
  async list(
    @Query('status') status?: string,
    @Query('page_size') pageSize?: string,
    @Query('page_token') pageToken?: string,
  ): Promise<KeyPageJson> {
    const page = await this.keys.list({ status, pageSize, pageToken });
    return { keys: await Promise.all(page.keys.map(this.json)), next_page_token: page.nextPageToken };
  }

  @Put('keys/:owner_id/data-limit')
  @ApiOkResponse({ type: KeyJson, description: 'Suspended at once if over the new limit, back if under it' })
  @ApiResponse({ status: 404, type: ErrorJson, description: 'The owner never had a key' })
  @ApiResponse({ status: 409, type: ErrorJson, description: 'The key is revoked' })
  @ApiBody(commandBody(dataLimitSchema))
  async setLimit(@Param('owner_id') ownerId: string, @Body() raw: unknown) {
    const b = body(raw);
    return this.json(
      await this.admin.setLimit({ ownerId, dataLimitBytes: b['data_limit_bytes'], limitReset: b['data_limit_reset'] }),
    );
  }

  @Put('keys/:owner_id/device-limit')
  @ApiOkResponse({
    type: KeyJson,
    description: 'The key with its new limit; an address beyond it is cut as it connects',
  })
  @ApiResponse({ status: 404, type: ErrorJson, description: 'The owner never had a key' })
  @ApiResponse({ status: 409, type: ErrorJson, description: 'The key is revoked' })
  @ApiBody(commandBody(deviceLimitSchema))
  async setDeviceLimit(@Param('owner_id') ownerId: string, @Body() raw: unknown) {
    return this.json(await this.admin.setDeviceLimit({ ownerId, deviceLimit: body(raw)['device_limit'] }));
  }

  @Post('keys/:owner_id/usage/reset')
  @HttpCode(200)
  @ApiOkResponse({ type: KeyJson, description: 'Usage of the current period zeroed; a key suspended for data is back' })
  @ApiResponse({ status: 404, type: ErrorJson, description: 'The owner never had a key' })
  @ApiResponse({ status: 409, type: ErrorJson, description: 'The key is revoked' })
  async resetUsage(@Param('owner_id') ownerId: string) {
    return this.json(await this.admin.resetUsage(ownerId));
  }

  @Post('keys/:owner_id/subscription-token')
  @HttpCode(200)
  @ApiOkResponse({ type: KeyJson, description: 'A new subscription URL; the old one answers 404 from now on' })
  @ApiResponse({ status: 404, type: ErrorJson, description: 'The owner never had a key' })
  @ApiResponse({ status: 409, type: ErrorJson, description: 'The key is revoked' })
  async regenerateToken(@Param('owner_id') ownerId: string) {
    return this.json(await this.admin.regenerateSubscriptionToken(ownerId));
  }

  @Delete('keys/:owner_id/subscription-token')
  @ApiOkResponse({ type: KeyJson, description: 'The subscription URL answers 404 until a token is regenerated' })
  @ApiResponse({ status: 404, type: ErrorJson, description: 'The owner never had a key' })
  async revokeToken(@Param('owner_id') ownerId: string) {
    return this.json(await this.admin.revokeSubscriptionToken(ownerId));
  }
}
