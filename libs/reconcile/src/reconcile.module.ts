import { Module } from '@nestjs/common';
import { KeysModule } from '@keyd/keys';
import { ConfigFileWriter } from './config-file.writer';
import { CoreMonitor } from './core.monitor';
import { CoreRecovery } from './core-recovery.service';
import { ExpiryScheduler } from './expiry.scheduler';
import { KeyExpirer } from './key.expirer';
import { KeyPusher } from './key.pusher';
import { CoreMetricsRecorder, KeyMetricsRecorder, ReconcileMetricsRecorder } from './metrics.recorder';
import { LiveDrift } from './live-drift.service';
import { CoreRepair } from './core-repair.service';
import { PassRunner } from './pass.runner';
import { PendingChanges } from './pending.changes';
import { PendingRetrier } from './pending.retrier';
import { ReconcileJob } from './reconcile.job';
import { ReconcileService } from './reconcile.service';
import { ReconcileTriggers } from './reconcile.triggers';
import { StartupSequence } from './startup.sequence';
import { StatusService } from './status.service';

@Module({
  imports: [KeysModule],
  providers: [
    ReconcileService,
    CoreRepair,
    LiveDrift,
    PendingChanges,
    PendingRetrier,
    PassRunner,
    ReconcileJob,
    ReconcileTriggers,
    StartupSequence,
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
  exports: [ReconcileService, StatusService, CoreMonitor],
})
export class ReconcileModule {}
