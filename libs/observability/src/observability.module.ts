import { DynamicModule, Global, Module } from '@nestjs/common';
import { AppLogger, LOGGER } from './logger';
import { InFlight } from './in-flight';
import { Metrics } from './metrics';
import { Readiness } from './readiness';

@Global()
@Module({})
export class ObservabilityModule {
  static forRoot(logger: AppLogger, readiness: Readiness): DynamicModule {
    return {
      module: ObservabilityModule,
      providers: [
        { provide: LOGGER, useValue: logger },
        { provide: Readiness, useValue: readiness },
        { provide: Metrics, useValue: new Metrics() },
        { provide: InFlight, useValue: new InFlight() },
      ],
      exports: [LOGGER, Readiness, Metrics, InFlight],
    };
  }
}
