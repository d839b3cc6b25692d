import * as grpc from '@grpc/grpc-js';
import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { KEYD_CONFIG, KeydConfig } from '@keyd/config';
import { KeyEvents } from '@keyd/keys';
import { AppLogger, LOGGER } from '@keyd/observability';
import { DomainError } from '@keyd/domain';
import { FleetNodeRecord, FleetRepository } from '@keyd/store';
import { FleetAuthority } from './fleet.authority';
import { FleetHub } from './fleet.hub';
import { FleetMetrics } from './fleet.metrics';
import {
  nodeSyncService,
  WireAgentMessage,
  WireControlMessage,
  WireEnrollRequest,
  WireEnrollResponse,
} from './fleet.protos';
import { NodeDirectory } from './node.directory';
import { WatchSession } from './watch.session';

const KEEPALIVE_MS = 2000;

/** The statuses an enrollment's refusals answer with; anything else is the server's own failure. */
const ENROLL_STATUS: Partial<Record<DomainError['code'], grpc.status>> = {
  UNAUTHENTICATED: grpc.status.UNAUTHENTICATED,
  INVALID_ARGUMENT: grpc.status.INVALID_ARGUMENT,
};

/**
 * The agent link: a gRPC server of its own (KEYD_FLEET_LISTEN), apart from the
 * API the bot uses, over TLS from the fleet CA. An agent trades its join token
 * for a client certificate once (Enroll), and proves which node it is with
 * that certificate on every Watch.
 */
@Injectable()
export class FleetSyncServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private server?: grpc.Server;
  private kickQueued = false;
  private readonly acking = new Map<number, { rev: number; running: boolean }>();

  constructor(
    private readonly repo: FleetRepository,
    private readonly authority: FleetAuthority,
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
      Enroll: (
        call: grpc.ServerUnaryCall<WireEnrollRequest, WireEnrollResponse>,
        done: grpc.sendUnaryData<WireEnrollResponse>,
      ) => {
        this.enroll(call.request).then(
          (r) => done(null, r),
          (e: unknown) => done(this.enrollError(e)),
        );
      },
    });
    const credentials = await this.authority.serverCredentials();
    const addr = `${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${listen.port}`;
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(addr, credentials, (e) => (e ? reject(e) : resolve())),
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

  private async enroll(req: WireEnrollRequest): Promise<WireEnrollResponse> {
    const r = await this.authority.enroll(req.join_token, req.csr_pem);
    this.log.info({ event: 'node_enroll', node: r.nodeName }, 'agent enrolled');
    return { node_name: r.nodeName, certificate_pem: r.certificatePem, ca_pem: r.caPem };
  }

  private enrollError(e: unknown): Partial<grpc.ServiceError> {
    const code = e instanceof DomainError ? ENROLL_STATUS[e.code] : undefined;
    if (code !== undefined) return { code, details: (e as Error).message };
    this.log.error({ err: e }, 'enrollment failed');
    return { code: grpc.status.INTERNAL, details: 'enrollment failed' };
  }

  private async watch(call: grpc.ServerDuplexStream<WireAgentMessage, WireControlMessage>): Promise<void> {
    const node = await this.authority.nodeOf(call as grpc.ServerDuplexStream<unknown, unknown>);
    if (!node) {
      call.emit('error', { code: grpc.status.UNAUTHENTICATED, details: 'no client certificate of an enrolled node' });
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
