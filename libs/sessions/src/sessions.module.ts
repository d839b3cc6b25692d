import { Module } from '@nestjs/common';
import { KeysModule } from '@keyd/keys';
import { ConnectionCutter } from './connection.cutter';
import { SessionsService } from './sessions.service';

@Module({
  imports: [KeysModule],
  providers: [SessionsService, { provide: ConnectionCutter, useValue: new ConnectionCutter() }],
  exports: [SessionsService],
})
export class SessionsModule {}
