import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { ScheduleModule } from '@nestjs/schedule';
import { ApiModule, DomainExceptionFilter } from '@keyd/api';
import { ConfigModule, KeydConfig } from '@keyd/config';
import { AppLogger, ObservabilityModule, Readiness } from '@keyd/observability';
import { SubscriptionModule } from '@keyd/subscription';
import { UsageModule } from '@keyd/usage';

/** Composition only: every capability lives in a lib. */
@Module({})
export class AppModule {
  static create(config: KeydConfig, logger: AppLogger): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        ObservabilityModule.forRoot(logger, new Readiness(config.readiness.coreGraceSeconds * 1000)),
        ScheduleModule.forRoot(),
        ApiModule,
        UsageModule,
        SubscriptionModule,
      ],
      providers: [{ provide: APP_FILTER, useClass: DomainExceptionFilter }],
    };
  }
}
