import { isLoopbackHost, KeydConfig } from '@keyd/config';
import { AppLogger } from '@keyd/observability';

/**
 * Says at start when a bearer token would cross the network in plain text, or
 * when the gRPC API takes calls from the network without any token: both are
 * allowed, for networks the operator trusts, but never silently.
 */
export function warnAboutPlaintextTokens(config: Pick<KeydConfig, 'grpc' | 'http'>, log: AppLogger): void {
  const { grpc, http } = config;
  if (!isLoopbackHost(grpc.listen.host) && !grpc.tls) {
    if (grpc.apiToken)
      log.warn(
        { listen: grpc.listen },
        'KEYD_API_TOKEN crosses a non-loopback gRPC listener in plain text: set KEYD_GRPC_TLS_CERT and KEYD_GRPC_TLS_KEY',
      );
    else
      log.warn(
        { listen: grpc.listen },
        'the gRPC API takes calls from the network without a token (KEYD_ALLOW_UNAUTHENTICATED_GRPC=true)',
      );
  }
  if (!isLoopbackHost(http.listen.host))
    log.warn(
      { listen: http.listen },
      'the admin token crosses a non-loopback HTTP listener in plain text: put a TLS proxy in front of KEYD_HTTP_LISTEN',
    );
}
