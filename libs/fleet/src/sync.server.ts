import * as grpc from '@grpc/grpc-js';
import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { KEYD_CONFIG, KeydConfig } from '@keyd/config';
import { KeyEvents } from '@keyd/keys';
import { AppLogger, LOGGER } from '@keyd/observability';
import { FleetNodeRecord, FleetRepository } from '@keyd/store';
import { FleetHub } from './fleet.hub';
import { FleetMetrics } from './fleet.metrics';
import { nodeSyncService, WireAgentMessage, WireControlMessage } from './fleet.protos';
import { NodeDirectory } from './node.directory';
import { WatchSession } from './watch.session';

const KEEPALIVE_MS = 2000;

/**
 * The agent link: a gRPC server of its own (KEYD_FLEET_LISTEN), apart from the
 * API the bot uses. An agent proves which node it is with its join token.
 */
@Injectable()
export class FleetSyncServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private server?: grpc.Server;
  private kickQueued = false;
  private readonly acking = new Map<number, { rev: number; running: boolean }>();

  constructor(
    private readonly repo: FleetRepository,
    private readonly directory: NodeDirectory,
    private readonly hub: FleetHub,
    private readonly metrics: FleetMetrics,
    private readonly events: KeyEvents,
    @Inject(LOGGER) private readonly log: AppLogger,
    @Inject(KEYD_CONFIG) private readonly config: Pick<KeydConfig, 'fleet'>,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const kick = () => this.kickSoon();
    this.events.on('changed', kick);
    this.events.on('extended', kick);
    const listen = this.config.fleet.listen;
    if (!listen) return;
    // Pings find an agent that stopped answering (paused, or its host gone) within seconds, so that
    // grants stop waiting for it and it resumes from its revision when it comes back.
    const server = new grpc.Server({
      'grpc.keepalive_time_ms': KEEPALIVE_MS,
      'grpc.keepalive_timeout_ms': KEEPALIVE_MS,
    });
    server.addService(nodeSyncService().service, {
      Watch: (call: grpc.ServerDuplexStream<WireAgentMessage, WireControlMessage>) => {
        this.watch(call).catch((e: unknown) => {
          this.log.error({ err: e }, 'agent link failed');
          call.destroy(e instanceof Error ? e : new Error(String(e)));
        });
      },
    });
    const addr = `${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${listen.port}`;
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(addr, grpc.ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())),
    );
    this.server = server;
    this.log.info({ listen }, 'agent link listening');
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    if (!server) return;
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => server.forceShutdown(), 2000);
      server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
  }

  /** Coalesces a burst of key events into one kick of every link. */
  private kickSoon(): void {
    if (this.kickQueued) return;
    this.kickQueued = true;
    setImmediate(() => {
      this.kickQueued = false;
      this.hub.kickAll();
    });
  }

  private async watch(call: grpc.ServerDuplexStream<WireAgentMessage, WireControlMessage>): Promise<void> {
    const node = await this.authenticate(call.metadata);
    if (!node) {
      call.emit('error', { code: grpc.status.UNAUTHENTICATED, details: 'unknown node credentials' });
      return;
    }
    new WatchSession(node, call, {
      repo: this.repo,
      hub: this.hub,
      metrics: this.metrics,
      log: this.log,
      onAck: (n, rev) => this.persistAck(n, rev),
      onDrained: (n) => this.drained(n),
    }).run();
  }

  private async authenticate(meta: grpc.Metadata): Promise<FleetNodeRecord | null> {
    const header = meta.get('authorization')[0];
    const token = typeof header === 'string' ? /^Bearer (.+)$/.exec(header)?.[1] : undefined;
    return token ? this.repo.byToken(token) : null;
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
