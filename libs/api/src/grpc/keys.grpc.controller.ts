import { Controller, UseGuards, UseInterceptors } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import { Key } from '@keyd/domain';
import { FleetGrants, KeyNodes } from '@keyd/fleet';
import { KeyAdminService, KeysService, KeyViews } from '@keyd/keys';
import { GrpcAuthGuard } from '../auth/grpc-auth.guard';
import { GrpcRequestIdInterceptor } from './request-id.interceptor';
import {
  GetKeyRequest,
  GrantAccessRequest,
  GrantAccessResponse,
  Key as ProtoKey,
  ListKeysRequest,
  ListKeysResponse,
  ResetUsageRequest,
  RevokeAccessRequest,
  SetDataLimitRequest,
  SetDeviceLimitRequest,
  SubscriptionTokenRequest,
} from './generated/keyd/v1/keyd.pb';
import { toProtoKey } from './key.grpc.mapper';

@Controller()
@UseGuards(GrpcAuthGuard)
@UseInterceptors(GrpcRequestIdInterceptor)
export class KeysGrpcController {
  constructor(
    private readonly grants: FleetGrants,
    private readonly admin: KeyAdminService,
    private readonly keys: KeysService,
    private readonly views: KeyViews,
    private readonly nodes: KeyNodes,
  ) {}

  private key = async (k: Key) => toProtoKey(this.views.of(await this.nodes.of(k)));

  @GrpcMethod('KeyManager', 'GrantAccess')
  async grantAccess(req: GrantAccessRequest): Promise<GrantAccessResponse> {
    const r = await this.grants.grant({
      ownerId: req.owner_id,
      durationSeconds: req.duration_seconds,
      requestId: req.request_id,
      dataLimitBytes: req.data_limit_bytes,
      limitReset: req.data_limit_reset,
      deviceLimit: req.device_limit,
      nodeGroup: req.node_group,
    });
    return { key: toProtoKey(this.views.of(r.key)), action: r.action };
  }

  @GrpcMethod('KeyManager', 'RevokeAccess')
  async revokeAccess(req: RevokeAccessRequest): Promise<ProtoKey> {
    return this.key(await this.admin.revoke(req.owner_id));
  }

  @GrpcMethod('KeyManager', 'GetKey')
  async getKey(req: GetKeyRequest): Promise<ProtoKey> {
    return this.key(await this.keys.get(req.owner_id));
  }

  @GrpcMethod('KeyManager', 'ListKeys')
  async listKeys(req: ListKeysRequest): Promise<ListKeysResponse> {
    const page = await this.keys.list({ status: req.status, pageSize: req.page_size, pageToken: req.page_token });
    return { keys: await Promise.all(page.keys.map(this.key)), next_page_token: page.nextPageToken };
  }

  @GrpcMethod('KeyManager', 'SetDataLimit')
  async setDataLimit(req: SetDataLimitRequest): Promise<ProtoKey> {
    return this.key(
      await this.admin.setLimit({
        ownerId: req.owner_id,
        dataLimitBytes: req.data_limit_bytes,
        limitReset: req.data_limit_reset,
      }),
    );
  }

  @GrpcMethod('KeyManager', 'SetDeviceLimit')
  async setDeviceLimit(req: SetDeviceLimitRequest): Promise<ProtoKey> {
    return this.key(await this.admin.setDeviceLimit({ ownerId: req.owner_id, deviceLimit: req.device_limit }));
  }

  @GrpcMethod('KeyManager', 'ResetUsage')
  async resetUsage(req: ResetUsageRequest): Promise<ProtoKey> {
    return this.key(await this.admin.resetUsage(req.owner_id));
  }

  @GrpcMethod('KeyManager', 'RegenerateSubscriptionToken')
  async regenerateSubscriptionToken(req: SubscriptionTokenRequest): Promise<ProtoKey> {
    return this.key(await this.admin.regenerateSubscriptionToken(req.owner_id));
  }

  @GrpcMethod('KeyManager', 'RevokeSubscriptionToken')
  async revokeSubscriptionToken(req: SubscriptionTokenRequest): Promise<ProtoKey> {
    return this.key(await this.admin.revokeSubscriptionToken(req.owner_id));
  }
}
