import { Inject, Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { KEYD_CONFIG, KeydConfig } from '@keyd/config';
import { CLOCK, Clock } from '@keyd/domain';
import { AppLogger, LOGGER } from '@keyd/observability';
import { KeyRepository } from '@keyd/store';

const EVERY_MS = 3_600_000;
const DAY_MS = 86_400_000;

/**
 * The request-id ledger grows with every grant that carries an id; past the
 * retention period a retry is no longer expected, so its row is dropped. A
 * retry after that is a new grant.
 */
@Injectable()
export class RequestLedgerPruner implements OnApplicationBootstrap, OnModuleDestroy {
  private timer?: NodeJS.Timeout;
  private running?: Promise<number>;

  constructor(
    private readonly keys: KeyRepository,
    @Inject(KEYD_CONFIG) private readonly config: Pick<KeydConfig, 'requests'>,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(LOGGER) private readonly log: AppLogger,
  ) {}

  onApplicationBootstrap(): void {
    const tick = () => void this.prune().catch((e: unknown) => this.log.error({ err: e }, 'request ids not pruned'));
    tick();
    this.timer = setInterval(tick, EVERY_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /** Drops request ids older than the retention period; returns how many. */
  prune(): Promise<number> {
    this.running ??= (async () => {
      const before = new Date(this.clock.now().getTime() - this.config.requests.retentionDays * DAY_MS);
      const n = await this.keys.pruneRequests(before);
      if (n)
        this.log.info({ event: 'prune-request-ids', pruned: n, before: before.toISOString() }, 'request ids pruned');
      return n;
    })().finally(() => (this.running = undefined));
    return this.running;
  }
}
