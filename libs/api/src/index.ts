export * from './api.module';
export * from './errors/domain-exception.filter';
export * from './errors/error.catalog';
export { GRPC_LOADER_OPTIONS, GRPC_PACKAGES, grpcProtoFiles } from './grpc/grpc.options';
export { setupOpenApi } from './http/openapi.setup';
export { GrpcListenerServer } from './grpc/grpc-listener.server';
export { warnAboutPlaintextTokens } from './auth/plaintext-token.warning';
