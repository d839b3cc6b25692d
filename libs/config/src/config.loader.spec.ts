import { ConfigError, loadConfig } from './config.loader';

describe('loadConfig', () => {
  it('fills in the defaults from an empty environment', () => {
    const c = loadConfig({});
    expect(c.db.path).toBe('./data/keyd.sqlite');
    expect(c.grpc.listen).toEqual({ host: '127.0.0.1', port: 50051 });
    expect(c.core.callTimeoutMs).toBe(3000);
    expect(c.link.security).toBe('none');
  });

  it('names every bad variable in one error', () => {
    let error: unknown;
    try {
      loadConfig({ KEYD_GRPC_LISTEN: 'nope', XRAY_CALL_TIMEOUT_MS: '5', KEYD_LOG_LEVEL: 'loud' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const name of ['KEYD_GRPC_LISTEN', 'XRAY_CALL_TIMEOUT_MS', 'KEYD_LOG_LEVEL']) expect(problems).toContain(name);
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ KEYD_GRPC_LISTEN: '', XRAY_CALL_TIMEOUT_MS: '' }).grpc.listen.port).toBe(50051);
  });
});
