import * as grpc from '@grpc/grpc-js';
import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { KEYD_CONFIG, KeydConfig } from '@keyd/config';
import { AppLogger, LOGGER, MALFORMED } from '@keyd/observability';
import { DomainError } from '@keyd/domain';
import { FleetAuthority } from './fleet.authority';
import {
  nodeSyncService,
  WireAgentMessage,
  WireControlMessage,
  WireEnrollRequest,
  WireEnrollResponse,
} from './fleet.protos';
import { WatchSessions } from './watch-session.factory';

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

  constructor(
    private readonly authority: FleetAuthority,
    private readonly sessions: WatchSessions,
    @Inject(LOGGER) private readonly log: AppLogger,
    @Inject(KEYD_CONFIG) private readonly config: Pick<KeydConfig, 'fleet'>,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
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
        if (MALFORMED in call.request)
          return done({ code: grpc.status.INVALID_ARGUMENT, details: 'not a valid protobuf message' });
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
    this.sessions.open(node, call);
  }
}
