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

  it("runs the core binary in keyd's environment less every KEYD_* variable", () => {
    const env = {
      PATH: '/usr/bin',
      XRAY_LOCATION_ASSET: '/usr/share/xray',
      KEYD_API_TOKEN: 'secret-api-token-0123456',
    };
    expect(
      loadConfig({
        ...env,
        KEYD_JOIN_TOKEN: `keyd1.${'s'.repeat(43)}.${'f'.repeat(64)}`,
        KEYD_ADMIN_TOKEN: 'admin-token-0123456789',
      }).core.binEnv,
    ).toEqual({
      PATH: '/usr/bin',
      XRAY_LOCATION_ASSET: '/usr/share/xray',
    });
  });

  it('refuses a join token that is not one CreateNode answers with, naming the variable', () => {
    const agent = { KEYD_ROLE: 'agent', KEYD_CONTROL_ADDR: '127.0.0.1:7443' };
    expect(() => loadConfig({ ...agent, KEYD_JOIN_TOKEN: 'join-token-0123456789' })).toThrow(/KEYD_JOIN_TOKEN/);
    expect(
      loadConfig({ ...agent, KEYD_JOIN_TOKEN: `keyd1.${'s'.repeat(43)}.${'f'.repeat(64)}` }).fleet.joinToken,
    ).toMatch(/^keyd1\./);
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ KEYD_GRPC_LISTEN: '', XRAY_CALL_TIMEOUT_MS: '' }).grpc.listen.port).toBe(50051);
  });

  it('caps heap growth at 20% unless told otherwise, and refuses a value that is not a whole percent', () => {
    expect(loadConfig({}).memory.heapGrowthPercent).toBe(20);
    expect(loadConfig({ KEYD_HEAP_GROWTH_PERCENT: '0' }).memory.heapGrowthPercent).toBe(0);
    for (const bad of ['-1', 'lots', '2.5'])
      expect(() => loadConfig({ KEYD_HEAP_GROWTH_PERCENT: bad })).toThrow(/KEYD_HEAP_GROWTH_PERCENT/);
  });
});
