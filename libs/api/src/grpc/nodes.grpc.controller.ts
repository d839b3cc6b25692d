import { Controller, UseGuards, UseInterceptors } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import {
  NodeInput,
  NodeService,
  NodeView,
  ProtoCreateNodeResponse,
  ProtoListNodesResponse,
  ProtoNode,
} from '@keyd/fleet';
import { GrpcAuthGuard } from '../auth/grpc-auth.guard';
import { toTimestamp } from './key.grpc.mapper';
import { GrpcRequestIdInterceptor } from './request-id.interceptor';

interface NameRequest {
  name: string;
}

export function toProtoNode(n: NodeView): ProtoNode {
  return {
    name: n.name,
    group: n.group,
    public_host: n.publicHost,
    public_port: n.publicPort,
    // proto3 strings: an unset link field is sent as its default, ''.
    link: {
      security: n.link.security ?? '',
      type: n.link.type ?? '',
      flow: n.link.flow ?? '',
      sni: n.link.sni ?? '',
      pbk: n.link.pbk ?? '',
      sid: n.link.sid ?? '',
      fp: n.link.fp ?? '',
    },
    enabled: n.enabled,
    kind: n.kind,
    connected: n.connected,
    last_seen: n.lastSeen ? toTimestamp(n.lastSeen) : undefined,
    acked_revision: n.ackedRevision,
    revision_lag: n.revisionLag,
    pending_keys: n.pendingKeys,
    core_reachable: n.coreReachable,
    core_uptime_seconds: n.coreUptimeSeconds,
    core_restarts: n.coreRestarts,
    draining: n.draining,
  };
}

@Controller()
@UseGuards(GrpcAuthGuard)
@UseInterceptors(GrpcRequestIdInterceptor)
export class NodesGrpcController {
  constructor(private readonly nodes: NodeService) {}

  @GrpcMethod('NodeManager', 'CreateNode')
  async createNode(req: NodeInput): Promise<ProtoCreateNodeResponse> {
    const created = await this.nodes.create(req);
    return { node: toProtoNode(created.node), join_token: created.joinToken };
  }

  @GrpcMethod('NodeManager', 'ListNodes')
  async listNodes(): Promise<ProtoListNodesResponse> {
    return { nodes: (await this.nodes.list()).map(toProtoNode) };
  }

  @GrpcMethod('NodeManager', 'GetNode')
  async getNode(req: NameRequest): Promise<ProtoNode> {
    return toProtoNode(await this.nodes.get(req.name));
  }

  @GrpcMethod('NodeManager', 'UpdateNode')
  async updateNode(req: NodeInput & NameRequest): Promise<ProtoNode> {
    return toProtoNode(await this.nodes.update(req.name, req));
  }

  @GrpcMethod('NodeManager', 'DeleteNode')
  async deleteNode(req: NameRequest & { force?: unknown }): Promise<ProtoNode> {
    return toProtoNode(await this.nodes.remove(req.name, req.force));
  }
}
