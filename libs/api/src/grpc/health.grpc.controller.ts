import { Controller } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import { Readiness } from '@keyd/observability';
import { HealthCheckRequest, HealthCheckResponse } from './generated/grpc/health/v1/health.pb';

/** The standard grpc.health.v1 service; the empty service name stands for the whole server. */
@Controller()
export class HealthGrpcController {
  constructor(private readonly readiness: Readiness) {}

  @GrpcMethod('Health', 'Check')
  check(req: HealthCheckRequest): HealthCheckResponse {
    if (req.service && req.service !== 'keyd.v1.KeyManager') return { status: 'SERVICE_UNKNOWN' };
    return { status: this.readiness.state().ready ? 'SERVING' : 'NOT_SERVING' };
  }
}
