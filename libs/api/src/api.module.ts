import { MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { KeysModule } from '@keyd/keys';
import { ReconcileModule } from '@keyd/reconcile';
import { GrpcAuthGuard } from './auth/grpc-auth.guard';
import { HealthGrpcController } from './grpc/health.grpc.controller';
import { KeysGrpcController } from './grpc/keys.grpc.controller';
import { ReconcileGrpcController } from './grpc/reconcile.grpc.controller';
import { HealthHttpController } from './http/health.http.controller';
import { RequestIdMiddleware } from './http/request-id.middleware';

@Module({
  imports: [KeysModule, ReconcileModule],
  controllers: [KeysGrpcController, ReconcileGrpcController, HealthGrpcController, HealthHttpController],
  providers: [GrpcAuthGuard],
})
export class ApiModule implements NestModule {
  configure(consumer: MiddlewareConsumer) {
    consumer.apply(RequestIdMiddleware).forRoutes('*');
  }
}
