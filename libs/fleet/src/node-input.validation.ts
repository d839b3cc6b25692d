import { InvalidArgumentError } from '@keyd/domain';
import { nodeGroup } from '@keyd/keys';
import { FleetNodePatch, NewFleetNode, NodeLink } from '@keyd/store';

const NAME = /^[A-Za-z0-9._-]{1,64}$/;
const HOST = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]{1,253})$/;
const SECURITIES = ['', 'reality', 'tls', 'none'];
const TYPES = ['', 'tcp', 'ws', 'grpc', 'httpupgrade', 'xhttp', 'kcp'];
const FLOWS = ['', 'xtls-rprx-vision', 'xtls-rprx-vision-udp443'];
const TEXT = /^[A-Za-z0-9._:/+=-]{0,256}$/;

/** What a caller sends to create or change a node, before validation (proto or JSON field names). */
export interface NodeInput {
  name?: unknown;
  group?: unknown;
  public_host?: unknown;
  public_port?: unknown;
  link?: unknown;
  enabled?: unknown;
}

export function nodeName(value: unknown, field = 'name'): string {
  if (typeof value !== 'string' || value === '') throw new InvalidArgumentError(field, 'is required');
  if (!NAME.test(value)) throw new InvalidArgumentError(field, 'must be 1-64 letters, digits or . _ -');
  return value;
}

function host(value: unknown): string {
  if (typeof value !== 'string' || !HOST.test(value))
    throw new InvalidArgumentError('public_host', 'must be a host name or an IP address');
  return value;
}

function port(value: unknown): number {
  const n = typeof value === 'string' && /^\d{1,5}$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 65535)
    throw new InvalidArgumentError('public_port', 'must be a port from 1 to 65535');
  return n;
}

function enabled(value: unknown): boolean {
  if (typeof value !== 'boolean') throw new InvalidArgumentError('enabled', 'must be true or false');
  return value;
}

function oneOf(field: string, value: unknown, allowed: string[]): string {
  const v = value ?? '';
  if (typeof v !== 'string' || !allowed.includes(v))
    throw new InvalidArgumentError(field, `must be one of ${allowed.filter(Boolean).join(', ')}`);
  return v;
}

function text(field: string, value: unknown): string {
  const v = value ?? '';
  if (typeof v !== 'string' || !TEXT.test(v))
    throw new InvalidArgumentError(field, 'has characters a link cannot carry');
  return v;
}

export function nodeLink(value: unknown): NodeLink {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new InvalidArgumentError('link', 'must be an object');
  const l = value as Record<string, unknown>;
  const link: NodeLink = {
    security: oneOf('link.security', l['security'], SECURITIES),
    type: oneOf('link.type', l['type'], TYPES),
    flow: oneOf('link.flow', l['flow'], FLOWS),
    sni: text('link.sni', l['sni']),
    pbk: text('link.pbk', l['pbk']),
    sid: text('link.sid', l['sid']),
    fp: text('link.fp', l['fp']),
  };
  if (link.security === 'reality' && (!link.pbk || !link.sni))
    throw new InvalidArgumentError('link.pbk', 'REALITY links need pbk and sni');
  return Object.fromEntries(Object.entries(link).filter(([, v]) => v !== '')) as NodeLink;
}

export function newNode(input: NodeInput): NewFleetNode {
  return {
    name: nodeName(input.name),
    group: nodeGroup(input.group, 'group') ?? 'default',
    publicHost: host(input.public_host),
    publicPort: port(input.public_port),
    link: nodeLink(input.link),
    enabled: input.enabled === undefined || input.enabled === null ? true : enabled(input.enabled),
  };
}

/** Only the fields given are changed. */
export function nodePatch(input: NodeInput): FleetNodePatch {
  const given = (v: unknown) => v !== undefined && v !== null;
  return {
    group: given(input.group) ? (nodeGroup(input.group, 'group') ?? 'default') : undefined,
    publicHost: given(input.public_host) ? host(input.public_host) : undefined,
    publicPort: given(input.public_port) ? port(input.public_port) : undefined,
    link: given(input.link) ? nodeLink(input.link) : undefined,
    enabled: given(input.enabled) ? enabled(input.enabled) : undefined,
  };
}
