import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { CLOCK, Clock, ConflictError, InvalidArgumentError, NotFoundError } from '@keyd/domain';
import { FleetNodeRecord, FleetRepository } from '@keyd/store';
import { FleetHub } from './fleet.hub';
import { FleetMetrics } from './fleet.metrics';
import { NodeInput, deleteForce, newNode, nodeName, nodePatch } from './node-input.validation';
import { NodeDirectory } from './node.directory';
import { NodeSupport } from './node.support';
import { CreatedNode, NodeView } from './node.views';

/** CreateNode, ListNodes, GetNode, UpdateNode, DeleteNode. */
@Injectable()
export class NodeService implements OnModuleInit {
  constructor(
    private readonly repo: FleetRepository,
    private readonly directory: NodeDirectory,
    private readonly hub: FleetHub,
    private readonly metrics: FleetMetrics,
    private readonly support: NodeSupport,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  onModuleInit(): void {
    this.metrics.source = async () =>
      (await this.list()).map((n) => ({
        name: n.name,
        connected: n.connected,
        revisionLag: n.revisionLag,
        pendingKeys: n.pendingKeys,
        coreReachable: n.coreReachable,
        coreUptimeSeconds: n.coreUptimeSeconds,
        coreRestarts: n.coreRestarts,
        lastSeenSeconds: n.lastSeen ? n.lastSeen.getTime() / 1000 : 0,
      }));
  }

  async create(input: NodeInput): Promise<CreatedNode> {
    const node = newNode(input);
    const { secret, token } = this.support.authority.newJoinToken();
    const created = await this.repo.create(node, secret, this.clock.now());
    if (!created) throw new ConflictError(`a node named ${JSON.stringify(node.name)} exists`);
    this.directory.invalidate();
    this.support.log.info({ event: 'node_create', node: created.name, group: created.group }, 'node created');
    return { node: await this.view(created), joinToken: token };
  }

  async list(): Promise<NodeView[]> {
    return Promise.all((await this.directory.all()).map((n) => this.view(n)));
  }

  async get(name: unknown): Promise<NodeView> {
    return this.view(await this.find(name));
  }

  async update(name: unknown, input: NodeInput): Promise<NodeView> {
    const node = await this.find(name);
    if (node.kind === 'local') throw new InvalidArgumentError('name', 'the local node is set by configuration');
    const updated = await this.repo.update(node.id, nodePatch(input), this.clock.now());
    if (!updated) throw new NotFoundError(`no node named ${JSON.stringify(node.name)}`);
    this.directory.invalidate();
    // The agent reconnects and is served from the node's new state (a snapshot when its keys changed).
    this.hub.close(node.id);
    this.support.log.info({ event: 'node_update', node: updated.name, group: updated.group }, 'node updated');
    return this.view(updated);
  }

  /**
   * Drains first: the agent removes every key from its core; the node row
   * goes once it confirms. With force the row goes now: an agent that never
   * comes back would otherwise leave the node draining for good.
   */
  async remove(name: unknown, force: unknown = false): Promise<NodeView> {
    const now = deleteForce(force);
    const node = await this.find(name);
    if (node.kind === 'local') throw new InvalidArgumentError('name', 'the local node is set by configuration');
    if (now) {
      const view = await this.view(node);
      await this.repo.remove(node.id);
      this.directory.invalidate();
      this.hub.forget(node.id);
      this.support.log.warn(
        { event: 'node_delete', node: node.name, forced: true, drained: false },
        'node deleted without draining: its core keeps the keys it held',
      );
      return { ...view, connected: false, draining: false };
    }
    await this.repo.setDraining(node.id, this.clock.now());
    this.directory.invalidate();
    this.hub.close(node.id);
    this.support.log.info({ event: 'node_delete', node: node.name }, 'node draining');
    return this.view({ ...node, draining: true });
  }

  private async find(name: unknown): Promise<FleetNodeRecord> {
    const n = nodeName(name);
    const node = (await this.directory.all()).find((x) => x.name === n);
    if (!node) throw new NotFoundError(`no node named ${JSON.stringify(n)}`);
    return node;
  }

  private async view(n: FleetNodeRecord): Promise<NodeView> {
    const base = {
      name: n.name,
      group: n.group,
      publicHost: n.kind === 'local' ? this.support.config.link.host : n.publicHost,
      publicPort: n.kind === 'local' ? this.support.config.link.port : n.publicPort,
      link: n.link,
      enabled: n.enabled,
      kind: n.kind,
      draining: n.draining,
    };
    if (n.kind === 'local') {
      const monitor = this.support.monitor;
      const pending = await this.support.keys.countPending();
      return {
        ...base,
        connected: true,
        lastSeen: this.clock.now(),
        ackedRevision: 0,
        revisionLag: pending,
        pendingKeys: pending,
        coreReachable: monitor.isReachable,
        coreUptimeSeconds: monitor.uptimeSeconds ?? 0,
        coreRestarts: monitor.restartsDetected,
      };
    }
    const acked = this.hub.ackedRev(n);
    const report = this.hub.reportOf(n.id);
    return {
      ...base,
      connected: this.hub.isConnected(n.id),
      lastSeen: this.hub.lastSeen(n.id) ?? n.lastSeenAt,
      ackedRevision: acked,
      revisionLag: await this.repo.countChangesSince(n.group, Math.max(acked, 0)),
      pendingKeys: report?.pendingKeys ?? 0,
      coreReachable: report?.coreReachable ?? false,
      coreUptimeSeconds: report?.coreUptimeSeconds ?? 0,
      coreRestarts: report?.coreRestarts ?? 0,
    };
  }
}
