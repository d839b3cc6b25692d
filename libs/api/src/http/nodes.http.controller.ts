import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { NodeService, NodeView } from '@keyd/fleet';
import { AdminAuthGuard } from '../auth/admin-auth.guard';
import { ErrorJson } from './key.http.dto';

const body = (b: unknown): Record<string, unknown> =>
  b && typeof b === 'object' && !Array.isArray(b) ? (b as Record<string, unknown>) : {};

export function toHttpNode(n: NodeView) {
  return {
    name: n.name,
    group: n.group,
    public_host: n.publicHost,
    public_port: n.publicPort,
    link: n.link,
    enabled: n.enabled,
    kind: n.kind,
    connected: n.connected,
    last_seen: n.lastSeen ? n.lastSeen.toISOString() : null,
    acked_revision: n.ackedRevision,
    revision_lag: n.revisionLag,
    pending_keys: n.pendingKeys,
    core_reachable: n.coreReachable,
    core_uptime_seconds: n.coreUptimeSeconds,
    core_restarts: n.coreRestarts,
    draining: n.draining,
  };
}

@ApiTags('nodes')
@ApiBearerAuth()
@ApiResponse({ status: 400, type: ErrorJson, description: 'Bad input; the message names the field' })
@ApiResponse({ status: 401, type: ErrorJson, description: 'Missing or wrong bearer token' })
@Controller('v1/nodes')
@UseGuards(AdminAuthGuard)
export class NodesHttpController {
  constructor(private readonly nodes: NodeService) {}

  @Post()
  @HttpCode(200)
  @ApiOkResponse({ description: 'The node, and its join token: shown once' })
  @ApiResponse({ status: 409, type: ErrorJson, description: 'A node with that name exists' })
  async create(@Body() raw: unknown) {
    const created = await this.nodes.create(body(raw));
    return { node: toHttpNode(created.node), join_token: created.joinToken };
  }

  @Get()
  @ApiOkResponse({ description: 'Every node, the local one first, with its link and sync state' })
  async list() {
    return { nodes: (await this.nodes.list()).map(toHttpNode) };
  }

  @Get(':name')
  @ApiResponse({ status: 404, type: ErrorJson, description: 'No such node' })
  async get(@Param('name') name: string) {
    return toHttpNode(await this.nodes.get(name));
  }

  @Patch(':name')
  @ApiResponse({ status: 404, type: ErrorJson, description: 'No such node' })
  async update(@Param('name') name: string, @Body() raw: unknown) {
    return toHttpNode(await this.nodes.update(name, body(raw)));
  }

  @Delete(':name')
  @ApiOkResponse({
    description: 'The node, draining: it goes once its agent removed every key; with force=true it is gone already',
  })
  @ApiQuery({ name: 'force', required: false, enum: ['true', 'false'], description: 'Forget it without draining' })
  @ApiResponse({ status: 400, type: ErrorJson, description: 'force is neither true nor false' })
  @ApiResponse({ status: 404, type: ErrorJson, description: 'No such node' })
  async remove(@Param('name') name: string, @Query('force') force?: unknown) {
    return toHttpNode(await this.nodes.remove(name, force));
  }
}
