import { ServerDuplexStream } from '@grpc/grpc-js';
import { Inject, Injectable } from '@nestjs/common';
import { AppLogger, LOGGER } from '@keyd/observability';
import { FleetNodeRecord, FleetRepository } from '@keyd/store';
import { FleetHub } from './fleet.hub';
import { FleetMetrics } from './fleet.metrics';
import { WireAgentMessage, WireControlMessage } from './fleet.protos';
import { NodeDirectory } from './node.directory';
import { NodeUsageService } from './node-usage.service';
import { WatchSession } from './watch.session';

/**
 * Opens a Watch session for an authenticated node, and does what its agent's
 * messages ask of the store: acknowledgements, usage, a finished drain.
 */
@Injectable()
export class WatchSessions {
  private readonly acking = new Map<number, { rev: number; running: boolean }>();

  constructor(
    private readonly repo: FleetRepository,
    private readonly directory: NodeDirectory,
    private readonly hub: FleetHub,
    private readonly metrics: FleetMetrics,
    private readonly usage: NodeUsageService,
    @Inject(LOGGER) private readonly log: AppLogger,
  ) {}

  open(node: FleetNodeRecord, call: ServerDuplexStream<WireAgentMessage, WireControlMessage>): void {
    new WatchSession(node, call, {
      repo: this.repo,
      hub: this.hub,
      metrics: this.metrics,
      log: this.log,
      onAck: (n, rev) => this.persistAck(n, rev),
      onUsage: (n, report) => this.usage.apply(n, report),
      onDrained: (n) => this.drained(n),
    }).run();
  }

  /**
   * Stores acknowledgements one write at a time per node, the latest winning.
   * A node's entry lives only while its writes do (the stored revision only
   * ever grows, so nothing is lost by forgetting it), so nodes come and go
   * without leaving anything behind.
   */
  private persistAck(node: FleetNodeRecord, rev: number): void {
    const state = this.acking.get(node.id) ?? { rev: 0, running: false };
    state.rev = Math.max(state.rev, rev);
    this.acking.set(node.id, state);
    if (state.running) return;
    state.running = true;
    // The loop's last check and its cleanup run with no await between them, so no ack lands unwritten.
    const loop = async (): Promise<void> => {
      try {
        let written = -1;
        while (written < state.rev) {
          written = state.rev;
          await this.repo.recordAck(node.id, written, new Date());
        }
      } finally {
        state.running = false;
        if (this.acking.get(node.id) === state) this.acking.delete(node.id);
      }
    };
    loop().catch((e: unknown) => this.log.warn({ err: e, node: node.name }, 'cannot record an agent acknowledgement'));
  }

  private drained(node: FleetNodeRecord): void {
    this.repo
      .remove(node.id)
      .then(() => {
        this.directory.invalidate();
        this.hub.forget(node.id);
        this.log.info({ node: node.name }, 'node drained and deleted');
      })
      .catch((e: unknown) => this.log.error({ err: e, node: node.name }, 'cannot delete a drained node'));
  }
}
