import { CliError, EXIT } from '../exit.codes';

export interface LegacyClient {
  uuid: string;
  email: string;
}

interface Inbound {
  tag?: unknown;
  protocol?: unknown;
  settings?: { clients?: unknown };
}

/**
 * The clients of the old core config's inbound: the one tagged `tag`, or with
 * `auto` the first VLESS inbound.
 */
export function readLegacyClients(content: string, tag: string): { tag: string; clients: LegacyClient[] } {
  let parsed: { inbounds?: unknown };
  try {
    parsed = JSON.parse(content) as { inbounds?: unknown };
  } catch (e) {
    throw new CliError(`the config file is not JSON: ${(e as Error).message}`, EXIT.BAD_ARGUMENTS);
  }
  const inbounds = (Array.isArray(parsed?.inbounds) ? parsed.inbounds : []) as Inbound[];
  const inbound = tag === 'auto' ? inbounds.find((i) => i?.protocol === 'vless') : inbounds.find((i) => i?.tag === tag);
  if (!inbound)
    throw new CliError(
      tag === 'auto'
        ? 'the config file has no VLESS inbound'
        : `the config file has no inbound tagged "${tag}" (--inbound auto takes the first VLESS inbound)`,
      EXIT.BAD_ARGUMENTS,
    );
  const clients = Array.isArray(inbound.settings?.clients) ? (inbound.settings.clients as unknown[]) : [];
  return {
    tag: typeof inbound.tag === 'string' ? inbound.tag : '',
    clients: clients.map((c) => {
      const o = (c ?? {}) as { id?: unknown; email?: unknown };
      return { uuid: typeof o.id === 'string' ? o.id : '', email: typeof o.email === 'string' ? o.email : '' };
    }),
  };
}
