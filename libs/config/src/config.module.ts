import { DynamicModule, Global, Module } from '@nestjs/common';
import { KEYD_CONFIG, KeydConfig } from './config.types';

@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: KeydConfig): DynamicModule {
    return {
      module: ConfigModule,
      providers: [{ provide: KEYD_CONFIG, useValue: config }],
      exports: [KEYD_CONFIG],
    };
  }
}
