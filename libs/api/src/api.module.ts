import { MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { FleetControlModule } from '@keyd/fleet';
import { KeysModule } from '@keyd/keys';
import { ReconcileModule } from '@keyd/reconcile';
import { SessionsModule } from '@keyd/sessions';
import { AdminAuthGuard } from './auth/admin-auth.guard';
import { AdminToken } from './auth/admin-token.provider';
import { GrpcAuthGuard } from './auth/grpc-auth.guard';
import { HealthGrpcController } from './grpc/health.grpc.controller';
import { ImportGrpcController } from './grpc/import.grpc.controller';
import { KeysGrpcController } from './grpc/keys.grpc.controller';
import { NodesGrpcController } from './grpc/nodes.grpc.controller';
import { ReconcileGrpcController } from './grpc/reconcile.grpc.controller';
import { StatusGrpcController } from './grpc/status.grpc.controller';
import { DevicesHttpController } from './http/devices.http.controller';
import { GracefulShutdown } from './http/graceful.shutdown';
import { HealthHttpController } from './http/health.http.controller';
import { KeysHttpController } from './http/keys.http.controller';
import { NodesHttpController } from './http/nodes.http.controller';
import { OperationsHttpController } from './http/operations.http.controller';
import { RequestIdMiddleware } from './http/request-id.middleware';

@Module({
  imports: [KeysModule, ReconcileModule, SessionsModule, FleetControlModule],
  controllers: [
    KeysGrpcController,
    ReconcileGrpcController,
    StatusGrpcController,
    HealthGrpcController,
    ImportGrpcController,
    NodesGrpcController,
    HealthHttpController,
    KeysHttpController,
    OperationsHttpController,
    NodesHttpController,
    DevicesHttpController,
  ],
  providers: [GrpcAuthGuard, AdminAuthGuard, AdminToken, GracefulShutdown],
})
export class ApiModule implements NestModule {
  configure(consumer: MiddlewareConsumer) {
    consumer.apply(RequestIdMiddleware).forRoutes('*');
  }
}

/** An agent's listener: health, readiness and metrics only; its keys come from the control plane. */
@Module({ imports: [KeysModule], controllers: [HealthHttpController] })
export class AgentApiModule {}
