import { Module } from '@nestjs/common';
import { KeysModule } from '@keyd/keys';
import { ConfigFileWriter } from './config-file.writer';
import { CoreMonitor } from './core.monitor';
import { CoreRecovery } from './core-recovery.service';
import { ExpiryScheduler } from './expiry.scheduler';
import { KeyExpirer } from './key-expirer';
import { KeyPusher } from './key-pusher';
import { ReconcileJob } from './reconcile.job';
import { ReconcileService } from './reconcile.service';

@Module({
  imports: [KeysModule],
  providers: [
    ReconcileService,
    ReconcileJob,
    CoreMonitor,
    CoreRecovery,
    ExpiryScheduler,
    KeyExpirer,
    KeyPusher,
    ConfigFileWriter,
  ],
  exports: [ReconcileService, CoreMonitor, ConfigFileWriter, ExpiryScheduler],
})
export class ReconcileModule {}
