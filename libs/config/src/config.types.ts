export type CoreFlavorName = 'xray' | 'v2ray';
export type LinkSecurity = 'reality' | 'tls' | 'none';

export interface Listen {
  host: string;
  port: number;
}

export interface KeydConfig {
  db: { path: string };
  grpc: {
    listen: Listen;
    apiToken?: string;
    /** Set by KEYD_ALLOW_UNAUTHENTICATED_GRPC: a non-loopback listener without a token was asked for. */
    allowUnauthenticated: boolean;
    /** PEM file paths; with clientCa, clients must present a certificate it signed. */
    tls?: { cert: string; key: string; clientCa?: string };
    maxConnections: number;
  };
  http: { listen: Listen; adminToken?: string; bodyLimitBytes: number; maxConnections: number };
  log: { level: string };
  node: { name: string };
  core: {
    apiAddr: string;
    flavor: CoreFlavorName;
    inboundTag: string;
    flow: string;
    userLevel: number;
    callTimeoutMs: number;
    probeIntervalMs: number;
    configPath?: string;
    bin?: string;
    /** The environment the core binary runs in: keyd's own, less every KEYD_* variable (its tokens among them). */
    binEnv: Record<string, string>;
    configWriteWindowMs: number;
  };
  sessions: {
    /** The core's access log, where accepted connections are named with the client address and port. */
    accessLog?: string;
    /** The managed inbound's listening port; read from the core's config file when unset. */
    inboundPort?: number;
    /** How long a client address still counts as one of a key's devices after it was last seen connected. */
    deviceWindowSeconds: number;
  };
  reconcile: { intervalSeconds: number };
  stats: { intervalSeconds: number };
  /**
   * How far the JavaScript heap may grow past what the last full collection
   * kept, in percent; 0 leaves V8's own factor (up to 4x, so garbage piles up
   * under load).
   */
  memory: { heapGrowthPercent: number };
  /** How long a grant's request_id is remembered, so that a retry within it gets the first answer. */
  requests: { retentionDays: number };
  subscription: {
    listen: Listen;
    /** Where clients reach the subscription listener, without a trailing slash. */
    publicUrl: string;
    ratePerMinute: number;
    rateBurst: number;
    /** Proxies whose X-Forwarded-For names the client: addresses, CIDRs or proxy-addr's named ranges. */
    trustedProxies: string[];
    maxConnections: number;
    /** Per client address (IPv6 per /64); connections from trusted proxies are not counted. */
    maxConnectionsPerClient: number;
    updateIntervalHours: number;
    title: string;
  };
  readiness: { coreGraceSeconds: number };
  fleet: {
    /** standalone: the control plane with its own core as the node KEYD_NODE_NAME; agent: one node's enforcer. */
    role: 'standalone' | 'agent';
    /** Where agents connect (control plane); unset: no agent link is served. */
    listen?: Listen;
    /** How long a grant waits for the connected agents of its group to acknowledge it. */
    grantWaitMs: number;
    /** Agent: the control plane's agent link, and the node's join token. */
    controlAddr?: string;
    joinToken?: string;
  };
  link: {
    host: string;
    port: number;
    security: LinkSecurity;
    type: string;
    name: string;
    tlsSni?: string;
    reality?: { publicKey: string; shortId: string; sni: string; fingerprint: string };
  };
}

export const KEYD_CONFIG = Symbol('KEYD_CONFIG');
