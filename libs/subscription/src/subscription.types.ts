import { KeyStatus } from '@keyd/domain';

/** How a client reaches one node: the parameters its share link carries. */
export interface SubscriptionNode {
  /** The share link itself, as the links format serves it. */
  link: string;
  /** Shown by apps as the server's name. */
  remark: string;
  host: string;
  port: number;
  security: 'reality' | 'tls' | 'none';
  /** Xray's transport name: tcp, ws, grpc, httpupgrade, xhttp, kcp. */
  transport: string;
  /** The TLS or REALITY server name; empty for security none. */
  serverName: string;
  /** uTLS fingerprint; empty when the link sets none. */
  fingerprint: string;
  reality?: { publicKey: string; shortId: string };
}

/** What a subscription response is made of: the key as its owner may see it, and one entry per node. */
export interface SubscriptionKey {
  ownerId: string;
  uuid: string;
  flow: string;
  status: KeyStatus;
  subscriptionEnd: Date;
  nodes: SubscriptionNode[];
  uploadBytes: number;
  downloadBytes: number;
  /** 0 means unlimited. */
  totalBytes: number;
}

/** Finds the key a subscription token belongs to; null for unknown or revoked tokens. */
export interface SubscriptionLookup {
  findByToken(token: string): Promise<SubscriptionKey | null>;
}

export const SUBSCRIPTION_LOOKUP = Symbol('SUBSCRIPTION_LOOKUP');
