import { Inject, Injectable } from '@nestjs/common';
import { KEYD_CONFIG, KeydConfig } from '@keyd/config';
import { Key } from '@keyd/domain';

/** Share links in the XTLS VLESS share-link format, from the configured public endpoint. */
@Injectable()
export class KeyLinkBuilder {
  constructor(@Inject(KEYD_CONFIG) private readonly config: Pick<KeydConfig, 'link'>) {}

  /** The link to the control plane's own node, or to another node described as a link configuration. */
  vlessUrl(key: Pick<Key, 'uuid' | 'flow' | 'ownerId'>, link: KeydConfig['link'] = this.config.link): string {
    const params = new URLSearchParams({ type: link.type, encryption: 'none', security: link.security });
    if (link.security === 'reality' && link.reality) {
      params.set('pbk', link.reality.publicKey);
      if (link.reality.shortId) params.set('sid', link.reality.shortId);
      params.set('sni', link.reality.sni);
      params.set('fp', link.reality.fingerprint);
    } else if (link.security === 'tls') {
      params.set('sni', link.tlsSni ?? link.host);
    }
    if (key.flow) params.set('flow', key.flow);
    const host = link.host.includes(':') ? `[${link.host}]` : link.host;
    const name = encodeURIComponent(`${link.name}-${key.ownerId}`);
    return `vless://${key.uuid}@${host}:${link.port}?${params.toString()}#${name}`;
  }
}
