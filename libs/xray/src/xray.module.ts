import { Module } from '@nestjs/common';
import { XrayClient } from './xray.client';

@Module({
  providers: [XrayClient],
  exports: [XrayClient],
})
export class XrayModule {}
