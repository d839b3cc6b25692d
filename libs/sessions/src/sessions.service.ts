import { Inject, Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { KEYD_CONFIG, KeydConfig } from '@keyd/config';
import { KeyEvents } from '@keyd/keys';
import { AppLogger, LOGGER, Metrics } from '@keyd/observability';
import { AccessLogFollower } from './access-log.follower';
import { AccessEntry, parseAccessLine } from './access-log.parser';
import { ConnectionCutter, CutError, RemoteEndpoint } from './connection.cutter';
import { hasNetAdmin, ssInstalled } from './cut.capability';
import { inboundPortFromConfig } from './inbound-port.reader';
import { readOpenEndpoints } from './open-sockets.reader';
import { endpointKey, SessionTable } from './session.table';

/** Bounds of the endpoint table: about 60 MB at the cap, whatever the log holds. */
const MAX_ENDPOINTS = 200_000;
const MAX_PER_EMAIL = 256;
const FOLLOW_POLL_MS = 250;
const TAIL_BYTES = 4 << 20;
const PRUNE_INTERVAL_MS = 30_000;

export interface CutStatus {
  state: 'available' | 'unavailable';
  reason: string | null;
  accessLog: { path: string | null; state: string; error: string | null };
  inboundPort: number | null;
  trackedEndpoints: number;
}

export type CutReason = 'revoked' | 'expired' | 'suspended' | 'device_limit';

/** An accepted connection, and whether the log line is new (false for the lines found in the log at start). */
export type AcceptedListener = (entry: AccessEntry, at: number, live: boolean) => void;

/**
 * Closes the open connections of keys that stopped being ACTIVE. The core's
 * access log says which client address and port each user connected from;
 * once the core has dropped the user, keyd destroys exactly those sockets on
 * the inbound's port, so other users behind the same address keep theirs.
 */
@Injectable()
export class SessionsService implements OnApplicationBootstrap, OnModuleDestroy {
  readonly table = new SessionTable({ maxEndpoints: MAX_ENDPOINTS, maxPerEmail: MAX_PER_EMAIL });
  private follower: AccessLogFollower | null = null;
  private port: number | null = null;
  private unavailable: string | null = 'not started';
  private pruneTimer?: NodeJS.Timeout;
  private readonly accepted: AcceptedListener[] = [];

  constructor(
    private readonly events: KeyEvents,
    private readonly metrics: Metrics,
    @Inject(LOGGER) private readonly log: AppLogger,
    @Inject(KEYD_CONFIG) private readonly config: Pick<KeydConfig, 'sessions' | 'core'>,
    private readonly cutter: ConnectionCutter,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.metrics.sources.sessionsTracked = () => this.table.size;
    this.unavailable = await this.detect();
    this.setAvailabilityMetric();
    if (this.unavailable !== null) {
      this.log.warn(
        { reason: this.unavailable },
        'cut_connections: unavailable; revoked keys keep their open connections',
      );
    } else {
      this.log.info(
        { accessLog: this.config.sessions.accessLog, inboundPort: this.port },
        'cut_connections: available',
      );
    }
    const path = this.config.sessions.accessLog;
    if (path !== undefined) {
      this.follower = new AccessLogFollower(path, (line) => this.onLine(line), {
        pollMs: FOLLOW_POLL_MS,
        tailBytes: TAIL_BYTES,
      });
      this.follower.start();
    }
    this.events.on('removed', ({ email, status, changedAt }) => {
      const reason = status.toLowerCase() as CutReason;
      this.cutEndpoints(this.table.endpointsOf(email), reason, changedAt).catch((e: unknown) =>
        // No email here: older keys' emails contain their UUID.
        this.log.error({ err: e, reason }, 'cutting connections failed'),
      );
    });
    if (this.port !== null) {
      this.pruneTimer = setInterval(() => {
        this.prune().catch((e: unknown) => this.log.warn({ err: e }, 'pruning connections failed'));
      }, PRUNE_INTERVAL_MS);
      this.pruneTimer.unref();
    }
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.pruneTimer);
    await this.follower?.stop();
  }

  get inboundPort(): number | null {
    return this.port;
  }

  /** Called for every accepted connection the log names, after the endpoint is recorded. */
  onAccepted(listener: AcceptedListener): void {
    this.accepted.push(listener);
  }

  /** The open connections to the inbound's port (`ip|port`), or null while the port is unknown. */
  async openEndpoints(): Promise<Set<string> | null> {
    return this.port === null ? null : readOpenEndpoints(this.port);
  }

  status(): CutStatus {
    const followerError = this.follower?.state === 'waiting' ? this.follower.error : null;
    const reason = this.unavailable ?? followerError;
    return {
      state: reason === null ? 'available' : 'unavailable',
      reason,
      accessLog: {
        path: this.config.sessions.accessLog ?? null,
        state: this.follower?.state ?? 'disabled',
        error: this.follower?.error ?? null,
      },
      inboundPort: this.port,
      trackedEndpoints: this.table.size,
    };
  }

  /** Destroys these connections to the inbound's port; returns how many closed. */
  async cutEndpoints(endpoints: RemoteEndpoint[], reason: CutReason, since: Date): Promise<number> {
    if (this.unavailable !== null || this.port === null || endpoints.length === 0) return 0;
    let n = 0;
    try {
      n = await this.cutter.cut(this.port, endpoints);
    } catch (e) {
      if (!(e instanceof CutError)) throw e;
      this.metrics.cutFailures.inc();
      this.log.warn({ err: e.message, reason }, 'cutting connections failed');
      // A kernel without CONFIG_INET_DIAG_DESTROY, or a tool gone, refuses every later cut as well.
      if (e.kind !== 'failed') {
        this.unavailable = e.message;
        this.setAvailabilityMetric();
      }
      return 0;
    }
    for (const e of endpoints) this.table.forgetEndpoint(e.ip, e.port);
    if (n > 0) {
      this.metrics.connectionsCut.inc({ reason }, n);
      this.metrics.cutDelaySeconds.observe({ reason }, Math.max(0, Date.now() - since.getTime()) / 1000);
    }
    return n;
  }

  private onLine(line: string): void {
    const entry = parseAccessLine(line);
    this.metrics.accessLogLines.inc({ result: entry ? 'accepted' : 'ignored' });
    if (!entry) return;
    const now = Date.now();
    this.table.record(entry.email, entry.ip, entry.port, now);
    const live = this.follower?.caughtUp ?? false;
    for (const listener of this.accepted) listener(entry, now, live);
  }

  private async prune(): Promise<void> {
    if (this.port === null) return;
    const open = await readOpenEndpoints(this.port);
    // A connection the log named moments ago may not be in the kernel's table yet.
    this.table.prune(Date.now() - FOLLOW_POLL_MS * 8, (e) => open.has(endpointKey(e.ip, e.port)));
  }

  private async detect(): Promise<string | null> {
    const { accessLog, inboundPort } = this.config.sessions;
    if (inboundPort !== undefined) this.port = inboundPort;
    else if (this.config.core.configPath !== undefined) {
      const found = await inboundPortFromConfig(this.config.core.configPath, this.config.core.inboundTag);
      if (typeof found === 'string') return found;
      this.port = found;
    } else return "the inbound's port is unknown: set XRAY_INBOUND_PORT or XRAY_CONFIG_PATH";
    if (accessLog === undefined) return 'XRAY_ACCESS_LOG is not set';
    if (!(await hasNetAdmin())) return 'keyd lacks CAP_NET_ADMIN, which destroying sockets needs';
    return (await ssInstalled()) ? null : 'ss (iproute2) is not installed';
  }

  private setAvailabilityMetric(): void {
    this.metrics.cutAvailable.reset();
    this.metrics.cutAvailable.set(
      { reason: this.unavailable === null ? '' : this.reasonLabel() },
      this.unavailable ? 0 : 1,
    );
  }

  private reasonLabel(): string {
    const r = this.unavailable ?? '';
    if (r.includes('CAP_NET_ADMIN') || r.includes('not permitted')) return 'no_cap_net_admin';
    if (r.includes('cannot read')) return 'no_inbound_port';
    if (r.includes('XRAY_ACCESS_LOG')) return 'no_access_log';
    if (r.includes('port')) return 'no_inbound_port';
    if (r.includes('iproute2')) return 'no_ss';
    if (r.includes('SOCK_DESTROY')) return 'kernel_refused';
    return 'other';
  }
}
