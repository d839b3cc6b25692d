import { Controller, UseGuards, UseInterceptors } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import { NodeInput, NodeService, NodeView } from '@keyd/fleet';
import { GrpcAuthGuard } from '../auth/grpc-auth.guard';
import { toTimestamp } from './key.grpc.mapper';
import { GrpcRequestIdInterceptor } from './request-id.interceptor';

interface NameRequest {
  name: string;
}

export function toProtoNode(n: NodeView) {
  return {
    name: n.name,
    group: n.group,
    public_host: n.publicHost,
    public_port: n.publicPort,
    link: { ...n.link },
    enabled: n.enabled,
    kind: n.kind,
    connected: n.connected,
    last_seen: n.lastSeen ? toTimestamp(n.lastSeen) : null,
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
  async createNode(req: NodeInput) {
    const created = await this.nodes.create(req);
    return { node: toProtoNode(created.node), join_token: created.joinToken };
  }

  @GrpcMethod('NodeManager', 'ListNodes')
  async listNodes() {
    return { nodes: (await this.nodes.list()).map(toProtoNode) };
  }

  @GrpcMethod('NodeManager', 'GetNode')
  async getNode(req: NameRequest) {
    return toProtoNode(await this.nodes.get(req.name));
  }

  @GrpcMethod('NodeManager', 'UpdateNode')
  async updateNode(req: NodeInput & NameRequest) {
    return toProtoNode(await this.nodes.update(req.name, req));
  }

  @GrpcMethod('NodeManager', 'DeleteNode')
  async deleteNode(req: NameRequest) {
    return toProtoNode(await this.nodes.remove(req.name));
  }
}
