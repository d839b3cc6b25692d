import { DynamicModule, Global, Module } from '@nestjs/common';
import { AppLogger, LOGGER } from './logger';
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
      ],
      exports: [LOGGER, Readiness],
    };
  }
}
