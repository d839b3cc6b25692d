import * as grpc from '@grpc/grpc-js';
import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { KEYD_CONFIG, KeydConfig } from '@keyd/config';
import { AppLogger, LOGGER } from '@keyd/observability';
import { CoreMonitor } from '@keyd/reconcile';
import { UsageRepository } from '@keyd/store';
import { AgentCredentials, EnrollmentRefusedError } from './agent.credentials';
import { nodeSyncService, WireAgentMessage, WireControlMessage, WireDesiredKey } from './fleet.protos';
import { USAGE_REPORT_MAX } from './node-usage.service';
import { ReplicaApplier } from './replica.applier';

const RETRY_MIN_MS = 250;
const RETRY_MAX_MS = 5000;
const REPORT_MS = 1000;
/** A refused token or a foreign CA needs the operator; asking again now and then costs nothing. */
const REFUSED_RETRY_MS = 30_000;
/** A usage report not acknowledged by then is sent again: the control plane applies each entry once. */
const USAGE_RESEND_MS = 30_000;

type Stream = grpc.ClientDuplexStream<WireAgentMessage, WireControlMessage>;

/**
 * The agent's link to its control plane: one Watch stream, reopened with
 * backoff whenever it drops. Messages are handled one at a time, in order; a
 * revision is acknowledged once it is committed locally and the core holds
 * it. Without a link the node keeps enforcing its local copy.
 */
@Injectable()
export class AgentLink implements OnApplicationBootstrap, OnApplicationShutdown {
  private client?: grpc.Client;
  private stream?: Stream;
  private stopped = false;
  private failures = 0;
  private retryTimer?: NodeJS.Timeout;
  private reportTimer?: NodeJS.Timeout;
  private queue: Promise<void> = Promise.resolve();
  private snapshotParts: WireDesiredKey[] = [];
  /** Committed locally but not yet confirmed by the core: acknowledged once nothing is pending. */
  private unacked: number | null = null;
  /** The usage report awaiting its acknowledgement: on which stream it went, when, and its last entry. */
  private usageSent?: { stream: Stream; at: number; lastId: number };

  constructor(
    private readonly applier: ReplicaApplier,
    private readonly monitor: CoreMonitor,
    private readonly usage: UsageRepository,
    @Inject(LOGGER) private readonly log: AppLogger,
    @Inject(KEYD_CONFIG) private readonly config: Pick<KeydConfig, 'fleet' | 'db'>,
  ) {}

  onApplicationBootstrap(): void {
    this.reportTimer = setInterval(() => this.tick(), REPORT_MS);
    this.reportTimer.unref();
    this.establish();
  }

  /** Enrolls first if this node has no certificate yet; the node enforces its local copy meanwhile. */
  private establish(): void {
    if (this.stopped) return;
    const addr = this.config.fleet.controlAddr ?? '';
    new AgentCredentials(addr, this.config.fleet.joinToken ?? '', this.config.db.path)
      .channel()
      .then((credentials) => {
        if (this.stopped) return;
        const Service = nodeSyncService();
        this.client = new Service(addr, credentials);
        this.connect();
      })
      .catch((e: unknown) => {
        if (this.stopped) return;
        const refused = e instanceof EnrollmentRefusedError;
        this.log.error({ err: e, control_addr: addr }, refused ? 'enrollment refused' : 'cannot enroll yet');
        this.retryTimer = setTimeout(() => this.establish(), refused ? REFUSED_RETRY_MS : RETRY_MAX_MS);
      });
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.reportTimer);
    this.stream?.cancel();
    await this.queue.catch(() => undefined);
    this.client?.close();
  }

  private connect(): void {
    if (this.stopped || !this.client) return;
    const watch = (this.client as unknown as { Watch: () => Stream }).Watch.bind(this.client);
    const stream = watch();
    this.stream = stream;
    this.snapshotParts = [];
    stream.on('data', (m: WireControlMessage) => this.enqueue(stream, m));
    stream.on('error', (e: grpc.ServiceError) => this.lost(stream, e.code === grpc.status.CANCELLED ? null : e));
    stream.on('end', () => this.lost(stream, null));
    this.enqueue(stream, null);
  }

  private lost(stream: Stream, e: grpc.ServiceError | null): void {
    if (this.stream !== stream) return;
    this.stream = undefined;
    if (this.stopped) return;
    this.failures++;
    const delay = Math.min(RETRY_MIN_MS * 2 ** Math.min(this.failures - 1, 10), RETRY_MAX_MS);
    const fields = { err: e?.details ?? 'stream ended', code: e?.code, retry_in_ms: delay };
    // A refused certificate needs the operator (the node was deleted or re-created): said every time, loudly.
    if (e?.code === grpc.status.UNAUTHENTICATED) this.log.error(fields, 'control plane refused this node');
    else if (this.failures === 1) this.log.warn(fields, 'control plane link lost');
    else this.log.debug(fields, 'control plane link still down');
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  /** Handles messages strictly in order; a failure drops the link, and the reconnect resumes from what was committed. */
  private enqueue(stream: Stream, m: WireControlMessage | null): void {
    this.queue = this.queue
      .then(() => (this.stream === stream ? this.handle(stream, m) : undefined))
      .catch((e: unknown) => {
        this.log.error({ err: e }, 'cannot apply the control plane changes');
        stream.cancel();
      });
  }

  private async handle(stream: Stream, m: WireControlMessage | null): Promise<void> {
    if (m === null) {
      const since = await this.applier.revision();
      stream.write({ hello: { since_revision: since } });
      return;
    }
    if (m.usage_ack) {
      await this.usage.forgetOutbox(m.usage_ack.stream, m.usage_ack.up_to_id);
      // A late answer to an earlier send of the same entries leaves the report in flight waiting.
      if (this.usageSent && m.usage_ack.up_to_id >= this.usageSent.lastId) {
        this.usageSent = undefined;
        await this.sendUsage(stream);
      }
      return;
    }
    if (m.drain) {
      const failed = await this.applier.drain();
      if (!failed) {
        // Every byte counted here reaches the control plane before the node is forgotten.
        for (let after = 0; ;) {
          const { stream: id, entries } = await this.usage.outbox(USAGE_REPORT_MAX, after);
          if (!entries.length) break;
          stream.write({ usage: { stream: id, entries } });
          after = entries[entries.length - 1].id;
        }
        stream.write({ drained: {} });
        this.log.warn({}, 'node drained: every key removed from the core');
      }
      return;
    }
    const c = m.changes;
    if (!c) return;
    if (this.failures) this.log.info({ revision: c.revision }, 'control plane link up');
    this.failures = 0;
    if (c.snapshot && !c.snapshot_done) {
      this.snapshotParts.push(...c.keys);
      return;
    }
    const keys = c.snapshot ? [...this.snapshotParts, ...c.keys] : c.keys;
    this.snapshotParts = [];
    const failed = await this.applier.apply(keys, c.revision, c.snapshot);
    this.unacked = c.revision;
    if (!failed) await this.ackIfSettled(stream);
  }

  private async ackIfSettled(stream: Stream): Promise<void> {
    if (this.unacked === null || (await this.applier.pending()) > 0) return;
    stream.write({ ack: { revision: this.unacked } });
    this.unacked = null;
  }

  /**
   * Sends the oldest page of the usage outbox, unless a report is awaiting
   * its acknowledgement on this stream. Entries stay in the outbox until the
   * control plane acknowledges them, across reconnects and restarts.
   */
  private async sendUsage(stream: Stream): Promise<void> {
    const sent = this.usageSent;
    if (sent?.stream === stream && Date.now() - sent.at < USAGE_RESEND_MS) return;
    const { stream: id, entries } = await this.usage.outbox(USAGE_REPORT_MAX);
    if (!entries.length) return;
    stream.write({ usage: { stream: id, entries } });
    this.usageSent = { stream, at: Date.now(), lastId: entries[entries.length - 1].id };
  }

  /** Periodic: report the core's state and usage, and acknowledge what the local retrier has since pushed. */
  private tick(): void {
    const stream = this.stream;
    if (!stream) return;
    this.queue = this.queue
      .then(async () => {
        if (this.stream !== stream) return;
        await this.ackIfSettled(stream);
        stream.write({
          report: {
            pending_keys: await this.applier.pending(),
            core_reachable: this.monitor.isReachable,
            core_uptime_seconds: this.monitor.uptimeSeconds ?? 0,
            core_restarts: this.monitor.restartsDetected,
          },
        });
        await this.sendUsage(stream);
      })
      .catch((e: unknown) => this.log.warn({ err: e }, 'cannot report to the control plane'));
  }
}
