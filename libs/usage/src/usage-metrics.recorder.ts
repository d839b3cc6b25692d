import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { Metrics } from '@keyd/observability';
import { UsagePoller } from './usage.poller';

/** Turns poll reports into Prometheus series, so the poller knows nothing of metrics. */
@Injectable()
export class UsageMetricsRecorder implements OnApplicationBootstrap {
  constructor(
    private readonly poller: UsagePoller,
    private readonly metrics: Metrics,
  ) {}

  onApplicationBootstrap(): void {
    const m = this.metrics;
    this.poller.on('poll', (r) => {
      m.usagePolls.inc({ result: r.read ? 'read' : 'core_unreadable' });
      m.usagePollSeconds.observe(r.durationMs / 1000);
      m.usageBytes.inc({ direction: 'uplink' }, r.uplinkBytes);
      m.usageBytes.inc({ direction: 'downlink' }, r.downlinkBytes);
      m.dataLimitChanges.inc({ change: 'suspended' }, r.suspended);
      m.dataLimitChanges.inc({ change: 'reactivated' }, r.reactivated);
    });
    this.poller.on('failed', () => m.usagePolls.inc({ result: 'failed' }));
  }
}
