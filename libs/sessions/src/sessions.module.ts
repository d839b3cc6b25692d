import { Module } from '@nestjs/common';
import { KeysModule } from '@keyd/keys';
import { StoreModule } from '@keyd/store';
import { ConnectionCutter } from './connection.cutter';
import { DeviceLimitService } from './device-limit.service';
import { SessionsService } from './sessions.service';

@Module({
  imports: [KeysModule, StoreModule],
  providers: [SessionsService, DeviceLimitService, { provide: ConnectionCutter, useValue: new ConnectionCutter() }],
  exports: [SessionsService, DeviceLimitService],
})
export class SessionsModule {}
