import { Inject, Injectable } from '@nestjs/common';
import { KEYD_CONFIG, KeydConfig } from '@keyd/config';
import { Key } from '@keyd/domain';
import { KeyLinkBuilder } from '@keyd/keys';
import { KeyRepository } from '@keyd/store';
import { SubscriptionKey, SubscriptionLookup, SubscriptionNode } from './subscription.types';

/** The one node there is today, with the parameters its share link carries. */
export function nodesOf(
  key: Pick<Key, 'uuid' | 'flow' | 'ownerId'>,
  link: KeydConfig['link'],
  vlessUrl: string,
): SubscriptionNode[] {
  const reality = link.security === 'reality' ? link.reality : undefined;
  return [
    {
      link: vlessUrl,
      remark: `${link.name}-${key.ownerId}`,
      host: link.host,
      port: link.port,
      security: link.security,
      transport: link.type,
      serverName: reality ? reality.sni : link.security === 'tls' ? (link.tlsSni ?? link.host) : '',
      fingerprint: reality?.fingerprint ?? '',
      ...(reality ? { reality: { publicKey: reality.publicKey, shortId: reality.shortId } } : {}),
    },
  ];
}

/** Tokens of revoked keys are cleared on revocation; a revoked key is refused here as well, in case. */
@Injectable()
export class StoreSubscriptionLookup implements SubscriptionLookup {
  constructor(
    private readonly keys: KeyRepository,
    private readonly links: KeyLinkBuilder,
    @Inject(KEYD_CONFIG) private readonly config: Pick<KeydConfig, 'link'>,
  ) {}

  async findByToken(token: string): Promise<SubscriptionKey | null> {
    const key = await this.keys.findBySubscriptionToken(token);
    if (!key || key.status === 'REVOKED') return null;
    return {
      ownerId: key.ownerId,
      uuid: key.uuid,
      flow: key.flow,
      status: key.status,
      subscriptionEnd: key.subscriptionEnd,
      nodes: nodesOf(key, this.config.link, this.links.vlessUrl(key)),
      uploadBytes: key.usage.uplinkBytes,
      downloadBytes: key.usage.downlinkBytes,
      totalBytes: key.dataLimitBytes,
    };
  }
}
