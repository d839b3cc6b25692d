import { MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { KeysModule } from '@keyd/keys';
import { ReconcileModule } from '@keyd/reconcile';
import { SessionsModule } from '@keyd/sessions';
import { AdminAuthGuard } from './auth/admin-auth.guard';
import { AdminToken } from './auth/admin-token.provider';
import { GrpcAuthGuard } from './auth/grpc-auth.guard';
import { HealthGrpcController } from './grpc/health.grpc.controller';
import { ImportGrpcController } from './grpc/import.grpc.controller';
import { KeysGrpcController } from './grpc/keys.grpc.controller';
import { ReconcileGrpcController } from './grpc/reconcile.grpc.controller';
import { StatusGrpcController } from './grpc/status.grpc.controller';
import { GracefulShutdown } from './http/graceful.shutdown';
import { HealthHttpController } from './http/health.http.controller';
import { KeysHttpController } from './http/keys.http.controller';
import { OperationsHttpController } from './http/operations.http.controller';
import { RequestIdMiddleware } from './http/request-id.middleware';

@Module({
  imports: [KeysModule, ReconcileModule, SessionsModule],
  controllers: [
    KeysGrpcController,
    ReconcileGrpcController,
    StatusGrpcController,
    HealthGrpcController,
    ImportGrpcController,
    HealthHttpController,
    KeysHttpController,
    OperationsHttpController,
  ],
  providers: [GrpcAuthGuard, AdminAuthGuard, AdminToken, GracefulShutdown],
})
export class ApiModule implements NestModule {
  configure(consumer: MiddlewareConsumer) {
    consumer.apply(RequestIdMiddleware).forRoutes('*');
  }
}
