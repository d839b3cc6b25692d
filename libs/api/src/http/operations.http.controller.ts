import { Controller, Get, HttpCode, Post, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { InvalidArgumentError } from '@keyd/domain';
import { NodeService } from '@keyd/fleet';
import { ReconcileService, StatusService } from '@keyd/reconcile';
import { SessionsService } from '@keyd/sessions';
import { AdminAuthGuard } from '../auth/admin-auth.guard';
import { ErrorJson, ReconcileJson } from './key.http.dto';
import { toHttpCutStatus, toHttpReport, toHttpStatus } from './key.http.mapper';
import { toHttpNode } from './nodes.http.controller';

function flag(value: string | undefined, field: string): boolean {
  if (value === undefined || value === '' || value === 'false' || value === '0') return false;
  if (value === 'true' || value === '1') return true;
  throw new InvalidArgumentError(field, 'must be true or false');
}

@ApiTags('operations')
@ApiBearerAuth()
@ApiResponse({ status: 401, type: ErrorJson, description: 'Missing or wrong bearer token' })
@Controller('v1')
@UseGuards(AdminAuthGuard)
export class OperationsHttpController {
  constructor(
    private readonly reconcile: ReconcileService,
    private readonly statusService: StatusService,
    private readonly sessions: SessionsService,
    private readonly nodes: NodeService,
  ) {}

  @Post('reconcile')
  @HttpCode(200)
  @ApiQuery({ name: 'dry_run', required: false, type: Boolean })
  @ApiOkResponse({ type: ReconcileJson, description: 'What the pass changed, or would change on a dry run' })
  async reconcileNow(@Query('dry_run') dryRun?: string) {
    return toHttpReport(await this.reconcile.run({ dryRun: flag(dryRun, 'dry_run'), reason: 'api' }));
  }

  @Get('status')
  @ApiOkResponse({
    description:
      'Keys by status, the core, the last reconcile pass, the config file, whether open connections can be cut, and each node of the fleet',
  })
  async status() {
    return {
      ...toHttpStatus(await this.statusService.status()),
      cut_connections: toHttpCutStatus(this.sessions.status()),
      nodes: (await this.nodes.list()).map(toHttpNode),
    };
  }
}
