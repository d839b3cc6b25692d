import { compile } from 'proxy-addr';
import { z } from 'zod';

const hostPort = z.string().refine((v) => {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(v);
  return m !== null && Number(m[2]) > 0 && Number(m[2]) < 65536;
}, 'must be host:port with a port from 1 to 65535');

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const optionalText = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

// One entry per environment variable; config.schema.spec.ts checks the README's Configuration table lists each.
export const configSchema = z.object({
  KEYD_DB_PATH: z.string().min(1).default('./data/keyd.sqlite'),
  KEYD_GRPC_LISTEN: hostPort.default('127.0.0.1:50051'),
  KEYD_HTTP_LISTEN: hostPort.default('127.0.0.1:8080'),
  KEYD_API_TOKEN: optionalText.pipe(z.string().min(16, 'must be at least 16 characters').optional()),
  KEYD_ALLOW_UNAUTHENTICATED_GRPC: z.enum(['true', 'false']).default('false'),
  KEYD_GRPC_TLS_CERT: optionalText,
  KEYD_GRPC_TLS_KEY: optionalText,
  KEYD_GRPC_TLS_CLIENT_CA: optionalText,
  KEYD_GRPC_MAX_CONNECTIONS: int(1, 1_000_000).default(512),
  KEYD_ADMIN_TOKEN: optionalText.pipe(z.string().min(16, 'must be at least 16 characters').optional()),
  KEYD_HTTP_BODY_LIMIT_BYTES: int(1024, 10 * 1024 * 1024).default(64 * 1024),
  KEYD_HTTP_MAX_CONNECTIONS: int(1, 1_000_000).default(512),
  KEYD_LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  KEYD_NODE_NAME: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, . _ - only')
    .default('default'),
  XRAY_API_ADDR: hostPort.default('127.0.0.1:10085'),
  XRAY_CORE: z.enum(['xray', 'v2ray']).default('xray'),
  XRAY_INBOUND_TAG: z.string().min(1).max(128).default('vless-in'),
  XRAY_FLOW: z.enum(['', 'xtls-rprx-vision', 'xtls-rprx-vision-udp443']).default(''),
  XRAY_USER_LEVEL: int(0, 255).default(0),
  XRAY_CALL_TIMEOUT_MS: int(100, 60_000).default(3000),
  XRAY_CONFIG_PATH: optionalText,
  XRAY_BIN: optionalText,
  XRAY_ACCESS_LOG: optionalText,
  XRAY_INBOUND_PORT: int(1, 65_535).optional(),
  KEYD_DEVICE_WINDOW_SECONDS: int(1, 86_400).default(60),
  KEYD_CONFIG_WRITE_WINDOW_MS: int(0, 600_000).default(1000),
  KEYD_RECONCILE_INTERVAL_SECONDS: int(1, 86_400).default(30),
  KEYD_CORE_PROBE_INTERVAL_MS: int(100, 60_000).default(2000),
  KEYD_READY_CORE_GRACE_SECONDS: int(0, 86_400).default(30),
  KEYD_PUBLIC_HOST: z.string().min(1).default('127.0.0.1'),
  KEYD_PUBLIC_PORT: int(1, 65_535).default(443),
  KEYD_LINK_SECURITY: z.enum(['reality', 'tls', 'none']).default('none'),
  KEYD_LINK_TYPE: z.enum(['tcp', 'ws', 'grpc', 'httpupgrade', 'xhttp', 'kcp']).default('tcp'),
  KEYD_LINK_NAME: z.string().min(1).max(64).default('keyd'),
  KEYD_TLS_SNI: optionalText,
  XRAY_REALITY_PUBLIC_KEY: optionalText.pipe(
    z
      .string()
      .regex(/^[A-Za-z0-9_-]{43}$/, 'must be a 32-byte X25519 key in base64url (43 characters)')
      .optional(),
  ),
  XRAY_REALITY_SHORT_ID: optionalText.pipe(
    z
      .string()
      .regex(/^([0-9a-f]{2}){0,8}$/, 'must be 0-16 lowercase hex digits, an even count')
      .optional(),
  ),
  XRAY_REALITY_SNI: optionalText,
  KEYD_STATS_INTERVAL_SECONDS: int(1, 3600).default(15),
  KEYD_HEAP_GROWTH_PERCENT: int(0, 1000).default(20),
  KEYD_REQUEST_ID_RETENTION_DAYS: int(1, 3650).default(30),
  KEYD_SUB_LISTEN: hostPort.default('127.0.0.1:8081'),
  KEYD_SUB_PUBLIC_URL: optionalText.pipe(
    z
      .string()
      .regex(/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/, 'must be an http(s) URL without query or fragment')
      .optional(),
  ),
  KEYD_SUB_RATE_PER_MINUTE: int(1, 100_000).default(30),
  KEYD_SUB_RATE_BURST: int(1, 100_000).default(10),
  KEYD_SUB_TRUSTED_PROXIES: optionalText.pipe(
    z
      .string()
      .optional()
      .transform((v) =>
        v === undefined
          ? []
          : v
              .split(',')
              .map((a) => a.trim())
              .filter(Boolean),
      )
      .refine((list) => {
        try {
          compile(list);
          return true;
        } catch {
          return false;
        }
      }, 'must be a comma-separated list of IP addresses or CIDRs (or loopback, linklocal, uniquelocal)'),
  ),
  KEYD_SUB_MAX_CONNECTIONS: int(1, 1_000_000).default(2048),
  KEYD_SUB_MAX_CONNECTIONS_PER_CLIENT: int(1, 1_000_000).default(32),
  KEYD_SUB_UPDATE_INTERVAL_HOURS: int(1, 168).default(12),
  KEYD_SUB_TITLE: z.string().min(1).max(64).optional(),
  KEYD_ROLE: z.enum(['standalone', 'agent']).default('standalone'),
  KEYD_FLEET_LISTEN: optionalText.pipe(hostPort.optional()),
  KEYD_GRANT_NODE_WAIT_MS: int(0, 60_000).default(2000),
  KEYD_CONTROL_ADDR: optionalText.pipe(hostPort.optional()),
  // keyd1.<secret>.<CA fingerprint>, as CreateNode answers it.
  KEYD_JOIN_TOKEN: optionalText.pipe(
    z
      .string()
      .regex(/^keyd1\.[A-Za-z0-9_-]{43}\.[0-9a-f]{64}$/, 'must be the join token CreateNode answered with (keyd1.…)')
      .optional(),
  ),
  XRAY_REALITY_FINGERPRINT: z
    .enum(['chrome', 'firefox', 'safari', 'ios', 'android', 'edge', '360', 'qq', 'random', 'randomized'])
    .default('chrome'),
});

/** True for addresses only this machine can reach: 127.0.0.0/8, ::1 and `localhost`. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || /^::ffff:127\./.test(h);
}

type Problem = { path: string; message: string };
const given = (input: Record<string, string>, name: string) => Boolean(input[name]?.trim());

/** Rules across variables; checked even when single variables failed, so every mistake is named at once. */
export function crossCheck(input: Record<string, string>): Problem[] {
  const problems: Problem[] = [];
  if (input.KEYD_LINK_SECURITY === 'reality')
    for (const path of ['XRAY_REALITY_PUBLIC_KEY', 'XRAY_REALITY_SNI'].filter((name) => !given(input, name)))
      problems.push({ path, message: 'required when KEYD_LINK_SECURITY=reality' });
  if (input.KEYD_ROLE === 'agent')
    for (const path of ['KEYD_CONTROL_ADDR', 'KEYD_JOIN_TOKEN'].filter((name) => !given(input, name)))
      problems.push({ path, message: 'required when KEYD_ROLE=agent' });
  const grpcHost = (input.KEYD_GRPC_LISTEN ?? '127.0.0.1:50051').replace(/:\d+$/, '');
  const servesApi = input.KEYD_ROLE !== 'agent';
  if (
    servesApi &&
    !isLoopbackHost(grpcHost) &&
    !given(input, 'KEYD_API_TOKEN') &&
    input.KEYD_ALLOW_UNAUTHENTICATED_GRPC !== 'true'
  )
    problems.push({
      path: 'KEYD_API_TOKEN',
      message:
        `required when KEYD_GRPC_LISTEN (${grpcHost}) is not a loopback address, or anyone who reaches it can grant keys; ` +
        'set KEYD_ALLOW_UNAUTHENTICATED_GRPC=true to serve it without a token on a network you trust',
    });
  if (given(input, 'KEYD_GRPC_TLS_CERT') !== given(input, 'KEYD_GRPC_TLS_KEY'))
    for (const path of ['KEYD_GRPC_TLS_CERT', 'KEYD_GRPC_TLS_KEY'].filter((name) => !given(input, name)))
      problems.push({ path, message: 'KEYD_GRPC_TLS_CERT and KEYD_GRPC_TLS_KEY go together' });
  if (given(input, 'KEYD_GRPC_TLS_CLIENT_CA') && !given(input, 'KEYD_GRPC_TLS_CERT'))
    problems.push({
      path: 'KEYD_GRPC_TLS_CLIENT_CA',
      message: 'needs KEYD_GRPC_TLS_CERT and KEYD_GRPC_TLS_KEY: client certificates are checked over TLS only',
    });
  return problems;
}

export type RawConfig = z.infer<typeof configSchema>;
