import { z } from 'zod/v4';
import { nodeGroupSchema, parseCommand } from '@keyd/keys';
import { FleetNodePatch, NewFleetNode, NodeLink } from '@keyd/store';

/*
 * The node commands' schemas, named by the wire (proto and JSON) field names
 * and parsed with the same parseCommand as the key commands, so a bad field
 * gets the same INVALID_ARGUMENT / 400 naming it.
 */

const SECURITIES = ['reality', 'tls', 'none'] as const;
const TYPES = ['tcp', 'ws', 'grpc', 'httpupgrade', 'xhttp', 'kcp'] as const;
const FLOWS = ['xtls-rprx-vision', 'xtls-rprx-vision-udp443'] as const;

/** What a caller sends to create or change a node, before validation (proto or JSON field names). */
export interface NodeInput {
  name?: unknown;
  group?: unknown;
  public_host?: unknown;
  public_port?: unknown;
  link?: unknown;
  enabled?: unknown;
}

export const nodeNameSchema = z
  .string({ error: 'is required' })
  .regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 letters, digits or . _ -');

const publicHostRule = z
  .string({ error: 'must be a host name or an IP address' })
  .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]{1,253})$/, 'must be a host name or an IP address');

const PORT_MESSAGE = 'must be a port from 1 to 65535';
/** A JSON number, or a string of digits as JSON clients may send it. */
const publicPortRule = z.union(
  [
    z.int({ error: PORT_MESSAGE }).min(1, PORT_MESSAGE).max(65535, PORT_MESSAGE),
    z
      .string()
      .regex(/^\d{1,5}$/)
      .transform(Number)
      .pipe(z.int().min(1, PORT_MESSAGE).max(65535, PORT_MESSAGE)),
  ],
  { error: PORT_MESSAGE },
);

/** proto3 sends an unset link field as ''; it means "not set", as an omitted JSON field does. */
const choice = <T extends readonly [string, ...string[]]>(allowed: T) =>
  z.enum(['', ...allowed], { error: `must be one of ${allowed.join(', ')}` }).optional();
const linkText = z
  .string()
  .regex(/^[A-Za-z0-9._:/+=-]{0,256}$/, 'has characters a link cannot carry')
  .optional();

const linkSchema = z
  .object(
    {
      security: choice(SECURITIES),
      type: choice(TYPES),
      flow: choice(FLOWS),
      sni: linkText,
      pbk: linkText,
      sid: linkText,
      fp: linkText,
    },
    { error: 'must be an object' },
  )
  .refine((l) => l.security !== 'reality' || (Boolean(l.pbk) && Boolean(l.sni)), {
    message: 'REALITY links need pbk and sni',
    path: ['pbk'],
  })
  .transform((l) => Object.fromEntries(Object.entries(l).filter(([, v]) => v !== '' && v !== undefined)) as NodeLink);

export const newNodeSchema = z.object({
  name: nodeNameSchema,
  group: nodeGroupSchema.optional(),
  public_host: publicHostRule,
  public_port: publicPortRule,
  link: linkSchema.optional(),
  enabled: z.boolean({ error: 'must be true or false' }).optional(),
});

/** Only the fields given are changed. */
export const nodePatchSchema = newNodeSchema.omit({ name: true }).partial();

export function nodeName(value: unknown): string {
  return parseCommand(z.object({ name: nodeNameSchema }), { name: value }).name;
}

/** DeleteNode's force: a boolean from gRPC, "true" or "false" from a query string; unset is false. */
export function deleteForce(value: unknown): boolean {
  const schema = z.object({ force: z.union([z.boolean(), z.enum(['true', 'false', ''])]).optional() });
  const { force } = parseCommand(schema, { force: value });
  return force === true || force === 'true';
}

export function newNode(input: NodeInput): NewFleetNode {
  const n = parseCommand(newNodeSchema, { ...input });
  return {
    name: n.name,
    group: n.group ?? 'default',
    publicHost: n.public_host,
    publicPort: n.public_port,
    link: n.link ?? {},
    enabled: n.enabled ?? true,
  };
}

export function nodePatch(input: NodeInput): FleetNodePatch {
  const p = parseCommand(nodePatchSchema, { ...input });
  return { group: p.group, publicHost: p.public_host, publicPort: p.public_port, link: p.link, enabled: p.enabled };
}
