import { Controller, UseGuards, UseInterceptors } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import { KeysService } from '@keyd/keys';
import { GrpcAuthGuard } from '../auth/grpc-auth.guard';
import { GrpcRequestIdInterceptor } from './request-id.interceptor';
import { toProtoGrant, toProtoKey, toProtoPage } from './key.grpc.mapper';

interface GrantAccessRequest {
  owner_id: string;
  duration_seconds: number;
  request_id: string;
}
interface OwnerRequest {
  owner_id: string;
}
interface ListKeysRequest {
  page_size: number;
  page_token: string;
  status: string;
}

@Controller()
@UseGuards(GrpcAuthGuard)
@UseInterceptors(GrpcRequestIdInterceptor)
export class KeysGrpcController {
  constructor(private readonly keys: KeysService) {}

  @GrpcMethod('KeyManager', 'GrantAccess')
  async grantAccess(req: GrantAccessRequest) {
    return toProtoGrant(
      await this.keys.grant({
        ownerId: req.owner_id,
        durationSeconds: req.duration_seconds,
        requestId: req.request_id,
      }),
    );
  }

  @GrpcMethod('KeyManager', 'RevokeAccess')
  async revokeAccess(req: OwnerRequest) {
    return toProtoKey(await this.keys.revoke(req.owner_id));
  }

  @GrpcMethod('KeyManager', 'GetKey')
  async getKey(req: OwnerRequest) {
    return toProtoKey(await this.keys.get(req.owner_id));
  }

  @GrpcMethod('KeyManager', 'ListKeys')
  async listKeys(req: ListKeysRequest) {
    return toProtoPage(
      await this.keys.list({ status: req.status, pageSize: req.page_size, pageToken: req.page_token }),
    );
  }
}
