import { Controller, UseGuards, UseInterceptors } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import { DaemonStatus, StatusService } from '@keyd/reconcile';
import { GrpcAuthGuard } from '../auth/grpc-auth.guard';
import { DaemonStatus as ProtoDaemonStatus } from './generated/keyd/v1/keyd.pb';
import { toTimestamp } from './key.grpc.mapper';
import { toProtoReport } from './reconcile.grpc.controller';
import { GrpcRequestIdInterceptor } from './request-id.interceptor';

export function toProtoStatus(s: DaemonStatus): ProtoDaemonStatus {
  return {
    keys: {
      active: s.keys.ACTIVE,
      expired: s.keys.EXPIRED,
      revoked: s.keys.REVOKED,
      suspended: s.keys.SUSPENDED,
    },
    pending_changes: s.pendingChanges,
    core: {
      reachable: s.core.reachable,
      flavor: s.core.flavor,
      api_addr: s.core.apiAddr,
      inbound_tag: s.core.inboundTag,
      uptime_seconds: s.core.uptimeSeconds ?? undefined,
      restarts_detected: s.core.restartsDetected,
    },
    last_reconcile: s.lastReconcile ? toProtoReport(s.lastReconcile) : undefined,
    last_reconcile_at: s.lastReconcile ? toTimestamp(s.lastReconcile.finishedAt) : undefined,
    config_file: {
      path: s.configFile.path ?? '',
      last_write_at: s.configFile.lastWriteAt ? toTimestamp(s.configFile.lastWriteAt) : undefined,
      writes: s.configFile.writes,
      failures: s.configFile.failures,
      last_error: s.configFile.lastError ?? '',
    },
  };
}

@Controller()
@UseGuards(GrpcAuthGuard)
@UseInterceptors(GrpcRequestIdInterceptor)
export class StatusGrpcController {
  constructor(private readonly statusService: StatusService) {}

  @GrpcMethod('KeyManager', 'GetStatus')
  async getStatus(): Promise<ProtoDaemonStatus> {
    return toProtoStatus(await this.statusService.status());
  }
}
