import { Inject, Injectable } from '@nestjs/common';
import { AppLogger, LOGGER } from '@keyd/observability';
import { CoreError, CoreUserTraffic, XrayClient } from '@keyd/xray';
import { CounterReading, parseUserCounters } from './usage.math';

/**
 * Between two full reads, this many polls in all may be served by
 * GetUsersStats: a full read at least once a minute at the default 15 s
 * interval.
 */
export const FULL_READ_EVERY = 4;

export type CounterSource = 'all_counters' | 'online_users';

export interface CounterSample {
  uptimeSeconds: number;
  readings: Map<string, CounterReading>;
  /**
   * all_counters: every user counter the core holds (QueryStats). online_users:
   * only users with a connection open (GetUsersStats); the others' bytes wait
   * for the next full read, which counts them against the same baselines.
   */
  source: CounterSource;
}

export type SampleResult = { sample: CounterSample } | { sample: null; error?: string };

/**
 * Reads the core's per-user traffic counters without resetting them. On Xray
 * >= 26.4.13, polls between full reads ask GetUsersStats for the users with a
 * connection open only, a fraction of the full answer on a node where most
 * keys are idle. Support is detected at run time: a core without it answers
 * UNIMPLEMENTED, and is read in full from then on. So is a core that reports
 * no online users while its counters move, which is what it does without
 * statsUserOnline in its policy.
 */
@Injectable()
export class CounterReader {
  private onlineUsers: 'untried' | 'served' | 'unavailable' = 'untried';
  /** Polls since the last full read; 0 until the first one. */
  private sinceFullRead = 0;
  /** Online reads since the last full read, and how many users they named. */
  private window = { reads: 0, users: 0 };
  /** The same, for the polls that led up to the last full read. */
  private lastWindow = { reads: 0, users: 0 };

  constructor(
    private readonly core: XrayClient,
    @Inject(LOGGER) private readonly log: AppLogger,
  ) {}

  /**
   * Uptime is read before and after the counters: a restart in between would
   * pair old counters with a new uptime and count them twice, so that sample
   * is dropped and the next poll reads a settled core.
   */
  async sample(): Promise<SampleResult> {
    try {
      const before = await this.core.sysStats();
      const read = await this.read();
      const after = await this.core.sysStats();
      if (after.uptimeSeconds < before.uptimeSeconds) return { sample: null };
      return { sample: { uptimeSeconds: before.uptimeSeconds, ...read } };
    } catch (e) {
      if (!(e instanceof CoreError)) throw e;
      // Logged at warn by whoever records the report: no usage is counted and no limit enforced meanwhile.
      return { sample: null, error: e.message };
    }
  }

  /**
   * What a full read found: keys whose counters moved. Moving counters with no
   * online user reported since the previous full read mean the core does not
   * track online users, so its GetUsersStats answers can never be trusted.
   */
  fullReadCounted(moved: number): void {
    if (this.onlineUsers !== 'served' || !this.lastWindow.reads || this.lastWindow.users || !moved) return;
    this.onlineUsers = 'unavailable';
    this.log.info(
      { event: 'usage-source', source: 'all_counters' },
      'the core counts traffic but reports no online users (statsUserOnline off?): every poll reads all counters',
    );
  }

  private async read(): Promise<Pick<CounterSample, 'readings' | 'source'>> {
    const onlineDue = this.sinceFullRead > 0 && this.sinceFullRead < FULL_READ_EVERY;
    if (onlineDue && this.onlineUsers !== 'unavailable') {
      const users = await this.core.usersTraffic();
      if (users) {
        this.onlineUsers = 'served';
        this.sinceFullRead++;
        this.window.reads++;
        this.window.users += users.length;
        return { readings: readingsOf(users), source: 'online_users' };
      }
      this.onlineUsers = 'unavailable';
      this.log.info({ event: 'usage-source', source: 'all_counters' }, 'the core has no GetUsersStats');
    }
    const readings = parseUserCounters(await this.core.queryStats('user>>>'));
    this.sinceFullRead = 1;
    this.lastWindow = this.window;
    this.window = { reads: 0, users: 0 };
    return { readings, source: 'all_counters' };
  }
}

function readingsOf(users: CoreUserTraffic[]): Map<string, CounterReading> {
  return new Map(users.map((u) => [u.email.toLowerCase(), { uplink: u.uplink, downlink: u.downlink }]));
}
