import { ServerDuplexStream, status } from '@grpc/grpc-js';
import { Key } from '@keyd/domain';
import { AppLogger, MALFORMED } from '@keyd/observability';
import { FleetNodeRecord, FleetRepository } from '@keyd/store';
import { AgentSession, FleetHub } from './fleet.hub';
import { FleetMetrics } from './fleet.metrics';
import { WireAgentMessage, WireControlMessage, WireDesiredKey, WireUsageAck, WireUsageReport } from './fleet.protos';

const PAGE = 1000;
/** Behind by more changes than this (or than the group's active keys, when more), the agent gets a snapshot. */
export const SNAPSHOT_AFTER_CHANGES = 1000;
/** Usage reports held for one link at a time. */
const USAGE_QUEUE_MAX = 4;

export interface SessionDeps {
  repo: FleetRepository;
  hub: FleetHub;
  metrics: FleetMetrics;
  log: AppLogger;
  onAck: (node: FleetNodeRecord, rev: number) => void;
  /** Applies a usage report; rejects when it cannot (it is then not acknowledged, and the agent sends it again). */
  onUsage: (node: FleetNodeRecord, report: WireUsageReport) => Promise<WireUsageAck>;
  onDrained: (node: FleetNodeRecord) => void;
}

export const toWireKey = (k: Key): WireDesiredKey => ({
  uuid: k.uuid,
  email: k.email,
  owner_id: k.ownerId,
  flow: k.flow,
  status: k.status,
  subscription_end_ms: k.subscriptionEnd.getTime(),
  device_limit: k.deviceLimit,
});

/**
 * One agent's Watch stream. After the agent's hello it sends what changed
 * after the agent's revision (or a snapshot), then follows new changes as the
 * hub kicks it, one page at a time, never two sends at once.
 */
export class WatchSession implements AgentSession {
  readonly nodeId: number;
  private sentRev = 0;
  private started = false;
  private pumping = false;
  private again = false;
  private closed = false;
  /** Usage reports are applied one after another, in the order they came; a drain's end waits for them. */
  private usage: Promise<void> = Promise.resolve();
  private usageQueued = 0;
  private usageFailed = false;

  constructor(
    private node: FleetNodeRecord,
    private readonly call: ServerDuplexStream<WireAgentMessage, WireControlMessage>,
    private readonly deps: SessionDeps,
  ) {
    this.nodeId = node.id;
  }

  run(): void {
    this.call.on('data', (m: WireAgentMessage) => this.onMessage(m));
    const end = () => this.end();
    this.call.on('end', end);
    this.call.on('error', end);
    this.call.on('cancelled', end);
    this.call.on('close', end);
  }

  kick(): void {
    if (!this.started || this.closed) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    this.pump()
      .catch((e: unknown) => {
        this.deps.log.error({ err: e, node: this.node.name }, 'agent link failed');
        this.close();
      })
      .finally(() => {
        this.pumping = false;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  close(): void {
    if (this.closed) return;
    this.call.end();
    this.end();
  }

  private end(): void {
    if (this.closed) return;
    this.closed = true;
    this.deps.hub.detach(this, new Date());
    this.deps.log.info({ node: this.node.name }, 'agent disconnected');
  }

  private onMessage(m: WireAgentMessage): void {
    // What a closed call still had buffered is not served: its node may be gone.
    if (this.closed) return;
    if (MALFORMED in m) {
      this.deps.log.warn({ node: this.node.name }, 'agent sent bytes that are not a valid message');
      this.call.emit('error', { code: status.INVALID_ARGUMENT, details: 'not a valid protobuf message' });
      this.end();
      return;
    }
    const now = new Date();
    switch (m.body) {
      case 'hello':
        if (this.started) return;
        this.started = true;
        this.pumping = true;
        this.open(m.hello?.since_revision ?? 0, now)
          .catch((e: unknown) => {
            this.deps.log.error({ err: e, node: this.node.name }, 'agent link failed');
            this.close();
          })
          .finally(() => {
            this.pumping = false;
            this.kick();
          });
        return;
      case 'ack':
        this.deps.hub.ack(this.node.id, m.ack?.revision ?? 0, now);
        this.deps.onAck(this.node, m.ack?.revision ?? 0);
        return;
      case 'report':
        if (m.report)
          this.deps.hub.report(
            this.node.id,
            {
              pendingKeys: m.report.pending_keys,
              coreReachable: m.report.core_reachable,
              coreUptimeSeconds: m.report.core_uptime_seconds,
              coreRestarts: m.report.core_restarts,
            },
            now,
          );
        return;
      case 'usage':
        if (m.usage) this.applyUsage(m.usage);
        return;
      case 'drained':
        // Only a node being deleted may confirm it is empty; from any other agent this would delete its node.
        // The usage the agent sent before it is applied first: the node's row, and its cursor, go with the node.
        if (this.node.draining)
          this.usage
            // A report that failed is still the agent's to send: the node is forgotten only once it is applied.
            .then(() => (this.usageFailed ? undefined : this.deps.onDrained(this.node)))
            .catch((e: unknown) => this.deps.log.error({ err: e, node: this.node.name }, 'cannot finish a drain'));
        return;
      case undefined:
        return;
    }
  }

  private applyUsage(report: WireUsageReport): void {
    // An agent sends one report at a time (all of its outbox only when drained): more queued than that are
    // dropped unacknowledged, and sent again.
    if (this.usageQueued >= USAGE_QUEUE_MAX && !this.node.draining) return;
    this.usageQueued++;
    this.usage = this.usage
      .then(() => this.deps.onUsage(this.node, report))
      .then((ack) => this.send({ usage_ack: ack }))
      .catch((e: unknown) => {
        // Not acknowledged: the agent keeps the entries and sends them again.
        this.usageFailed = true;
        this.deps.log.error({ err: e, node: this.node.name }, 'cannot apply a usage report');
        this.close();
      })
      .finally(() => this.usageQueued--);
  }

  private send(m: WireControlMessage): Promise<void> {
    if (this.closed) return Promise.resolve();
    // Wait for the stream to drain when its buffer is full, so a snapshot does not pile up in memory.
    return this.call.write(m) ? Promise.resolve() : new Promise((r) => this.call.once('drain', () => r()));
  }

  /**
   * Serves the node as it is now, not as it was when its certificate was
   * checked: a delete or a regroup may have come between.
   */
  private async open(since: number, now: Date): Promise<void> {
    const node = await this.deps.repo.byId(this.nodeId);
    if (this.closed) return;
    if (!node) {
      this.call.emit('error', { code: status.UNAUTHENTICATED, details: 'no client certificate of an enrolled node' });
      this.end();
      return;
    }
    this.node = node;
    this.deps.hub.attach(this, now);
    this.deps.log.info({ node: node.name, since_revision: since }, 'agent connected');
    await this.begin(since);
  }

  private async begin(since: number): Promise<void> {
    if (this.node.draining) {
      await this.send({ drain: {} });
      return;
    }
    const { repo } = this.deps;
    const group = this.node.group;
    // A node holding nothing yet takes the whole set in one commit and one bulk push, not a page at a time.
    const tooOld = since === 0 || since < this.node.resyncRev || since > (await repo.maxRev()) || !this.node.enabled;
    const behind = tooOld ? Infinity : await repo.countChangesSince(group, since);
    // Counting the group's keys costs a scan of them: only a long gap needs it.
    if (tooOld || (behind > SNAPSHOT_AFTER_CHANGES && behind > (await repo.countActive(group)))) await this.snapshot();
    else this.sentRev = since;
  }

  private async snapshot(): Promise<void> {
    const { rev, keys } = this.node.enabled
      ? await this.deps.repo.snapshot(this.node.group)
      : { rev: await this.deps.repo.maxRev(), keys: [] };
    for (let i = 0; i < keys.length || i === 0; i += PAGE) {
      const page = keys.slice(i, i + PAGE);
      const last = i + PAGE >= keys.length;
      await this.send({
        changes: { keys: page.map(toWireKey), revision: rev, snapshot: true, snapshot_done: last },
      });
    }
    this.deps.metrics.changesSent.inc({ node: this.node.name, kind: 'snapshot' }, keys.length);
    this.sentRev = rev;
    this.deps.log.info({ node: this.node.name, keys: keys.length, revision: rev }, 'agent snapshot sent');
  }

  private async pump(): Promise<void> {
    if (this.node.draining || !this.node.enabled) return;
    for (;;) {
      const changes = await this.deps.repo.changesSince(this.node.group, this.sentRev, PAGE);
      if (!changes.length || this.closed) return;
      const rev = changes[changes.length - 1].rev;
      await this.send({
        changes: { keys: changes.map(toWireKey), revision: rev, snapshot: false, snapshot_done: false },
      });
      this.deps.metrics.changesSent.inc({ node: this.node.name, kind: 'delta' }, changes.length);
      this.sentRev = rev;
      if (changes.length < PAGE) return;
    }
  }
}
