import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { ScheduleModule } from '@nestjs/schedule';
import { AgentApiModule, ApiModule, DomainExceptionFilter } from '@keyd/api';
import { ConfigModule, KeydConfig } from '@keyd/config';
import { FleetAgentModule } from '@keyd/fleet';
import { AppLogger, ObservabilityModule, Readiness } from '@keyd/observability';
import { SessionsModule } from '@keyd/sessions';
import { SubscriptionModule } from '@keyd/subscription';
import { UsageModule } from '@keyd/usage';

/** Composition only: every capability lives in a lib. */
@Module({})
export class AppModule {
  static create(config: KeydConfig, logger: AppLogger): DynamicModule {
    const base = [
      ConfigModule.forRoot(config),
      ObservabilityModule.forRoot(logger, new Readiness(config.readiness.coreGraceSeconds * 1000)),
      ScheduleModule.forRoot(),
    ];
    // An agent enforces its node's keys, cuts the connections of keys that stop being active on its core, counts
    // its core's traffic for the control plane, and serves only health and metrics; the control plane serves the APIs.
    const role =
      config.fleet.role === 'agent'
        ? [AgentApiModule, FleetAgentModule, SessionsModule, UsageModule]
        : [ApiModule, UsageModule, SubscriptionModule];
    return {
      module: AppModule,
      imports: [...base, ...role],
      providers: [{ provide: APP_FILTER, useClass: DomainExceptionFilter }],
    };
  }
}
