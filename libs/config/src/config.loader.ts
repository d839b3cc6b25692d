import { configSchema, crossCheck, RawConfig } from './config.schema';
import { KeydConfig, Listen } from './config.types';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

function listen(value: string): Listen {
  const at = value.lastIndexOf(':');
  return { host: value.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(value.slice(at + 1)) };
}

function shape(c: RawConfig, env: Record<string, string | undefined>): KeydConfig {
  return {
    db: { path: c.KEYD_DB_PATH },
    grpc: {
      listen: listen(c.KEYD_GRPC_LISTEN),
      apiToken: c.KEYD_API_TOKEN,
      allowUnauthenticated: c.KEYD_ALLOW_UNAUTHENTICATED_GRPC === 'true',
      tls:
        c.KEYD_GRPC_TLS_CERT && c.KEYD_GRPC_TLS_KEY
          ? { cert: c.KEYD_GRPC_TLS_CERT, key: c.KEYD_GRPC_TLS_KEY, clientCa: c.KEYD_GRPC_TLS_CLIENT_CA }
          : undefined,
      maxConnections: c.KEYD_GRPC_MAX_CONNECTIONS,
    },
    http: {
      listen: listen(c.KEYD_HTTP_LISTEN),
      adminToken: c.KEYD_ADMIN_TOKEN,
      bodyLimitBytes: c.KEYD_HTTP_BODY_LIMIT_BYTES,
      maxConnections: c.KEYD_HTTP_MAX_CONNECTIONS,
    },
    log: { level: c.KEYD_LOG_LEVEL },
    node: { name: c.KEYD_NODE_NAME },
    core: {
      apiAddr: c.XRAY_API_ADDR,
      flavor: c.XRAY_CORE,
      inboundTag: c.XRAY_INBOUND_TAG,
      flow: c.XRAY_FLOW,
      userLevel: c.XRAY_USER_LEVEL,
      callTimeoutMs: c.XRAY_CALL_TIMEOUT_MS,
      probeIntervalMs: c.KEYD_CORE_PROBE_INTERVAL_MS,
      configPath: c.XRAY_CONFIG_PATH,
      bin: c.XRAY_BIN,
      binEnv: withoutKeydVariables(env),
      configWriteWindowMs: c.KEYD_CONFIG_WRITE_WINDOW_MS,
    },
    sessions: {
      accessLog: c.XRAY_ACCESS_LOG,
      inboundPort: c.XRAY_INBOUND_PORT,
      deviceWindowSeconds: c.KEYD_DEVICE_WINDOW_SECONDS,
    },
    reconcile: { intervalSeconds: c.KEYD_RECONCILE_INTERVAL_SECONDS },
    stats: { intervalSeconds: c.KEYD_STATS_INTERVAL_SECONDS },
    memory: { heapGrowthPercent: c.KEYD_HEAP_GROWTH_PERCENT },
    requests: { retentionDays: c.KEYD_REQUEST_ID_RETENTION_DAYS },
    subscription: {
      listen: listen(c.KEYD_SUB_LISTEN),
      publicUrl: (c.KEYD_SUB_PUBLIC_URL ?? `http://${c.KEYD_SUB_LISTEN}`).replace(/\/+$/, ''),
      ratePerMinute: c.KEYD_SUB_RATE_PER_MINUTE,
      rateBurst: c.KEYD_SUB_RATE_BURST,
      trustedProxies: c.KEYD_SUB_TRUSTED_PROXIES,
      maxConnections: c.KEYD_SUB_MAX_CONNECTIONS,
      maxConnectionsPerClient: c.KEYD_SUB_MAX_CONNECTIONS_PER_CLIENT,
      updateIntervalHours: c.KEYD_SUB_UPDATE_INTERVAL_HOURS,
      title: c.KEYD_SUB_TITLE ?? c.KEYD_LINK_NAME,
    },
    readiness: { coreGraceSeconds: c.KEYD_READY_CORE_GRACE_SECONDS },
    fleet: {
      role: c.KEYD_ROLE,
      listen: c.KEYD_FLEET_LISTEN ? listen(c.KEYD_FLEET_LISTEN) : undefined,
      grantWaitMs: c.KEYD_GRANT_NODE_WAIT_MS,
      controlAddr: c.KEYD_CONTROL_ADDR,
      joinToken: c.KEYD_JOIN_TOKEN,
    },
    link: {
      host: c.KEYD_PUBLIC_HOST,
      port: c.KEYD_PUBLIC_PORT,
      security: c.KEYD_LINK_SECURITY,
      type: c.KEYD_LINK_TYPE,
      name: c.KEYD_LINK_NAME,
      tlsSni: c.KEYD_TLS_SNI,
      reality:
        c.KEYD_LINK_SECURITY === 'reality'
          ? {
              publicKey: c.XRAY_REALITY_PUBLIC_KEY ?? '',
              shortId: c.XRAY_REALITY_SHORT_ID ?? '',
              sni: c.XRAY_REALITY_SNI ?? '',
              fingerprint: c.XRAY_REALITY_FINGERPRINT,
            }
          : undefined,
    },
  };
}

/** The core needs PATH, HOME and its own XRAY_* settings, never keyd's API, admin or join tokens. */
function withoutKeydVariables(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env))
    if (value !== undefined && !name.startsWith('KEYD_')) out[name] = value;
  return out;
}

/** Validates every variable at once so an operator sees all mistakes in one run. */
export function loadConfig(env: Record<string, string | undefined> = process.env): KeydConfig {
  const known = Object.keys(configSchema.shape);
  const input: Record<string, string> = {};
  for (const name of known) {
    const value = env[name];
    // An empty variable means "use the default", as shells make unsetting awkward.
    if (value !== undefined && value !== '') input[name] = value;
  }
  const parsed = configSchema.safeParse(input);
  const issues = [
    ...(parsed.success
      ? []
      : parsed.error.issues.map((i) => ({ path: String(i.path[0] ?? 'config'), message: i.message }))),
    ...crossCheck(input),
  ];
  if (issues.length || !parsed.success) {
    throw new ConfigError(
      issues.map(({ path, message }) => {
        const shown = input[path] === undefined || /TOKEN|KEY$/.test(path) ? '' : ` (got "${input[path]}")`;
        return `${path}: ${message}${shown}`;
      }),
    );
  }
  return shape(parsed.data, env);
}

/** What the operator CLI needs: where the daemon's gRPC API is, its token, and the core binary for the demo. */
export interface ClientConfig {
  grpcAddr: string;
  apiToken?: string;
  coreBin?: string;
}

const clientSchema = configSchema.pick({ KEYD_GRPC_LISTEN: true, KEYD_API_TOKEN: true, XRAY_BIN: true });

/** The CLI reads the daemon's own variables, validated by the same rules, and nothing else. */
export function loadClientConfig(env: Record<string, string | undefined> = process.env): ClientConfig {
  const input: Record<string, string> = {};
  for (const name of Object.keys(clientSchema.shape)) {
    const value = env[name];
    if (value !== undefined && value !== '') input[name] = value;
  }
  const parsed = clientSchema.safeParse(input);
  if (!parsed.success)
    throw new ConfigError(parsed.error.issues.map((i) => `${String(i.path[0] ?? 'config')}: ${i.message}`));
  return {
    grpcAddr: parsed.data.KEYD_GRPC_LISTEN,
    apiToken: parsed.data.KEYD_API_TOKEN,
    coreBin: parsed.data.XRAY_BIN,
  };
}

/**
 * The environment of a process the CLI starts (the demo's core and keyd):
 * PATH and HOME only, and the given variables, so that the operator's own
 * KEYD_* settings never leak into a throwaway daemon.
 */
export function childEnvironment(vars: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of ['PATH', 'HOME']) {
    const value = process.env[name];
    if (value !== undefined) out[name] = value;
  }
  return { ...out, ...vars };
}
