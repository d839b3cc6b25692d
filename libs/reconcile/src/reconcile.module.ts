import { Module } from '@nestjs/common';
import { KeysModule } from '@keyd/keys';
import { ConfigFileWriter } from './config-file.writer';
import { CoreMonitor } from './core.monitor';
import { CoreRecovery } from './core-recovery.service';
import { ExpiryScheduler } from './expiry.scheduler';
import { KeyExpirer } from './key-expirer';
import { KeyPusher } from './key-pusher';
import { CoreMetricsRecorder, KeyMetricsRecorder, ReconcileMetricsRecorder } from './metrics.recorder';
import { ReconcileJob } from './reconcile.job';
import { ReconcileService } from './reconcile.service';
import { StatusService } from './status.service';

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
    KeyMetricsRecorder,
    CoreMetricsRecorder,
    ReconcileMetricsRecorder,
    StatusService,
  ],
  exports: [ReconcileService, StatusService],
})
export class ReconcileModule {}
