import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, loadConfig } from './config.loader';
import { configSchema } from './config.schema';

describe('the README Configuration table', () => {
  const readme = readFileSync(join(__dirname, '../../../README.md'), 'utf8');
  const section = readme.slice(
    readme.indexOf('## Configuration'),
    readme.indexOf('\n## ', readme.indexOf('## Configuration') + 1),
  );
  // A row's first cell names one variable or several, each in backticks.
  const documented = new Set(
    [...section.matchAll(/^\| ([^|]+)\|/gm)].flatMap((row) =>
      [...row[1].matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]),
    ),
  );

  it('lists every variable the schema reads, and no other', () => {
    expect([...documented].sort()).toEqual(Object.keys(configSchema.shape).sort());
  });
});

describe('the gRPC listener without a token', () => {
  const base = { KEYD_API_TOKEN: '', KEYD_ALLOW_UNAUTHENTICATED_GRPC: '' };
  const load = (env: Record<string, string>) => () => loadConfig({ ...base, ...env });

  it.each(['0.0.0.0:50051', '[::]:50051', '10.0.0.5:50051', 'keyd.internal:50051'])(
    'is refused on %s, naming KEYD_API_TOKEN',
    (listen) => {
      expect(load({ KEYD_GRPC_LISTEN: listen })).toThrow(ConfigError);
      expect(load({ KEYD_GRPC_LISTEN: listen })).toThrow(/KEYD_API_TOKEN: required when KEYD_GRPC_LISTEN/);
    },
  );

  it.each(['127.0.0.1:50051', '127.3.2.1:50051', '[::1]:50051', 'localhost:50051'])('is allowed on %s', (listen) => {
    expect(load({ KEYD_GRPC_LISTEN: listen })().grpc.listen.port).toBe(50051);
  });

  it('is allowed off loopback with a token, or with KEYD_ALLOW_UNAUTHENTICATED_GRPC=true', () => {
    expect(load({ KEYD_GRPC_LISTEN: '0.0.0.0:50051', KEYD_API_TOKEN: 'a'.repeat(16) })().grpc.apiToken).toBe(
      'a'.repeat(16),
    );
    const open = load({ KEYD_GRPC_LISTEN: '0.0.0.0:50051', KEYD_ALLOW_UNAUTHENTICATED_GRPC: 'true' })();
    expect(open.grpc.allowUnauthenticated).toBe(true);
  });

  it('takes TLS files only as a cert and key pair, and a client CA only with them', () => {
    expect(load({ KEYD_GRPC_TLS_CERT: '/c.pem' })).toThrow(
      /KEYD_GRPC_TLS_KEY: KEYD_GRPC_TLS_CERT and KEYD_GRPC_TLS_KEY/,
    );
    expect(load({ KEYD_GRPC_TLS_CLIENT_CA: '/ca.pem' })).toThrow(/KEYD_GRPC_TLS_CLIENT_CA: needs KEYD_GRPC_TLS_CERT/);
    const tls = load({
      KEYD_GRPC_TLS_CERT: '/c.pem',
      KEYD_GRPC_TLS_KEY: '/k.pem',
      KEYD_GRPC_TLS_CLIENT_CA: '/ca.pem',
    })();
    expect(tls.grpc.tls).toEqual({ cert: '/c.pem', key: '/k.pem', clientCa: '/ca.pem' });
  });
});
