import { DynamicModule, Global, Module } from '@nestjs/common';
import { AppLogger, LOGGER } from './pino.logger';
import { InFlight } from './in-flight.tracker';
import { Metrics } from './metrics.registry';
import { CoreReads } from './core-reads.tracker';
import { Readiness } from './readiness.state';

@Global()
@Module({})
export class ObservabilityModule {
  static forRoot(logger: AppLogger, readiness: Readiness): DynamicModule {
    const metrics = new Metrics();
    return {
      module: ObservabilityModule,
      providers: [
        { provide: LOGGER, useValue: logger },
        { provide: Readiness, useValue: readiness },
        { provide: Metrics, useValue: metrics },
        { provide: CoreReads, useValue: new CoreReads(metrics, logger) },
        { provide: InFlight, useValue: new InFlight() },
      ],
      exports: [LOGGER, Readiness, Metrics, CoreReads, InFlight],
    };
  }
}
