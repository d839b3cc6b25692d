import { Module } from '@nestjs/common';
import { KeysModule } from '@keyd/keys';
import { CounterReader } from './counter.reader';
import { UsageMetricsRecorder } from './usage-metrics.recorder';
import { UsagePoller } from './usage.poller';

@Module({
  imports: [KeysModule],
  providers: [CounterReader, UsagePoller, UsageMetricsRecorder],
  exports: [UsagePoller],
})
export class UsageModule {}
