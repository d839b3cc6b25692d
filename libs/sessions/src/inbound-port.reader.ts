import { promises as fs } from 'node:fs';

interface CoreConfigFile {
  inbounds?: { tag?: unknown; port?: unknown }[];
}

/** The listening port of the inbound with this tag in the core's config file, or the reason it has none. */
export async function inboundPortFromConfig(path: string, tag: string): Promise<number | string> {
  let parsed: CoreConfigFile;
  try {
    parsed = JSON.parse(await fs.readFile(path, 'utf8')) as CoreConfigFile;
  } catch (e) {
    return `cannot read the inbound's port from ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
  }
  const port = Number(parsed.inbounds?.find((i) => i.tag === tag)?.port);
  // A port range or an env-derived port has no single value: the operator sets XRAY_INBOUND_PORT then.
  if (!Number.isInteger(port) || port < 1 || port > 65_535)
    return `the inbound "${tag}" in ${path} has no single numeric port; set XRAY_INBOUND_PORT`;
  return port;
}
