import { Controller, UseGuards, UseInterceptors } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import { ReconcileReport, ReconcileService } from '@keyd/reconcile';
import { GrpcAuthGuard } from '../auth/grpc-auth.guard';
import { ReconcileReport as ProtoReconcileReport, ReconcileRequest } from './generated/keyd/v1/keyd.pb';
import { GrpcRequestIdInterceptor } from './request-id.interceptor';

export function toProtoReport(r: ReconcileReport): ProtoReconcileReport {
  return {
    added: r.added,
    removed: r.removed,
    expired: r.expired,
    failed: r.failed,
    duration: { seconds: Math.floor(r.durationMs / 1000), nanos: (r.durationMs % 1000) * 1e6 },
    core_restart_detected: r.coreRestartDetected,
    dry_run: r.dryRun,
    unknown_removed: r.unknownRemoved,
    core_reachable: r.coreReachable,
  };
}

@Controller()
@UseGuards(GrpcAuthGuard)
@UseInterceptors(GrpcRequestIdInterceptor)
export class ReconcileGrpcController {
  constructor(private readonly reconcile: ReconcileService) {}

  @GrpcMethod('KeyManager', 'Reconcile')
  async reconcileNow(req: ReconcileRequest): Promise<ProtoReconcileReport> {
    return toProtoReport(await this.reconcile.run({ dryRun: req.dry_run === true, reason: 'api' }));
  }
}
