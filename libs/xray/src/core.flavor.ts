import { CoreFlavorName } from '@keyd/config';

/**
 * Xray and V2Ray serve the same messages under different protobuf packages. The
 * proto files declare Xray's names; a flavor maps a name relative to the package
 * root (for example `app.proxyman.command.HandlerService`) to the core's own.
 */
export interface CoreFlavor {
  readonly name: CoreFlavorName;
  qualify(relativeName: string): string;
}

const prefixes: Record<CoreFlavorName, string> = {
  xray: 'xray.',
  v2ray: 'v2ray.core.',
};

export function coreFlavor(name: CoreFlavorName): CoreFlavor {
  const prefix = prefixes[name];
  return { name, qualify: (relativeName) => prefix + relativeName };
}

/** Names as written in proto/core, which use Xray's packages. */
export const PROTO_PREFIX = prefixes.xray;
