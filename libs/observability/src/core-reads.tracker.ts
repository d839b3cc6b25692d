import { AppLogger } from './pino.logger';
import { Metrics } from './metrics.registry';

/** The reads of the core that whole features depend on: usage counting, and drift repair. */
export type CoreRead = 'usage_poll' | 'user_listing';

export interface CoreReadState {
  failures: number;
  lastFailureAt: Date | null;
  lastError: string | null;
  lastSuccessAt: Date | null;
}

/**
 * Remembers whether the last big reads of the core worked. A failing poll stops
 * data limits from being enforced and a failing listing stops drift repair, so
 * each failure is counted in metrics and shown in /v1/status, not only logged.
 */
export class CoreReads {
  private readonly state: Record<CoreRead, CoreReadState> = {
    usage_poll: { failures: 0, lastFailureAt: null, lastError: null, lastSuccessAt: null },
    user_listing: { failures: 0, lastFailureAt: null, lastError: null, lastSuccessAt: null },
  };

  constructor(
    private readonly metrics: Metrics,
    private readonly log: AppLogger,
  ) {}

  succeeded(read: CoreRead, at = new Date()): void {
    this.state[read].lastSuccessAt = at;
    this.state[read].lastError = null;
  }

  failed(read: CoreRead, error: string, at = new Date()): void {
    const s = this.state[read];
    s.failures++;
    s.lastFailureAt = at;
    s.lastError = error;
    this.metrics.coreReadFailures.inc({ read });
    this.log.warn({ read, err: error }, 'core read failed');
  }

  snapshot(): Record<CoreRead, CoreReadState> {
    return { usage_poll: { ...this.state.usage_poll }, user_listing: { ...this.state.user_listing } };
  }
}
