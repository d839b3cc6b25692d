import { Inject, Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { KEYD_CONFIG, KeydConfig } from '@keyd/config';
import { KeyEvents } from '@keyd/keys';
import { AppLogger, LOGGER } from '@keyd/observability';
import { KeyRepository } from '@keyd/store';
import { AccessEntry } from './access-log.parser';
import { Device, DeviceTable } from './device.table';
import { endpointKey } from './session.table';
import { SessionsService } from './sessions.service';

/** Keys whose limit and devices are kept in memory; the least recently used go first. */
const MAX_KEYS = 200_000;
/** The highest device limit a key can have; an unlimited key's addresses are kept up to this many too. */
const MAX_DEVICES_PER_KEY = 256;
/** How often open connections refresh their devices' last sighting: half the window, within these bounds. */
const REFRESH_MIN_MS = 500;
const REFRESH_MAX_MS = 30_000;

/**
 * Enforces each key's device limit from the access log. A device is a client
 * address with an open connection, or one seen within the window. When an
 * address beyond the limit connects, its connections are cut; the devices
 * already counted keep theirs. Once an address has been gone for the window,
 * it stops counting and another may take its place.
 */
@Injectable()
export class DeviceLimitService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly devices = new DeviceTable({ maxEmails: MAX_KEYS, maxPerEmail: MAX_DEVICES_PER_KEY });
  private readonly limits = new Map<string, number>();
  private readonly lookups = new Map<string, Promise<number>>();
  private readonly windowMs: number;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly sessions: SessionsService,
    private readonly events: KeyEvents,
    private readonly keys: KeyRepository,
    @Inject(KEYD_CONFIG) config: Pick<KeydConfig, 'sessions'>,
    @Inject(LOGGER) private readonly log: AppLogger,
  ) {
    this.windowMs = config.sessions.deviceWindowSeconds * 1000;
    // Registered before the sessions service starts reading the log, so no line goes unseen.
    this.sessions.onAccepted((entry, at, live) => {
      this.onAccepted(entry, at, live).catch((e: unknown) => this.log.error({ err: e }, 'device limit check failed'));
    });
  }

  onApplicationBootstrap(): void {
    this.events.on('deviceLimit', ({ email, deviceLimit }) => this.remember(email, deviceLimit));
    this.events.on('removed', ({ email }) => {
      this.devices.forget(email);
      this.limits.delete(email);
    });
    const every = Math.min(REFRESH_MAX_MS, Math.max(REFRESH_MIN_MS, this.windowMs / 2));
    this.timer = setInterval(() => {
      this.refresh().catch((e: unknown) => this.log.warn({ err: e }, 'refreshing devices failed'));
    }, every);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  get windowSeconds(): number {
    return this.windowMs / 1000;
  }

  /** The key's current devices, the least recently seen first. */
  devicesOf(email: string, now = Date.now()): Device[] {
    return this.devices.current(email, now - this.windowMs).map((d) => ({ ...d }));
  }

  private async onAccepted({ email, ip }: AccessEntry, at: number, live: boolean): Promise<void> {
    const limit = await this.limitOf(email);
    // Lines written before keyd started say nothing about now: the next refresh counts those still open.
    if (!live) return;
    if (this.admits(email, ip, limit)) return;
    // Over the limit on what the log says; a device whose last line is old may still be connected.
    const open = await this.sessions.openEndpoints();
    if (open !== null) this.touchOpen(email, ip, open);
    if (this.admits(email, ip, limit)) return;
    const endpoints = this.sessions.table.endpointsOf(email).filter((e) => e.ip === ip);
    const cut = await this.sessions.cutEndpoints(endpoints, 'device_limit', new Date(at));
    this.log.info({ event: 'device_refused', device_limit: limit, cut }, 'a device over its key’s limit was cut');
  }

  /**
   * Counts `ip` as a device of the key and says so, unless that would exceed
   * the limit. Decided and recorded in one synchronous step, so two newcomers
   * read at once can't both take the last place.
   */
  private admits(email: string, ip: string, limit: number): boolean {
    const now = Date.now();
    const since = now - this.windowMs;
    if (limit !== 0 && !this.devices.isCurrent(email, ip, since) && this.devices.current(email, since).length >= limit)
      return false;
    this.devices.touch(email, ip, now, since);
    this.remember(email, limit);
    return true;
  }

  /**
   * Marks the known devices of `email` that hold an open connection as seen
   * now. The newcomer's own connection is open too until it is cut, so it is
   * never counted here: only `admits` adds a device.
   */
  private touchOpen(email: string, newcomer: string, open: Set<string>): void {
    const now = Date.now();
    for (const e of this.sessions.table.endpointsOf(email)) {
      if (e.ip !== newcomer && this.devices.has(email, e.ip) && open.has(endpointKey(e.ip, e.port)))
        this.devices.touch(email, e.ip, now, now - this.windowMs);
    }
  }

  /**
   * Keeps the devices with an open connection counted, and drops those gone
   * for the window. An open connection from an address not yet counted (one
   * keyd found in the log at start, or a newcomer about to be cut) is counted
   * only while the key has room, so a refresh never lets a device in over the limit.
   */
  private async refresh(): Promise<void> {
    const open = await this.sessions.openEndpoints();
    const now = Date.now();
    if (open !== null) {
      for (const key of open) {
        const [ip = '', port = ''] = key.split('|');
        const email = this.sessions.table.ownerOf(ip, Number(port));
        if (email === undefined) continue;
        if (this.devices.has(email, ip)) this.devices.touch(email, ip, now, now - this.windowMs);
        else this.admits(email, ip, this.limits.get(email) ?? 0);
      }
    }
    this.devices.expire(now - this.windowMs);
  }

  private remember(email: string, limit: number): void {
    this.limits.delete(email);
    this.limits.set(email, limit);
    if (this.limits.size > MAX_KEYS) this.limits.delete(this.limits.keys().next().value as string);
  }

  /** The key's device limit, read once from the database and then kept up to date by the key's events. */
  private async limitOf(email: string): Promise<number> {
    const known = this.limits.get(email);
    if (known !== undefined) return known;
    let lookup = this.lookups.get(email);
    if (!lookup) {
      lookup = this.keys
        .findByEmails([email])
        .then((found) => found[0]?.deviceLimit ?? 0)
        .finally(() => this.lookups.delete(email));
      this.lookups.set(email, lookup);
    }
    const limit = await lookup;
    if (!this.limits.has(email)) this.remember(email, limit);
    return limit;
  }
}
