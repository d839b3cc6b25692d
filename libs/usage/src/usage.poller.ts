import { BeforeApplicationShutdown, Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { EventEmitter } from 'node:events';
import { KEYD_CONFIG, KeydConfig } from '@keyd/config';
import { CLOCK, Clock } from '@keyd/domain';
import { KeySyncService } from '@keyd/keys';
import { AppLogger, LOGGER } from '@keyd/observability';
import { StatsClock, UsageDelta, UsageRepository } from '@keyd/store';
import { CounterReader, CounterSource } from './counter.reader';
import { coreRestarted, CounterReading, periodStarts, usageDeltas } from './usage.math';

/** Live keys' baselines read per statement during a poll. */
const BASELINE_PAGE = 5000;

export interface UsagePollReport {
  /** False when the core could not be read; period resets ran anyway. */
  read: boolean;
  /** Why the core could not be read. */
  readError?: string;
  /** Which counters were read: all of them, or those of users with a connection open. */
  source?: CounterSource;
  coreRestarted: boolean;
  keysCounted: number;
  uplinkBytes: number;
  downlinkBytes: number;
  suspended: number;
  reactivated: number;
  periodResets: number;
  durationMs: number;
}

/**
 * How long the counters of a key that left the core are still read: a
 * connection opened before its removal moves bytes until it closes or is cut.
 * Older ones are not looked at, however many the core still holds.
 */
export const COUNTED_AFTER_LEAVING_MS = 86_400_000;

/**
 * Reads the core's per-user counters without resetting them, and turns them
 * into usage: deltas against the last persisted reading, committed with the
 * new readings in one transaction. Then applies data limits and period resets.
 * On an agent's node the deltas are also queued for the control plane, which
 * holds the keys' limits and totals over every node.
 */
@Injectable()
export class UsagePoller
  extends EventEmitter<{ poll: [UsagePollReport]; failed: [unknown] }>
  implements OnApplicationBootstrap, BeforeApplicationShutdown
{
  private timer?: NodeJS.Timeout;
  private running?: Promise<UsagePollReport>;

  constructor(
    private readonly reader: CounterReader,
    private readonly usage: UsageRepository,
    private readonly sync: KeySyncService,
    @Inject(KEYD_CONFIG) private readonly config: Pick<KeydConfig, 'stats' | 'fleet'>,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(LOGGER) private readonly log: AppLogger,
  ) {
    super();
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.poll().catch((e: unknown) => {
        // Nothing of a failed poll committed: the next one reads the same baselines and counts it all.
        this.log.error({ err: e }, 'usage poll failed');
        this.emit('failed', e);
      });
    }, this.config.stats.intervalSeconds * 1000);
    this.timer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running?.catch(() => undefined);
  }

  /** One poll at a time; a call during a poll shares it. */
  poll(): Promise<UsagePollReport> {
    this.running ??= this.run().finally(() => (this.running = undefined));
    return this.running;
  }

  /**
   * The keys' baselines are read a page at a time and matched against the
   * readings, so only the keys that moved are held, not every live key; a
   * core that reports no counters needs no page at all.
   */
  private async deltas(
    leftSince: Date,
    readings: Map<string, CounterReading>,
    restarted: boolean,
  ): Promise<UsageDelta[]> {
    const out: UsageDelta[] = [];
    if (!readings.size) return out;
    for (let after = 0; ;) {
      const page = await this.usage.countedBaselines(leftSince, after, BASELINE_PAGE);
      if (!page.length) return out;
      out.push(...usageDeltas(page, readings, restarted));
      after = page[page.length - 1].keyId;
    }
  }

  private async run(): Promise<UsagePollReport> {
    const started = Date.now();
    this.log.debug({ event: 'usage-poll' }, 'usage poll started');
    const now = this.clock.now();
    const sampled = await this.reader.sample();
    const sample = sampled.sample;
    const previous = await this.usage.statsClock();
    const restarted = sample ? coreRestarted(previous, sample.uptimeSeconds, now) : false;
    const deltas = sample
      ? await this.deltas(new Date(now.getTime() - COUNTED_AFTER_LEAVING_MS), sample.readings, restarted)
      : [];
    const stats: StatsClock | null = sample
      ? {
          uptimeSeconds: sample.uptimeSeconds,
          bootAt: new Date(now.getTime() - sample.uptimeSeconds * 1000),
          polledAt: now,
        }
      : null;
    if (sample?.source === 'all_counters')
      this.reader.fullReadCounted(deltas.filter((d) => d.uplink + d.downlink > 0).length);
    const outcome = await this.usage.commitPoll({
      deltas,
      resetBaselines: restarted,
      stats,
      periods: periodStarts(now),
      now,
      // An agent's bytes are its control plane's: they leave through the outbox, committed with the poll.
      outbox: this.config.fleet.role === 'agent',
    });
    await this.sync.converge([...outcome.reactivated, ...outcome.suspended]);
    const report: UsagePollReport = {
      read: sample !== null,
      readError: sampled.sample ? undefined : sampled.error,
      source: sample?.source,
      coreRestarted: restarted,
      keysCounted: deltas.length,
      uplinkBytes: deltas.reduce((n, d) => n + d.uplink, 0),
      downlinkBytes: deltas.reduce((n, d) => n + d.downlink, 0),
      suspended: outcome.suspended.length,
      reactivated: outcome.reactivated.length,
      periodResets: outcome.periodResets,
      durationMs: Date.now() - started,
    };
    for (const k of outcome.suspended)
      this.log.info({ event: 'suspend', owner: k.ownerId, key_id: k.id }, 'data limit reached');
    const quiet = !report.suspended && !report.reactivated && !report.periodResets && !restarted;
    this.log[quiet ? 'debug' : 'info']({ event: 'usage-poll', ...report }, 'usage poll');
    this.emit('poll', report);
    return report;
  }
}
