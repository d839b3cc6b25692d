import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Metadata } from '@grpc/grpc-js';
import { KEYD_CONFIG, KeydConfig } from '@keyd/config';
import { UnauthenticatedError } from '@keyd/domain';
import { bearerToken, tokenMatches } from './token.compare';

/** When KEYD_API_TOKEN is set, gRPC calls need `authorization: Bearer <token>` metadata. */
@Injectable()
export class GrpcAuthGuard implements CanActivate {
  constructor(@Inject(KEYD_CONFIG) private readonly config: Pick<KeydConfig, 'grpc'>) {}

  canActivate(context: ExecutionContext): boolean {
    const expected = this.config.grpc.apiToken;
    if (!expected) return true;
    const metadata = context.switchToRpc().getContext<Metadata>();
    const header = metadata?.get?.('authorization')?.[0];
    if (!tokenMatches(bearerToken(header?.toString()), expected)) throw new UnauthenticatedError();
    return true;
  }
}
